/**
 * The open loop every rate-driven benchmark shares: `fire(i)` is called for i = 0 … total-1,
 * `perSecond` of them each second, the ones due sent every millisecond (so a rate is spread
 * over each second, not spent in a burst at its start), whatever the earlier calls are doing:
 * a slow answer does not slow the schedule, so a stalled server shows in the latencies.
 * `perSecond` Infinity calls them all at once. Resolves when every call has settled.
 */
export async function paced(
  total: number,
  perSecond: number,
  fire: (i: number) => Promise<void>,
): Promise<void> {
  const pending: Promise<void>[] = [];
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Number.isFinite(perSecond)
      ? Math.min(total, Math.floor(((performance.now() - started) * perSecond) / 1000))
      : total;
    for (; sent < due; sent++) pending.push(fire(sent));
    if (sent < total) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
}
