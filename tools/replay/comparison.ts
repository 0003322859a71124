/**
 * Two strategies' outcomes side by side (outcomes.ts), as rows of one number each: for the
 * terminal, for CI as JSON, and as a CSV a spreadsheet or plotting library reads directly
 * (one row per metric and key, a column per strategy).
 */
import { PRIORITIES, type StrategyOutcome } from "./outcomes";

/** One compared number. */
export interface ComparisonRow {
  /** What is measured, e.g. `optimizations_requested`, `credited_conversions`. */
  metric: string;
  /** Which part of it: a priority, a channel; "" for a total. */
  key: string;
  current: number;
  alternative: number;
  /** alternative − current. */
  change: number;
}

/** Sums of floating-point credit shares print as 2.9999999999999996; six decimals is more than any of them means. */
const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/** The rows comparing two outcomes, in a fixed order: optimizations, then attribution by channel. */
export function compareOutcomes(
  current: StrategyOutcome,
  alternative: StrategyOutcome,
): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  const add = (metric: string, key: string, a: number, b: number): void => {
    rows.push({ metric, key, current: round(a), alternative: round(b), change: round(b - a) });
  };
  add(
    "optimizations_requested",
    "",
    current.optimizations.requested,
    alternative.optimizations.requested,
  );
  for (const priority of PRIORITIES)
    add(
      "optimizations_by_priority",
      priority,
      current.optimizations.byPriority[priority],
      alternative.optimizations.byPriority[priority],
    );
  add(
    "campaigns_flagged",
    "",
    current.optimizations.campaigns,
    alternative.optimizations.campaigns,
  );
  add(
    "predicted_impact",
    "",
    current.optimizations.predictedImpact,
    alternative.optimizations.predictedImpact,
  );
  add(
    "attributed_conversions",
    "",
    current.attribution.conversions,
    alternative.attribution.conversions,
  );
  const channels = [
    ...new Set([
      ...Object.keys(current.attribution.byChannel),
      ...Object.keys(alternative.attribution.byChannel),
    ]),
  ].sort();
  const credit = (outcome: StrategyOutcome, channel: string) =>
    outcome.attribution.byChannel[channel] ?? { conversions: 0, value: 0 };
  for (const channel of channels)
    add(
      "credited_conversions",
      channel,
      credit(current, channel).conversions,
      credit(alternative, channel).conversions,
    );
  for (const channel of channels)
    add(
      "credited_value",
      channel,
      credit(current, channel).value,
      credit(alternative, channel).value,
    );
  return rows;
}

/** A CSV field, quoted when it needs to be (RFC 4180). */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The rows as CSV with a header: metric,key,current,alternative,change. */
export function comparisonCsv(rows: readonly ComparisonRow[]): string {
  const lines = [
    ["metric", "key", "current", "alternative", "change"],
    ...rows.map((r) => [r.metric, r.key, r.current, r.alternative, r.change]),
  ];
  return lines.map((line) => line.map(csvField).join(",")).join("\n") + "\n";
}

/** A number for people: whole numbers as they are, others to two decimals, changes signed. */
export function formatNumber(value: number, signed = false): string {
  const text = Number.isInteger(value) ? String(value) : value.toFixed(2);
  return signed && value > 0 ? `+${text}` : text;
}
