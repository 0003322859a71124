/** "Did you mean …?" for a name the user mistyped: the closest known names, when one is close. */
import { distance } from "fastest-levenshtein";

/** At most this share of a name's length may differ for a known name to count as what was meant. */
const MAX_DIFFERENCE = 0.4;

/** `; did you mean x?` naming the closest of `known`, or "" when none is close. */
export function suggest(given: string, known: readonly string[]): string {
  const scored = known.map((name) => ({
    name,
    score: distance(given.toLowerCase(), name.toLowerCase()) / Math.max(given.length, name.length),
  }));
  const best = scored
    .filter((entry) => entry.score <= MAX_DIFFERENCE)
    .sort((a, b) => a.score - b.score)[0];
  return best === undefined ? "" : `; did you mean ${best.name}?`;
}
