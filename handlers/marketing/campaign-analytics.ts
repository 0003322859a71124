/**
 * campaign-analytics (docs/requirements.md, MO-4): hourly and daily rollups of campaign
 * performance, one item per campaign and period:
 *   campaign-hourly/<campaignId>_<YYYY-MM-DDTHH>  an hourly report's totals and KPIs
 *   campaign-daily/<campaignId>_<YYYY-MM-DD>      the day's totals and KPIs: its daily report
 *                                                 when there is one, else the sum of its hours
 * Each report replaces its own window's figures (performance-ledger.ts), so restatements and
 * repeats leave every rollup right, and an hourly report after the daily one does not double
 * the day.
 */
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";
import { kpis, type Kpis } from "./kpis";
import { dayTotals, recordWindow, type DayLedger, type Totals } from "./performance-ledger";
import { readReport } from "./performance-report";

export interface HourlyRollup {
  campaignId: string;
  /** Start of the hour, RFC 3339. */
  hour: string;
  totals: Totals;
  kpis: Kpis;
}

export interface DailyRollup {
  campaignId: string;
  /** YYYY-MM-DD (UTC). */
  date: string;
  /** The day's reports: the daily one, and the hourly ones by hour. */
  reports: DayLedger;
  /** Which figures the totals are: the daily report's, or the sum of the hourly reports. */
  source: "daily-report" | "hourly-reports";
  totals: Totals;
  kpis: Kpis;
}

export const hourlyRollups = defineProjection<HourlyRollup>("campaign-hourly");
export const dailyRollups = defineProjection<DailyRollup>("campaign-daily");

/** The rollup item id of a campaign's period. */
export function rollupId(campaignId: string, period: string): string {
  return documentIdFor(`${campaignId}_${period}`);
}

export const campaignAnalytics = defineHandler({
  name: "campaign-analytics",
  accepts: ["com.eventline.campaign.performance_reported"],
  async handle(event, ctx) {
    const report = readReport(event.data, ctx.delivery.time);
    const { campaignId } = event.data;
    const { key, totals } = report;
    if (key.window === "hourly") {
      const hour = key.start.toISOString();
      await hourlyRollups.update(ctx, rollupId(campaignId, `${key.day}T${key.hour}`), () => ({
        campaignId,
        hour,
        totals,
        kpis: kpis(totals),
      }));
    }
    await dailyRollups.update(ctx, rollupId(campaignId, key.day), (current) => {
      const reports = recordWindow({ [key.day]: current?.reports ?? { hours: {} } }, key, totals)[
        key.day
      ]!;
      const day = dayTotals(reports);
      return {
        campaignId,
        date: key.day,
        reports,
        source: reports.daily !== undefined ? "daily-report" : "hourly-reports",
        totals: day,
        kpis: kpis(day),
      };
    });
  },
});
