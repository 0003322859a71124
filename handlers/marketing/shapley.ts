/**
 * Exact Shapley values (Shapley, "A Value for n-Person Games", 1953): each player's marginal
 * contribution v(S ∪ {i}) − v(S), averaged over every coalition S of the other players with
 * weight |S|!·(n − |S| − 1)!/n!. Exact means all 2^n coalitions are evaluated, so the number
 * of players is capped.
 */

/** Most players an exact computation takes (2^16 coalition values). */
export const MAX_EXACT_PLAYERS = 16;

function factorials(n: number): number[] {
  const f = [1];
  for (let i = 1; i <= n; i++) f.push(f[i - 1]! * i);
  return f;
}

/**
 * Each player's Shapley value under the coalition value `value` (called once per coalition,
 * with the coalition's players in the order given). The values sum to v(all) − v(∅).
 * @throws RangeError for more than {@link MAX_EXACT_PLAYERS} players or a repeated player.
 */
export function shapleyValues(
  players: readonly string[],
  value: (coalition: readonly string[]) => number,
): Map<string, number> {
  const n = players.length;
  if (n > MAX_EXACT_PLAYERS)
    throw new RangeError(
      `exact Shapley values take at most ${MAX_EXACT_PLAYERS} players, not ${n}`,
    );
  if (new Set(players).size !== n) throw new RangeError("players must be distinct");
  const v = new Float64Array(1 << n);
  for (let mask = 0; mask < 1 << n; mask++)
    v[mask] = value(players.filter((_, i) => mask & (1 << i)));
  const f = factorials(n);
  const size = (mask: number): number => {
    let count = 0;
    for (let m = mask; m !== 0; m &= m - 1) count++;
    return count;
  };
  const result = new Map<string, number>();
  players.forEach((player, i) => {
    const bit = 1 << i;
    let phi = 0;
    for (let mask = 0; mask < 1 << n; mask++) {
      if (mask & bit) continue;
      const s = size(mask);
      phi += ((f[s]! * f[n - s - 1]!) / f[n]!) * (v[mask | bit]! - v[mask]!);
    }
    result.set(player, phi);
  });
  return result;
}
