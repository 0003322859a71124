/**
 * Publishes the outboxes no delivery will publish. A handler's derived events are stored with
 * its processed record and published after the commit (idempotency.ts); when that publish does
 * not happen and no redelivery follows (the run outlived its time limit and committed late, or
 * publishing failed on the last attempt), the record keeps them. The relay looks for records
 * whose outbox has waited longer than any live delivery would take, publishes their events
 * (the same ids again, so a consumer that already has them deduplicates) and clears them.
 *
 * Each consumer's process runs its own relay over its own records: after deliveries, at most
 * once per interval, and on a timer while it runs (`start`).
 */
import type { Firestore } from "@google-cloud/firestore";
import type { Logger } from "pino";
import { markPublished, pendingOutboxes } from "./idempotency";
import type { MessagePublisher } from "./publisher";

/** How often the relay looks, in milliseconds, by default. */
export const OUTBOX_SWEEP_INTERVAL_MS = 60_000;
/** Records handled per sweep. */
const SWEEP_BATCH = 100;

export interface OutboxRelayOptions {
  firestore: Firestore;
  publisher: MessagePublisher;
  consumer: string;
  logger: Logger;
  /**
   * How long an outbox may wait before the relay takes it, in milliseconds: longer than a
   * delivery that committed it takes to publish it (the handler's time limit and a margin).
   */
  graceMs: number;
  /** The least time between two sweeps, in milliseconds. Default {@link OUTBOX_SWEEP_INTERVAL_MS}. */
  intervalMs?: number;
}

export class OutboxRelay {
  private lastSweep = 0;
  private sweeping: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;

  constructor(private readonly options: OutboxRelayOptions) {
    this.intervalMs = options.intervalMs ?? OUTBOX_SWEEP_INTERVAL_MS;
  }

  /**
   * Publishes the outboxes that have waited past the grace period, oldest first.
   * @returns how many records it published; rejects when Firestore or publishing fails.
   */
  async sweep(now = new Date()): Promise<number> {
    const { firestore, publisher, consumer, logger } = this.options;
    const pending = await pendingOutboxes(
      firestore,
      consumer,
      new Date(now.getTime() - this.options.graceMs),
      SWEEP_BATCH,
    );
    for (const { record, outbox } of pending) {
      await publisher.publish(outbox);
      await markPublished(record);
    }
    if (pending.length > 0)
      logger.warn(
        { records: pending.length, events: pending.reduce((n, p) => n + p.outbox.length, 0) },
        "published derived events a delivery had left in the outbox",
      );
    return pending.length;
  }

  /** Sweeps unless one ran within the interval or one is running; never rejects (failures are logged). */
  sweepIfDue(): Promise<void> {
    const now = Date.now();
    if (this.sweeping !== undefined || now - this.lastSweep < this.intervalMs)
      return Promise.resolve();
    this.lastSweep = now;
    const sweeping = this.sweep().catch((err: unknown) => {
      this.options.logger.warn({ err }, "the outbox relay failed; it tries again next interval");
      return 0;
    });
    this.sweeping = sweeping;
    return sweeping.then(() => {
      this.sweeping = undefined;
    });
  }

  /** Sweeps on a timer until {@link stop}, so an idle process still publishes what is left. */
  start(): void {
    this.timer ??= setInterval(() => void this.sweepIfDue(), this.intervalMs).unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }
}
