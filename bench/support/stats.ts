/**
 * The few statistics the benchmarks report: percentiles of one run's samples, and
 * min/median/max across runs. Every figure in a result goes through here, so runs and
 * baselines are summarised the same way.
 */

/** min, median and max of one figure over several runs. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** Rounds for the tables and result files; the raw samples stay in the JSON. */
export function round(value: number, digits = 1): number {
  return Number.isFinite(value) ? Number(value.toFixed(digits)) : value;
}

/** The `q` quantile (0..1) of ascending `sorted`, nearest-rank; NaN for no samples. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Ascending copy of `values` (Float64Array sorts numerically, unlike Array#sort). */
export function sorted(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** p50, p99 and max of one run's samples, in their unit. */
export function percentiles(values: ArrayLike<number>): {
  p50: number;
  p99: number;
  max: number;
  count: number;
} {
  const s = sorted(values);
  return {
    p50: quantile(s, 0.5),
    p99: quantile(s, 0.99),
    max: s.length > 0 ? s[s.length - 1]! : Number.NaN,
    count: s.length,
  };
}

/** min/median/max of one figure across runs. */
export function spread(values: readonly number[], digits = 1): Spread {
  const s = sorted(values);
  const middle = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[middle]! : (s[middle - 1]! + s[middle]!) / 2;
  return {
    min: round(s[0] ?? Number.NaN, digits),
    median: round(median, digits),
    max: round(s[s.length - 1] ?? Number.NaN, digits),
  };
}

/** `value / base`, two decimals; the figure a target like "within 1.2× the baseline" is read from. */
export function ratio(value: number, base: number): number {
  return round(value / base, 2);
}

/** "min / median / max" for a table cell. */
export function formatSpread(s: Spread): string {
  return `${s.min} / ${s.median} / ${s.max}`;
}
