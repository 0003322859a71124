/**
 * The invitation funnel, sent → opened → clicked → converted, as counts and conversion
 * rates. An invitation counts at most once per step, however many events report that step
 * (two opens, a redelivered click), because the counts only ever grow by the steps an
 * invitation had not yet reached.
 *
 * A later step implies the earlier ones: a click means the message was sent and opened,
 * even when the open was never seen (images blocked, or SMS and WhatsApp, which cannot report
 * opens at all). Counting implied steps keeps the funnel monotone (sent ≥ opened ≥ clicked ≥
 * converted), so every rate is at most 1 and each stage's rate reads as "of those who got
 * this far". A failed invitation is counted apart: it never entered the funnel.
 */

/** The funnel's steps, in order. */
export const FUNNEL_STEPS = ["sent", "opened", "clicked", "converted"] as const;

export type FunnelStep = (typeof FUNNEL_STEPS)[number];

/** Invitations per step (each counted once), failures, and the value of the conversions. */
export interface FunnelCounts {
  sent: number;
  opened: number;
  clicked: number;
  converted: number;
  failed: number;
  /** Sum of the converted invitations' conversion values. */
  conversionValue: number;
}

/** Conversion rates between steps; 0 where the denominator is 0. */
export interface FunnelRates {
  /** opened / sent */
  openRate: number;
  /** clicked / opened */
  clickRate: number;
  /** converted / clicked */
  conversionRate: number;
  /** converted / sent: the whole funnel. */
  overallRate: number;
}

export const EMPTY_FUNNEL: Readonly<FunnelCounts> = {
  sent: 0,
  opened: 0,
  clicked: 0,
  converted: 0,
  failed: 0,
  conversionValue: 0,
};

/**
 * The steps an invitation reaches by reporting `step`, that it had not reached before:
 * `step` and every step before it, minus `reached`. Empty when the report adds nothing.
 */
export function newSteps(reached: readonly FunnelStep[], step: FunnelStep): FunnelStep[] {
  const upTo = FUNNEL_STEPS.slice(0, FUNNEL_STEPS.indexOf(step) + 1);
  return upTo.filter((s) => !reached.includes(s));
}

/** Counts with one more invitation at each of `steps`; a new "converted" adds its value. */
export function addSteps(
  counts: Readonly<FunnelCounts>,
  steps: readonly FunnelStep[],
  conversionValue = 0,
): FunnelCounts {
  const next = { ...counts };
  for (const step of steps) next[step] += 1;
  if (steps.includes("converted")) next.conversionValue += conversionValue;
  return next;
}

/** Counts with one more failed invitation. */
export function addFailure(counts: Readonly<FunnelCounts>): FunnelCounts {
  return { ...counts, failed: counts.failed + 1 };
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

/** The funnel's rates from its counts. */
export function funnelRates(counts: Readonly<FunnelCounts>): FunnelRates {
  return {
    openRate: ratio(counts.opened, counts.sent),
    clickRate: ratio(counts.clicked, counts.opened),
    conversionRate: ratio(counts.converted, counts.clicked),
    overallRate: ratio(counts.converted, counts.sent),
  };
}
