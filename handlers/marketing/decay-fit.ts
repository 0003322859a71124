/**
 * Creative fatigue as exponential decay: a creative's click-through rate falls as its
 * audience sees it again and again, ctr(t) = a·e^(−b·t) with t in days since it went live.
 * Taking logs makes the model linear, ln ctr = ln a − b·t (an "intrinsically linear" model in
 * the sense of Draper & Smith, Applied Regression Analysis), which ordinary least squares fits
 * in closed form. Least squares on the logs weighs relative errors alike, which suits rates
 * that span an order of magnitude.
 *
 * Points with a CTR of 0 have no logarithm; they are left out of the fit, which therefore
 * describes the days the creative was clicked at all.
 */

/** One observation: the CTR on a day since the creative went live. */
export interface CtrPoint {
  day: number;
  ctr: number;
}

/** A fitted decay curve. */
export interface DecayFit {
  /** CTR at day 0 (a). */
  initialCtr: number;
  /** Decay rate per day (b); positive when CTR falls. */
  decayRate: number;
  /** Coefficient of determination of the log-linear fit, 0..1 (1 when the points are exactly on the curve). */
  rSquared: number;
  /** Points used (those with CTR > 0). */
  points: number;
}

/** The least-squares fit of ctr = a·e^(−b·t), or undefined with fewer than two distinct days of positive CTR. */
export function fitExponentialDecay(series: readonly CtrPoint[]): DecayFit | undefined {
  const used = series.filter((p) => p.ctr > 0);
  const n = used.length;
  if (n < 2) return undefined;
  const meanT = used.reduce((s, p) => s + p.day, 0) / n;
  const meanY = used.reduce((s, p) => s + Math.log(p.ctr), 0) / n;
  let sTT = 0;
  let sTY = 0;
  let sYY = 0;
  for (const p of used) {
    const dt = p.day - meanT;
    const dy = Math.log(p.ctr) - meanY;
    sTT += dt * dt;
    sTY += dt * dy;
    sYY += dy * dy;
  }
  if (sTT === 0) return undefined;
  const slope = sTY / sTT;
  const intercept = meanY - slope * meanT;
  // All CTRs equal: the line explains everything there is to explain.
  const rSquared = sYY === 0 ? 1 : (sTY * sTY) / (sTT * sYY);
  return { initialCtr: Math.exp(intercept), decayRate: -slope, rSquared, points: n };
}

/** The fitted CTR on a day. */
export function fittedCtr(fit: DecayFit, day: number): number {
  return fit.initialCtr * Math.exp(-fit.decayRate * day);
}

/** The day on which the fitted CTR falls to `threshold`, or undefined when it never does (no decay). */
export function dayCtrReaches(fit: DecayFit, threshold: number): number | undefined {
  if (!(fit.decayRate > 0) || !(threshold > 0)) return undefined;
  return Math.log(fit.initialCtr / threshold) / fit.decayRate;
}
