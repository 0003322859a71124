/**
 * Running a replay's events concurrently without reordering what must stay in order: each event
 * goes into the lane of its key (its correlation id), a lane runs its events one after the
 * other in the order they were added, and lanes run side by side. So two events of one flow are
 * never in flight together, and the events of many flows are, which is what lets their
 * deliveries share commit groups (handlers/runtime/commit-groups.ts).
 *
 * At most `limit` events are queued or running at once: adding one more waits for room, so a
 * replay holds a bounded window of the store in memory however long it is.
 */
export class Lanes {
  private readonly tails = new Map<string, Promise<void>>();
  private inFlight = 0;
  private readonly room: Array<() => void> = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {
    if (!(limit >= 1))
      throw new Error(`a replay needs room for at least 1 event in flight, not ${limit}`);
  }

  /**
   * Queues `task` after the earlier tasks of lane `key`; returns once it is queued.
   * @throws the error of an earlier task, which stops the replay.
   */
  async add(key: string, task: () => Promise<void>): Promise<void> {
    while (this.inFlight >= this.limit)
      await new Promise<void>((resolve) => this.room.push(resolve));
    this.throwIfFailed();
    this.inFlight++;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const run: Promise<void> = previous
      .then(task)
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.inFlight--;
        if (this.tails.get(key) === run) this.tails.delete(key);
        this.room.shift()?.();
      });
    this.tails.set(key, run);
  }

  /**
   * Waits for every queued task.
   * @throws the first error a task threw.
   */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }
}
