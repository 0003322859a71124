/**
 * Pulling a subscription with unary `Pull` calls that never ask for more than the free slots
 * of the flow-control limit: at most `maxMessages` messages are ever held by the process.
 *
 * Why it exists: the Pub/Sub emulator ignores a streaming pull's `maxOutstandingMessages` and
 * streams the whole backlog; the Node client pauses its stream when its flow control is full,
 * but the messages keep arriving and wait in memory, leased, so a worker's memory follows the
 * backlog until a capped heap runs out (bench/README.md, "What the emulators do" and memory).
 * Pub/Sub itself stops streaming at the limit, so the cloud keeps the streaming pull; against
 * the emulator the pull host uses this source.
 *
 * Two pulls are in flight while there is room for both: a message published while a pull is
 * being answered waits for the next pull, and with one pull at a time that wait is about
 * half a pull's round trip; with two, one is nearly always waiting at the emulator. The slots
 * a pull asks for are reserved until it returns, so the limit holds across both
 * (bench/README.md, "Where a quiet event's time goes").
 *
 * What the streaming client does, done here:
 * - each message is leased for `leaseSeconds` when it arrives, and the lease is renewed every
 *   third of that while the message is held, up to `maxExtensionSeconds`;
 * - acks and nacks (an ack deadline of 0) are sent in batches, every {@link FLUSH_EVERY_MS}
 *   or at {@link MAX_IDS_PER_CALL} ids; `ackWithResponse` sends its ack at once and reports
 *   the outcome (exactly-once subscriptions);
 * - transient errors are retried with backoff; a missing subscription or lost permission is
 *   final and reported once through `onFatal`;
 * - stopPulling() asks for nothing more while held messages finish (a drain); close() also
 *   nacks what is still held and sends what is queued.
 */
import type { protos, PubSub } from "@google-cloud/pubsub";

/** What the pull host needs of a message, from either transport. */
export interface PulledMessage {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  /** 0 when the subscription counts no attempts (no dead-letter policy). */
  deliveryAttempt: number;
  orderingKey?: string;
  ack(): void;
  /**
   * Gives the message back: at once, or after `delaySeconds` (its ack deadline set to that).
   * The streaming transport always gives it back at once: Pub/Sub applies the subscription's
   * retry policy.
   */
  nack(delaySeconds?: number): void;
  /** Acks and waits for the service's answer; rejects when the ack did not take. */
  ackWithResponse(): Promise<unknown>;
}

export interface UnaryPullOptions {
  pubsub: PubSub;
  /** The subscription's short name. */
  subscription: string;
  /** Messages held at once, at most. */
  maxMessages: number;
  /** Lease given to each message and renewed while it is held, in seconds. */
  leaseSeconds: number;
  /** How long a message's lease is renewed at most, in seconds. */
  maxExtensionSeconds: number;
  /**
   * Pulls in flight at once. Default 2; 1 for an ordered subscription, whose key's messages
   * must arrive in one answer after another, not in two answers racing.
   */
  pullsInFlight?: number;
  onMessage(message: PulledMessage): void;
  /** A pull failed and will be retried. */
  onError(error: Error): void;
  /** The subscription cannot be pulled (deleted, no permission): the source has closed. */
  onFatal(error: Error): void;
}

/** How long one Pull waits for messages; the emulator answers an empty pull after about half of it. */
const PULL_WAIT_MS = 2_000;
/** Messages asked for in one Pull, at most. */
const MAX_PULL_SIZE = 1_000;
/** Pulls in flight at once, at most, by default (see the file comment). */
const PULLS_IN_FLIGHT = 2;
const FLUSH_EVERY_MS = 50;
/** Pub/Sub's longest ack deadline, in seconds. */
const MAX_ACK_DEADLINE_SECONDS = 600;
/** Ids per Acknowledge or ModifyAckDeadline call. */
const MAX_IDS_PER_CALL = 1_000;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** gRPC codes after which pulling again cannot succeed: NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED. */
const FINAL_CODES = new Set([5, 7, 16]);

