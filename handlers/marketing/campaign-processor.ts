/**
 * campaign-processor (docs/requirements.md, MO-3): keeps each campaign's budget and
 * performance in the `campaigns` projection, computes CTR, CPA and pacing, and publishes
 * com.eventline.campaign.optimization_required when the CPA exceeds its target or the day's
 * or the flight's pacing is off by more than the tolerance (optimization-rules.ts, pacing.ts).
 *
 * Reports are kept per window (performance-ledger.ts), so a restated or repeated report
 * replaces its window's figures; the verdict is recomputed from the whole ledger each time.
 * A report that arrives before its campaign.created is stored and judged by what is known:
 * without a budget there is nothing to pace or target, and no request is made.
 *
 * The thresholds are an {@link OptimizationStrategy}: `campaignProcessor` runs the live one,
 * and `campaignProcessorWith` builds the same handler under others, for backtests.
 */
import { marketing } from "../../proto/gen";
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";
import { kpis, type Kpis } from "./kpis";
import {
  DEFAULT_OPTIMIZATION_STRATEGY,
  optimizationNeed,
  predictedImpact,
  type OptimizationStrategy,
} from "./optimization-rules";
import {
  checkPacing,
  elapsedFraction,
  flightBounds,
  type PacingCheck,
  type PacingMode,
} from "./pacing";
import {
  dayTotals,
  ledgerTotals,
  recordWindow,
  type Ledger,
  type Totals,
} from "./performance-ledger";
import { readReport } from "./performance-report";

const DAY_MS = 86_400_000;

/** A campaign as the processor keeps it. */
export interface CampaignView {
  campaignId: string;
  accountId: string;
  /** Platform enum name, e.g. "PLATFORM_META"; "" until campaign.created. */
  platform: string;
  /** The budget as created; null until campaign.created. */
  budget: marketing.v1.IBudgetConfig | null;
  ledger: Ledger;
  /** The latest instant any report runs to (RFC 3339); null before the first report. */
  asOf: string | null;
  /** Flight-to-date totals and their KPIs. */
  totals: Totals;
  kpis: Kpis;
  /** Pacing of the latest report's day, and of the flight. */
  pacing: { date: string; day: PacingCheck; flight: PacingCheck } | null;
  /** The last optimization requested, if any, with its predicted impact (optimization-rules.ts). */
  lastOptimization: {
    reason: string;
    priority: string;
    at: string;
    predictedImpact: number;
  } | null;
  /** Optimizations requested so far and the sum of their predicted impacts. */
  optimizations: { requested: number; predictedImpact: number };
}

export const campaigns = defineProjection<CampaignView>("campaigns");

function emptyCampaign(campaignId: string): CampaignView {
  const totals = { impressions: 0, clicks: 0, conversions: 0, spend: 0 };
  return {
    campaignId,
    accountId: "",
    platform: "",
    budget: null,
    ledger: {},
    asOf: null,
    totals,
    kpis: kpis(totals),
    pacing: null,
    lastOptimization: null,
    optimizations: { requested: 0, predictedImpact: 0 },
  };
}

function pacingMode(budget: marketing.v1.IBudgetConfig): PacingMode {
  return budget.pacing === marketing.v1.Pacing.PACING_ACCELERATED ? "accelerated" : "standard";
}

/** Firestore refuses undefined values; the budget is stored as plain data with defaults filled. */
function plainBudget(
  budget: marketing.v1.IBudgetConfig | null | undefined,
): marketing.v1.IBudgetConfig | null {
  return budget
    ? (marketing.v1.BudgetConfig.toObject(marketing.v1.BudgetConfig.fromObject(budget), {
        defaults: true,
      }) as marketing.v1.IBudgetConfig)
    : null;
}

/** The campaign processor judging by `strategy`. */
export function campaignProcessorWith(strategy: Readonly<OptimizationStrategy>) {
  return defineHandler({
    name: "campaign-processor",
    accepts: ["com.eventline.campaign.created", "com.eventline.campaign.performance_reported"],
    async handle(event, ctx) {
      if (event.type === "com.eventline.campaign.created") {
        const created = event.data;
        if (!created.campaignId)
          throw new PermanentError("invalid-campaign", "campaign.created without a campaign id");
        await campaigns.update(ctx, documentIdFor(created.campaignId), (current) => ({
          ...(current ?? emptyCampaign(created.campaignId)),
          accountId: created.accountId,
          platform: marketing.v1.Platform[created.platform] ?? "",
          budget: plainBudget(created.budget),
        }));
        return;
      }

      const report = readReport(event.data, ctx.delivery.time);
      const campaignId = event.data.campaignId;
      const current =
        (await campaigns.get(ctx, documentIdFor(campaignId))) ?? emptyCampaign(campaignId);
      const ledger = recordWindow(current.ledger, report.key, report.totals);
      const asOf = Math.max(report.asOf, current.asOf === null ? 0 : Date.parse(current.asOf));
      const totals = ledgerTotals(ledger);
      const next: CampaignView = {
        ...current,
        ledger,
        asOf: new Date(asOf).toISOString(),
        totals,
        kpis: kpis(totals),
      };

      const budget = current.budget;
      if (budget !== null) {
        const mode = pacingMode(budget);
        const dayStart = Date.parse(`${report.key.day}T00:00:00Z`);
        const day = checkPacing(
          budget.dailyBudget ?? 0,
          dayTotals(ledger[report.key.day]!).spend,
          elapsedFraction(dayStart, dayStart + DAY_MS, report.asOf),
          mode,
          strategy.pacingTolerance,
        );
        const bounds = flightBounds(budget.startDate ?? "", budget.endDate ?? "");
        const flight = checkPacing(
          budget.totalBudget ?? 0,
          totals.spend,
          bounds === undefined ? Number.NaN : elapsedFraction(bounds.start, bounds.end, asOf),
          mode,
          strategy.pacingTolerance,
        );
        next.pacing = { date: report.key.day, day, flight };
        const standing = {
          flight: totals,
          targetCpa: budget.targetCpa ?? 0,
          day,
          flightPacing: flight,
        };
        const need = optimizationNeed(standing, strategy);
        if (need !== undefined) {
          ctx.publish("com.eventline.campaign.optimization_required", {
            campaignId,
            reason: need.reason,
            priority: need.priority,
          });
          const impact = predictedImpact(standing, strategy);
          const soFar = current.optimizations ?? { requested: 0, predictedImpact: 0 };
          next.lastOptimization = {
            reason: need.reason,
            priority: marketing.v1.Priority[need.priority] ?? String(need.priority),
            at: ctx.delivery.time,
            predictedImpact: impact,
          };
          next.optimizations = {
            requested: soFar.requested + 1,
            predictedImpact: soFar.predictedImpact + impact,
          };
        }
      }
      await campaigns.update(ctx, documentIdFor(campaignId), () => next);
    },
  });
}

export const campaignProcessor = campaignProcessorWith(DEFAULT_OPTIMIZATION_STRATEGY);
