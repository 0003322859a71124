/**
 * The three attribution models the builder publishes, each a credit distribution over the
 * channels of a conversion path that sums to 1:
 * - last click: all credit to the channel of the last touchpoint;
 * - linear: equal credit to every touchpoint, summed per channel;
 * - Shapley: each channel's Shapley value (shapley.ts) under the observed coalition value
 *   (channel-sets.ts), divided by v(path) so the credits sum to 1. A channel that lowers the
 *   conversion rate gets negative credit, and the others more than their share.
 * And the path's counterfactual lift.
 */
import { coalitionValue, type ChannelSetStats } from "./channel-sets";
import { channelsOf, type JourneyTouchpoint } from "./journey";
import { shapleyValues } from "./shapley";

export type Credit = Record<string, number>;

/** All credit to the last touchpoint's channel (the path is in time order). */
export function lastClickCredit(path: readonly JourneyTouchpoint[]): Credit {
  const last = path[path.length - 1];
  return last === undefined ? {} : { [last.channel]: 1 };
}

/** 1/k per touchpoint of a k-touchpoint path, summed per channel. */
export function linearCredit(path: readonly JourneyTouchpoint[]): Credit {
  const credit: Credit = {};
  for (const t of path) credit[t.channel] = (credit[t.channel] ?? 0) + 1 / path.length;
  return credit;
}

/** Shapley credit and the raw Shapley values (in conversion-rate units) of a path's channels. */
export function shapleyCredit(
  path: readonly JourneyTouchpoint[],
  stats: readonly ChannelSetStats[],
): { credit: Credit; values: Credit; pathValue: number } {
  const channels = channelsOf(path);
  const values = Object.fromEntries(
    shapleyValues(channels, (coalition) => coalitionValue(stats, coalition)),
  );
  const pathValue = coalitionValue(stats, channels);
  // The converting journey itself is in the stats, so v(path) > 0 whenever the path is non-empty.
  const credit = Object.fromEntries(
    channels.map((c) => [c, pathValue === 0 ? 1 / channels.length : values[c]! / pathValue]),
  );
  return { credit, values, pathValue };
}

/**
 * The path's counterfactual lift: v(path) minus the mean of v(path without c) over its
 * channels c, the conversion rate the path's users reached less what it would have been,
 * on average, had any one of its channels been missing (the removal effect of Anderl,
 * Becker, von Wangenheim, Schumann, "Mapping the customer journey", IJRM 2016, taken on the
 * coalition value). In conversion-rate points; the same for every model, since it describes
 * the path, not a way of sharing its credit.
 */
export function counterfactualLift(
  path: readonly JourneyTouchpoint[],
  stats: readonly ChannelSetStats[],
): number {
  const channels = channelsOf(path);
  if (channels.length === 0) return 0;
  const full = coalitionValue(stats, channels);
  const without = channels.map((c) =>
    coalitionValue(
      stats,
      channels.filter((d) => d !== c),
    ),
  );
  return full - without.reduce((s, x) => s + x, 0) / channels.length;
}