interface Held {
  ackId: string;
  receivedAt: number;
}

type ReceivedMessage = protos.google.pubsub.v1.IReceivedMessage;

export class UnaryPullSource {
  private open = false;
  private pulling = false;
  private readonly held = new Map<string, Held>();
  private readonly toAck: string[] = [];
  private readonly toNack: string[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  /** Slots asked for by the pulls in flight, not yet answered. */
  private requested = 0;
  /** Pull loops waiting for free slots. */
  private waiting: Array<() => void> = [];
  private loop: Promise<void> | undefined;
  private readonly path: string;

  constructor(private readonly options: UnaryPullOptions) {
    this.path = options.pubsub.subscription(options.subscription).name;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Messages held now: received and not yet acked or nacked. */
  get inFlight(): number {
    return this.held.size;
  }

  start(): void {
    if (this.open) return;
    this.open = true;
    this.pulling = true;
    const renewEveryMs = (this.options.leaseSeconds * 1000) / 3;
    this.leaseTimer = setInterval(() => void this.renewLeases(), renewEveryMs);
    const pulls = this.options.pullsInFlight ?? PULLS_IN_FLIGHT;
    this.loop = Promise.all(Array.from({ length: pulls }, () => this.pullLoop())).then(
      () => undefined,
    );
  }

  /** Wakes the pull loops waiting for free slots. */
  private wakePullers(): void {
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** Asks for no more messages; those held keep their leases until they are settled. */
  async stopPulling(): Promise<void> {
    this.pulling = false;
    this.wakePullers();
    await this.loop;
  }

  /** Stops pulling, nacks what is held, sends the queued acks and nacks. */
  async close(): Promise<void> {
    if (!this.open) return;
    await this.stopPulling();
    this.open = false;
    clearInterval(this.leaseTimer);
    this.toNack.push(...[...this.held.values()].map((h) => h.ackId));
    this.held.clear();
    await this.flush();
  }

  private async pullLoop(): Promise<void> {
    let backoffMs = BACKOFF_FIRST_MS;
    // A worthwhile batch: a quarter of the slots, or all of them when there are few.
    const worthwhile = Math.min(
      this.options.maxMessages,
      Math.max(1, Math.floor(this.options.maxMessages / 4)),
    );
    while (this.pulling) {
      const free = this.options.maxMessages - this.held.size - this.requested;
      if (free < worthwhile) {
        await new Promise<void>((resolve) => this.waiting.push(resolve));
        continue;
      }
      // Half the free slots while the other pull could take a worthwhile batch of the rest.
      const asked = Math.min(free >= 2 * worthwhile ? Math.ceil(free / 2) : free, MAX_PULL_SIZE);
      this.requested += asked;
      let received: ReceivedMessage[];
      try {
        received = await this.pull(asked);
      } catch (err) {
        this.requested -= asked;
        const error = err as Error & { code?: number };
        if (!this.pulling) break;
        if (error.code !== undefined && FINAL_CODES.has(error.code)) {
          this.open = false;
          this.pulling = false;
          clearInterval(this.leaseTimer);
          // The other loop ends too, without a second report.
          this.wakePullers();
          this.options.onFatal(error);
          break;
        }
        this.options.onError(error);
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
        continue;
      }
      this.requested -= asked;
      backoffMs = BACKOFF_FIRST_MS;
      this.receive(received);
      // Slots this pull reserved and did not fill are free again for the other.
      this.wakePullers();
    }
  }

  private receive(received: ReceivedMessage[]): void {
    if (received.length === 0) return;
    const now = Date.now();
    const ackIds = received.map((r) => r.ackId!);
    // Lease them for our time, not the subscription's, so a killed worker strands them only that long.
    void this.modifyDeadline(ackIds, this.options.leaseSeconds).catch(() => {});
    for (const r of received) {
      const ackId = r.ackId!;
      const m = r.message!;
      if (!this.pulling) {
        this.toNack.push(ackId);
        continue;
      }
      this.held.set(ackId, { ackId, receivedAt: now });
      this.options.onMessage({
        id: m.messageId ?? "",
        data: Buffer.from((m.data as Uint8Array | undefined) ?? new Uint8Array()),
        attributes: { ...(m.attributes ?? {}) },
        deliveryAttempt: r.deliveryAttempt ?? 0,
        ...(m.orderingKey ? { orderingKey: m.orderingKey } : {}),
        ack: () => this.settle(ackId, this.toAck),
        nack: (delaySeconds = 0) =>
          delaySeconds > 0
            ? this.giveBackAfter(ackId, delaySeconds)
            : this.settle(ackId, this.toNack),
        ackWithResponse: async () => {
          if (!this.held.delete(ackId)) return;
          this.wakePullers();
          await this.call("acknowledge", { ackIds: [ackId] });
        },
      });
    }
    if (!this.pulling) this.scheduleFlush();
  }

  private settle(ackId: string, queue: string[]): void {
    if (!this.held.delete(ackId)) return;
    queue.push(ackId);
    this.wakePullers();
    if (queue.length >= MAX_IDS_PER_CALL) void this.flush();
    else this.scheduleFlush();
  }

  /** Stops leasing the message and lets it come back once `seconds` have passed. */
  private giveBackAfter(ackId: string, seconds: number): void {
    if (!this.held.delete(ackId)) return;
    this.wakePullers();
    void this.modifyDeadline([ackId], Math.min(seconds, MAX_ACK_DEADLINE_SECONDS)).catch(
      (err: Error) => this.options.onError(err),
    );
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => void this.flush(), FLUSH_EVERY_MS);
  }

  /** Sends the queued acks and nacks. A failed ack is not retried: the message comes back, and its processed record makes that a no-op. */
  private async flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const acks = this.toAck.splice(0);
    const nacks = this.toNack.splice(0);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < acks.length; i += MAX_IDS_PER_CALL)
      calls.push(this.call("acknowledge", { ackIds: acks.slice(i, i + MAX_IDS_PER_CALL) }));
    for (let i = 0; i < nacks.length; i += MAX_IDS_PER_CALL)
      calls.push(this.modifyDeadline(nacks.slice(i, i + MAX_IDS_PER_CALL), 0));
    const failed = (await Promise.allSettled(calls)).find(
      (r): r is PromiseRejectedResult => r.status === "rejected",
    );
    if (failed !== undefined) this.options.onError(failed.reason as Error);
  }

