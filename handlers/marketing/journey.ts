/**
 * A user's conversion journey: the touchpoints since their last attributed conversion, in
 * time order. Touchpoints may arrive late and twice; the journey orders them by their own
 * timestamp, keeps each once, and ignores one from before the last conversion (that journey
 * has already been credited and is not reopened).
 */

export interface JourneyTouchpoint {
  channel: string;
  campaign: string;
  creative: string;
  /** When it happened, epoch milliseconds. */
  at: number;
}

export interface Journey {
  touchpoints: JourneyTouchpoint[];
  /** Time of the user's last attributed conversion (epoch ms); touchpoints at or before it belong to a credited journey. 0 before any. */
  closedAt: number;
}

export const EMPTY_JOURNEY: Readonly<Journey> = { touchpoints: [], closedAt: 0 };

const same = (a: JourneyTouchpoint, b: JourneyTouchpoint): boolean =>
  a.at === b.at &&
  a.channel === b.channel &&
  a.campaign === b.campaign &&
  a.creative === b.creative;

/**
 * The journey with a touchpoint added in time order (after those with the same time, so of
 * two simultaneous touchpoints the later reported counts as later).
 * @returns `added: false` when the touchpoint is already in the journey or predates its start.
 */
export function addTouchpoint(
  journey: Readonly<Journey>,
  touchpoint: JourneyTouchpoint,
): { journey: Journey; added: boolean } {
  if (touchpoint.at <= journey.closedAt || journey.touchpoints.some((t) => same(t, touchpoint)))
    return { journey: { ...journey, touchpoints: [...journey.touchpoints] }, added: false };
  const touchpoints = [...journey.touchpoints];
  let i = touchpoints.length;
  while (i > 0 && touchpoints[i - 1]!.at > touchpoint.at) i -= 1;
  touchpoints.splice(i, 0, touchpoint);
  return { journey: { ...journey, touchpoints }, added: true };
}

/**
 * Splits a journey at a conversion: the touchpoints up to `at` lead to the conversion; those
 * after it (reported before the conversion, but later in time) open the next journey.
 */
export function convertAt(
  journey: Readonly<Journey>,
  at: number,
): { path: JourneyTouchpoint[]; next: Journey } {
  return {
    path: journey.touchpoints.filter((t) => t.at <= at),
    next: {
      touchpoints: journey.touchpoints.filter((t) => t.at > at),
      closedAt: Math.max(journey.closedAt, at),
    },
  };
}

/** The distinct channels of some touchpoints, sorted. */
export function channelsOf(touchpoints: readonly JourneyTouchpoint[]): string[] {
  return [...new Set(touchpoints.map((t) => t.channel))].sort();
}
