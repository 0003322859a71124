/**
 * When a campaign needs optimization, why, and how urgently: the CPA against its target and
 * the day's and the flight's pacing. One report yields at most one request, carrying every
 * reason and the highest priority among them, so a downstream agent sees the whole picture
 * at once.
 *
 * Priorities:
 * - CRITICAL: spend is over the whole daily or total budget (money is being lost now).
 * - HIGH: CPA over 1.5 × target; or spending over 1.5 × the expected pace.
 * - MEDIUM: CPA over target; spending over pace beyond the tolerance; or under half the pace.
 * - LOW: spending under pace beyond the tolerance.
 *
 * The thresholds form an {@link OptimizationStrategy}, so a backtest (tools/replay) can replay
 * a period under other thresholds and compare what they would have asked for.
 */
import { marketing } from "../../proto/gen";
import { PACING_TOLERANCE, type PacingCheck } from "./pacing";
import type { Totals } from "./performance-ledger";

const Priority = marketing.v1.Priority;

/** Ratios to target (CPA) or to expected spend (pacing) above which a problem is HIGH. */
export const HIGH_PRIORITY_RATIO = 1.5;
/** Share of the expected spend below which underspending is MEDIUM rather than LOW. */
export const SEVERE_UNDERSPEND_RATIO = 0.5;

/** The thresholds the campaign processor judges by; {@link DEFAULT_OPTIMIZATION_STRATEGY} is the live one. */
export interface OptimizationStrategy {
  /**
   * How far the flight CPA may exceed the target before it is flagged, as a share of the
   * target: 0.1 lets a CPA 10% over target pass. Default 0: any excess is flagged.
   */
  cpaTolerance: number;
  /** Factor on every campaign's target CPA: 1.2 judges against targets 20% higher. Default 1. */
  targetMultiplier: number;
  /** How far spend may stray from the expected pace, as a share of it (pacing.ts). Default {@link PACING_TOLERANCE}. */
  pacingTolerance: number;
}

export const DEFAULT_OPTIMIZATION_STRATEGY: Readonly<OptimizationStrategy> = {
  cpaTolerance: 0,
  targetMultiplier: 1,
  pacingTolerance: PACING_TOLERANCE,
};

/** What the campaign processor knows when it judges a report. */
export interface CampaignStanding {
  /** Flight-to-date totals: CPA is judged on them, not on one window's noise. */
  flight: Totals;
  /** The target CPA; 0 means none was set, and CPA is not judged. */
  targetCpa: number;
  day: PacingCheck;
  flightPacing: PacingCheck;
}

/** An optimization request's content. */
export interface OptimizationNeed {
  reason: string;
  priority: marketing.v1.Priority;
}

const money = (amount: number): string => amount.toFixed(2);

interface Finding {
  reason: string;
  priority: marketing.v1.Priority;
  /** The money the finding is about: spend beyond target or budget, or off the expected pace. */
  atStake: number;
}

function cpaFinding(
  { flight, targetCpa }: CampaignStanding,
  strategy: OptimizationStrategy,
): Finding | undefined {
  const target = targetCpa * strategy.targetMultiplier;
  if (!(target > 0)) return undefined;
  const tolerated = target * (1 + strategy.cpaTolerance);
  if (flight.conversions > 0) {
    const cpa = flight.spend / flight.conversions;
    if (cpa <= tolerated) return undefined;
    return {
      reason: `CPA ${money(cpa)} exceeds target ${money(target)}`,
      priority:
        cpa > HIGH_PRIORITY_RATIO * target ? Priority.PRIORITY_HIGH : Priority.PRIORITY_MEDIUM,
      atStake: flight.spend - flight.conversions * target,
    };
  }
  // No conversion yet: even if the next unit of spend converts, the CPA is at least the spend so far.
  if (flight.spend <= tolerated) return undefined;
  return {
    reason: `no conversions after spending ${money(flight.spend)} (target CPA ${money(target)})`,
    priority:
      flight.spend > HIGH_PRIORITY_RATIO * target
        ? Priority.PRIORITY_HIGH
        : Priority.PRIORITY_MEDIUM,
    atStake: flight.spend - target,
  };
}

function pacingFinding(scope: "daily" | "total", check: PacingCheck): Finding | undefined {
  const period = scope === "daily" ? "day" : "flight";
  const pace = `${money(check.actual)} spent vs ${money(check.expected)} expected by ${Math.round(check.elapsed * 100)}% of the ${period}`;
  const offPace = Math.abs(check.actual - check.expected);
  switch (check.status) {
    case "over-budget":
      return {
        reason: `${period} spend ${money(check.actual)} is over the ${scope} budget ${money(check.budget)}`,
        priority: Priority.PRIORITY_CRITICAL,
        atStake: check.actual - check.budget,
      };
    case "overspending":
      return {
        reason: `overpacing the ${period}: ${pace}`,
        priority:
          check.ratio! > HIGH_PRIORITY_RATIO ? Priority.PRIORITY_HIGH : Priority.PRIORITY_MEDIUM,
        atStake: offPace,
      };
    case "underspending":
      return {
        reason: `underpacing the ${period}: ${pace}`,
        priority:
          check.ratio! < SEVERE_UNDERSPEND_RATIO ? Priority.PRIORITY_MEDIUM : Priority.PRIORITY_LOW,
        atStake: offPace,
      };
    default:
      return undefined;
  }
}

function findings(standing: CampaignStanding, strategy: OptimizationStrategy): Finding[] {
  return [
    cpaFinding(standing, strategy),
    pacingFinding("daily", standing.day),
    pacingFinding("total", standing.flightPacing),
  ].filter((f): f is Finding => f !== undefined);
}

/** The optimization the campaign needs, or undefined when it is on target and on pace. */
export function optimizationNeed(
  standing: CampaignStanding,
  strategy: OptimizationStrategy = DEFAULT_OPTIMIZATION_STRATEGY,
): OptimizationNeed | undefined {
  const found = findings(standing, strategy);
  if (found.length === 0) return undefined;
  return {
    reason: found.map((f) => f.reason).join("; "),
    priority: Math.max(...found.map((f) => f.priority)),
  };
}

/**
 * The predicted impact of acting on the campaign's optimization request, in the account
 * currency: the largest sum one of its findings is about (spend beyond what the conversions
 * were worth at the target CPA, spend over a budget, or spend off the expected pace). The
 * largest, not the sum: the day's pace is part of the flight's, and overspend shows in the
 * CPA too. 0 when nothing needs optimizing.
 */
export function predictedImpact(
  standing: CampaignStanding,
  strategy: OptimizationStrategy = DEFAULT_OPTIMIZATION_STRATEGY,
): number {
  return Math.max(0, ...findings(standing, strategy).map((f) => f.atStake));
}
