/**
 * The campaign KPIs (docs/requirements.md, MO-3) from delivery totals: click-through rate,
 * cost per acquisition and cost per thousand impressions. They are recomputed from the totals rather
 * than taken from the report, so a rollup's KPIs always agree with its own figures.
 */
import type { Totals } from "./performance-ledger";

export interface Kpis {
  /** clicks / impressions; 0 without impressions. */
  ctr: number;
  /** spend / conversions; null without conversions (an undefined CPA is not a zero one). */
  cpa: number | null;
  /** spend / impressions × 1000; 0 without impressions. */
  cpm: number;
}

/** The KPIs of some totals. */
export function kpis(totals: Readonly<Totals>): Kpis {
  return {
    ctr: totals.impressions === 0 ? 0 : totals.clicks / totals.impressions,
    cpa: totals.conversions === 0 ? null : totals.spend / totals.conversions,
    cpm: totals.impressions === 0 ? 0 : (totals.spend / totals.impressions) * 1000,
  };
}
