/**
 * Budget pacing: is a campaign spending its budget at the rate its pacing setting asks for?
 * Standard pacing spreads a budget evenly over its period, so by a point in the period the
 * expected spend is budget × the elapsed share of the period; pacing is off when actual spend
 * strays from that by more than {@link PACING_TOLERANCE}. Accelerated pacing spends as fast
 * as the auctions allow, so only its budget cap is checked.
 *
 * Periods are UTC: a day runs 00:00Z to 24:00Z; a flight from its start date's 00:00Z to the
 * end of its end date (end date inclusive).
 */

/**
 * How far actual spend may stray from expected spend, as a share of expected spend, before
 * pacing counts as off: ±20%. Auctions make spend uneven within a day (traffic peaks in the
 * evening), and a narrower band would flag that normal unevenness; a wider one would let a
 * day run out of budget by mid-afternoon unflagged.
 */
export const PACING_TOLERANCE = 0.2;

/**
 * The share of a period that must have passed before its pacing is judged: 10%. Early on the
 * expected spend is a few units of currency and a single click swings the ratio past any band.
 */
export const MIN_ELAPSED_FRACTION = 0.1;

export type PacingMode = "standard" | "accelerated";

export type PacingStatus =
  "on-track" | "overspending" | "underspending" | "over-budget" | "not-judged";

/** The verdict on one period's spend. */
export interface PacingCheck {
  budget: number;
  actual: number;
  /** Share of the period elapsed, 0..1. */
  elapsed: number;
  /** budget × elapsed. */
  expected: number;
  /** actual / expected; null when the check was not judged on pace. */
  ratio: number | null;
  status: PacingStatus;
}

const DAY_MS = 86_400_000;

/** The share of [start, end) elapsed at `asOf`, clamped to 0..1; NaN when the period is empty or invalid. */
export function elapsedFraction(start: number, end: number, asOf: number): number {
  if (!(end > start)) return Number.NaN;
  return Math.min(1, Math.max(0, (asOf - start) / (end - start)));
}

/** The flight's bounds in epoch ms, end exclusive; undefined when either date is missing or invalid. */
export function flightBounds(
  startDate: string,
  endDate: string,
): { start: number; end: number } | undefined {
  const start = Date.parse(`${startDate}T00:00:00Z`);
  const end = Date.parse(`${endDate}T00:00:00Z`) + DAY_MS;
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return undefined;
  return { start, end };
}

/**
 * Judges one period's spend.
 * @param budget the period's budget; 0 or less means the campaign set none, and nothing is judged.
 * @param elapsed the share of the period elapsed (see {@link elapsedFraction}).
 * @param tolerance see {@link PACING_TOLERANCE}.
 */
export function checkPacing(
  budget: number,
  actual: number,
  elapsed: number,
  mode: PacingMode,
  tolerance = PACING_TOLERANCE,
): PacingCheck {
  const expected = Number.isNaN(elapsed) ? 0 : budget * elapsed;
  const verdict = (status: PacingStatus, ratio: number | null = null): PacingCheck => ({
    budget,
    actual,
    elapsed,
    expected,
    ratio,
    status,
  });
  if (!(budget > 0)) return verdict("not-judged");
  // Over the whole budget is wrong whatever the pacing mode and however early it is.
  if (actual > budget) return verdict("over-budget", expected > 0 ? actual / expected : null);
  if (mode === "accelerated" || Number.isNaN(elapsed) || elapsed < MIN_ELAPSED_FRACTION)
    return verdict(mode === "accelerated" ? "on-track" : "not-judged");
  const ratio = actual / expected;
  if (ratio > 1 + tolerance) return verdict("overspending", ratio);
  if (ratio < 1 - tolerance) return verdict("underspending", ratio);
  return verdict("on-track", ratio);
}
