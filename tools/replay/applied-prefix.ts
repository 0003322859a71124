/**
 * How far a replay has got when its events finish out of order (lanes.ts): the longest run of
 * stored events, in the order they were read, that are all applied. Its end is what a
 * checkpoint may say is done (checkpoint.ts), and its counts are what the replay reports, so a
 * resumed replay adds to counts that cover exactly the events before its starting point.
 *
 * Events read but not yet in the prefix are held with their counts; `room()` waits while too
 * many are, so one slow event (retried with pauses, say) cannot let the window grow without bound.
 */
import { addTally, emptyTally, type ReplayTally } from "./checkpoint";
import type { StreamPosition } from "./selection";

interface Entry {
  position: StreamPosition;
  tally: ReplayTally;
  done: boolean;
}

export class AppliedPrefix {
  private readonly entries = new Map<number, Entry>();
  private nextRead = 0;
  private nextApplied = 0;
  private readonly waiting: Array<() => void> = [];
  /** The counts of the prefix. */
  readonly tally: ReplayTally;
  /** The prefix's last event; undefined while it is empty (and nothing was resumed). */
  position: StreamPosition | undefined;

  /**
   * @param start the counts and position a resumed replay starts from.
   * @param onAdvance told after the prefix grows.
   */
  constructor(
    private readonly maxHeld: number,
    start: { tally?: ReplayTally; position?: StreamPosition } = {},
    private readonly onAdvance: () => void = () => undefined,
  ) {
    // A copy: the prefix's counts grow, the start's stay what they were.
    this.tally = start.tally === undefined ? emptyTally() : structuredClone(start.tally);
    this.position = start.position;
  }

  /** Events read and not yet in the prefix. */
  get held(): number {
    return this.entries.size;
  }

  /** Waits until fewer than `maxHeld` events are held. */
  async room(): Promise<void> {
    while (this.entries.size >= this.maxHeld)
      await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /**
   * Records the next event read, `read` stored events having been read up to it.
   * @returns its counts, to fill in, and a function to call once it is applied.
   */
  next(position: StreamPosition, read: number): { tally: ReplayTally; applied: () => void } {
    const entry: Entry = { position, tally: { ...emptyTally(), read }, done: false };
    const index = this.nextRead++;
    this.entries.set(index, entry);
    return {
      tally: entry.tally,
      applied: () => {
        entry.done = true;
        this.advance();
      },
    };
  }

  private advance(): void {
    const before = this.nextApplied;
    for (let entry = this.entries.get(this.nextApplied); entry?.done;) {
      addTally(this.tally, entry.tally);
      this.position = entry.position;
      this.entries.delete(this.nextApplied++);
      entry = this.entries.get(this.nextApplied);
    }
    if (this.nextApplied === before) return;
    for (const wake of this.waiting.splice(0)) wake();
    this.onAdvance();
  }
}
