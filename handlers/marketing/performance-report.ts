/**
 * Reading a com.eventline.campaign.performance_reported event: its window, its totals and
 * the instant its figures run to. Shared by the campaign processor and the analytics rollups,
 * which must agree on what a report covers.
 */
import { marketing } from "../../proto/gen";
import { PermanentError } from "../runtime/errors";
import { windowKey, type ReportWindow, type Totals, type WindowKey } from "./performance-ledger";

/** A report, read. */
export interface PerformanceReport {
  key: WindowKey;
  totals: Totals;
  /** The instant the figures run to: the window's end, or the report time if the window is still open. */
  asOf: number;
}

const WINDOWS: Readonly<Partial<Record<marketing.v1.PerformanceWindow, ReportWindow>>> = {
  [marketing.v1.PerformanceWindow.PERFORMANCE_WINDOW_HOURLY]: "hourly",
  [marketing.v1.PerformanceWindow.PERFORMANCE_WINDOW_DAILY]: "daily",
};

/**
 * Reads a report.
 * @param reportedAt the event's ce-time.
 * @throws PermanentError("invalid-report") when the window, its start or the metrics are missing or invalid: no retry fixes a report.
 */
export function readReport(
  report: marketing.v1.ICampaignPerformance,
  reportedAt: string,
): PerformanceReport {
  if (!report.campaignId)
    throw new PermanentError("invalid-report", "performance report without a campaign id");
  const window = WINDOWS[report.window ?? 0];
  if (window === undefined)
    throw new PermanentError(
      "invalid-report",
      `campaign ${report.campaignId}: the report's window is unspecified (hourly or daily)`,
    );
  const m = report.metrics;
  if (m === null || m === undefined)
    throw new PermanentError(
      "invalid-report",
      `campaign ${report.campaignId}: the report has no metrics`,
    );
  let key: WindowKey;
  try {
    key = windowKey(window, report.windowStart ?? "");
  } catch (err) {
    throw new PermanentError(
      "invalid-report",
      `campaign ${report.campaignId}: ${(err as Error).message}`,
    );
  }
  const totals = {
    impressions: Number(m.impressions ?? 0),
    clicks: Number(m.clicks ?? 0),
    conversions: Number(m.conversions ?? 0),
    spend: m.spend ?? 0,
  };
  if (Object.values(totals).some((x) => !(x >= 0)))
    throw new PermanentError(
      "invalid-report",
      `campaign ${report.campaignId}: metrics must be non-negative numbers`,
    );
  const reported = Date.parse(reportedAt);
  return {
    key,
    totals,
    asOf: Math.min(key.end.getTime(), Number.isNaN(reported) ? key.end.getTime() : reported),
  };
}
