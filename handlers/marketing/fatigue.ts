/**
 * The fatigue verdict on a creative's CTR series: fit the decay (decay-fit.ts), score how
 * much CTR the creative has lost, and predict how long it has left. A creative is fatigued
 * once its fitted decay rate reaches {@link FATIGUE_DECAY_RATE} over at least
 * {@link MIN_FIT_DAYS} days; the detector reports the crossing once.
 */
import {
  dayCtrReaches,
  fitExponentialDecay,
  fittedCtr,
  type CtrPoint,
  type DecayFit,
} from "./decay-fit";

/**
 * Decay rate per day at which a creative counts as fatigued: 0.05, a loss of about 5% of its
 * CTR a day, which halves it in ln 2 / 0.05 ≈ 13.9 days: such a creative wears out within a
 * typical month-long flight.
 */
export const FATIGUE_DECAY_RATE = 0.05;

/** Distinct days of positive CTR needed before a fit is trusted. */
export const MIN_FIT_DAYS = 3;

/**
 * Where the creative is "spent": when its fitted CTR falls below this share of its fitted
 * day-0 CTR. Half: by then a fresh creative would typically do twice as well.
 */
export const SPENT_CTR_SHARE = 0.5;

/** The verdict on one series. */
export interface FatigueVerdict {
  fit: DecayFit;
  fatigued: boolean;
  /** Share of CTR lost between the first and the last observed day, by the fit: 1 − e^(−b·(last − first)); 0 when CTR is not falling. */
  score: number;
  /** Fitted CTR for each day from the first to the last observed day. */
  curve: number[];
  /** First day of {@link curve}. */
  curveStartDay: number;
  /** Days after the last observed day until the fitted CTR falls below {@link SPENT_CTR_SHARE} of day 0's; 0 when it already has; Infinity when CTR is not falling. */
  daysRemaining: number;
}

/** The fatigue verdict on a series, or undefined while fewer than {@link MIN_FIT_DAYS} days of positive CTR are known. */
export function assessFatigue(series: readonly CtrPoint[]): FatigueVerdict | undefined {
  const fit = fitExponentialDecay(series);
  if (fit === undefined || fit.points < MIN_FIT_DAYS) return undefined;
  const days = series.map((p) => p.day);
  const first = Math.min(...days);
  const last = Math.max(...days);
  const curve = Array.from({ length: last - first + 1 }, (_, i) => fittedCtr(fit, first + i));
  const spentDay = dayCtrReaches(fit, SPENT_CTR_SHARE * fit.initialCtr);
  return {
    fit,
    fatigued: fit.decayRate >= FATIGUE_DECAY_RATE,
    score: fit.decayRate > 0 ? 1 - Math.exp(-fit.decayRate * (last - first)) : 0,
    curve,
    curveStartDay: first,
    daysRemaining: spentDay === undefined ? Number.POSITIVE_INFINITY : Math.max(0, spentDay - last),
  };
}