  /** Renews the lease of every held message that may still be extended; the others run out and come back. */
  private async renewLeases(): Promise<void> {
    const oldest = Date.now() - this.options.maxExtensionSeconds * 1000;
    const ackIds = [...this.held.values()]
      .filter((h) => h.receivedAt >= oldest)
      .map((h) => h.ackId);
    for (let i = 0; i < ackIds.length; i += MAX_IDS_PER_CALL) {
      await this.modifyDeadline(
        ackIds.slice(i, i + MAX_IDS_PER_CALL),
        this.options.leaseSeconds,
      ).catch((err: Error) => this.options.onError(err));
    }
  }

  private modifyDeadline(ackIds: string[], seconds: number): Promise<unknown> {
    return this.call("modifyAckDeadline", { ackIds, ackDeadlineSeconds: seconds });
  }

  private async pull(maxMessages: number): Promise<ReceivedMessage[]> {
    const response = (await this.call(
      "pull",
      { maxMessages },
      { timeout: PULL_WAIT_MS, retry: null },
    )) as protos.google.pubsub.v1.IPullResponse | undefined;
    return response?.receivedMessages ?? [];
  }

  /** One call through the PubSub object's own subscriber client, which it closes with itself. */
  private call(
    method: "pull" | "acknowledge" | "modifyAckDeadline",
    request: object,
    gaxOpts: object = {},
  ): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.options.pubsub.request<unknown>(
        {
          client: "SubscriberClient",
          method,
          reqOpts: { subscription: this.path, ...request },
          gaxOpts,
        },
        (err, response) => (err ? reject(err) : resolve(response)),
      ),
    );
  }
}
