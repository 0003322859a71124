/**
 * Observed conversion statistics per channel set, and the coalition value the Shapley model
 * plays with. Every journey is counted under the exact set of channels it touched (moving
 * to a larger set as it touches new channels), and a converting journey adds a conversion
 * to its set.
 *
 * Coalition value: v(S) = conversions of journeys whose channel set ⊆ S ÷ journeys whose
 * channel set ⊆ S, the conversion rate of users exposed only to channels in S. This is
 * Dalessandro, Perlich, Stitelman, Provost's P(conversion | exposure to S) ("Causally
 * Motivated Attribution for Online Advertising", ADKDD 2012), estimated from the journeys
 * whose exposure stays within S; the subset sum is the one Zhao, Mahboobi, Bagheri use for
 * their coalition worth ("Shapley Value Methods for Attribution Modeling in Online
 * Advertising", arXiv:1804.05327, 2018), taken here as a rate rather than a count so that a
 * channel's credit reflects how much it lifts the odds of converting, not how much traffic it
 * carries. v(∅) = 0: no journey has no channel.
 */

/** Journeys and conversions of one exact channel set. */
export interface ChannelSetStats {
  /** The set's channels, sorted. */
  channels: string[];
  journeys: number;
  conversions: number;
}

/**
 * A channel set's key, usable as a Firestore document id: the sorted channels, each
 * URI-encoded (so no `/`, and `+` is `%2B`), joined by `+`.
 */
export function channelSetKey(channels: readonly string[]): string {
  return [...new Set(channels)].sort().map(encodeURIComponent).join("+");
}

/** Every non-empty subset of a set of channels (2^n − 1 of them), each sorted. */
export function nonEmptySubsets(channels: readonly string[]): string[][] {
  const sorted = [...new Set(channels)].sort();
  const subsets: string[][] = [];
  for (let mask = 1; mask < 1 << sorted.length; mask++)
    subsets.push(sorted.filter((_, i) => mask & (1 << i)));
  return subsets;
}

/** v(S): the conversion rate of journeys whose channels all lie in `coalition`; 0 when there are none. */
export function coalitionValue(
  stats: Iterable<Readonly<ChannelSetStats>>,
  coalition: readonly string[],
): number {
  let journeys = 0;
  let conversions = 0;
  for (const entry of stats) {
    if (entry.channels.length > 0 && entry.channels.every((c) => coalition.includes(c))) {
      journeys += entry.journeys;
      conversions += entry.conversions;
    }
  }
  return journeys === 0 ? 0 : conversions / journeys;
}
