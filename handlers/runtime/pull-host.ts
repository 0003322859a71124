/**
 * The pull host (GKE): one subscriber per process, feeding the delivery pipeline and acking or
 * nacking by its outcome.
 *
 * Transport: against Pub/Sub, the client's streaming pull. Against the emulator, unary pulls
 * (`unary-pull.ts`) that ask only for free slots: the emulator ignores the stream's flow
 * control and would fill the process's memory with the backlog.
 *
 * Subscriber settings:
 * - flow control: at most `maxMessages` (the consumer's `gke.maxMessages`) in flight, excess
 *   messages held rather than dispatched (`allowExcessMessages: false`);
 * - `minAckDeadline` 60 s: with client flow control and the default 10 s, messages waiting
 *   behind the limit can expire and come back as redeliveries (bench/README.md, "What the
 *   emulators do");
 * - `maxAckDeadline` 60 s too, so every lease is 60 s, renewed while the message is held: left
 *   to the client, the lease follows the 99th percentile of ack times up to 600 s, and a
 *   worker killed while holding a backlog (SIGKILL, OOM, a lost node) strands it for up to
 *   ten minutes (bench/README.md, "What the emulators do");
 * - `maxExtensionTime` just over the handler's time limit (the declared ack deadline): leases
 *   are extended as long as a handler may legitimately run, and no longer.
 *
 * Ordered consumers: the client delivers a key's messages in order but does not wait for one
 * to finish before dispatching the next, so the host runs each key's messages one at a time;
 * after a nack, the key's later messages are nacked too, since Pub/Sub redelivers them after
 * the failed one.
 *
 * Shutdown (SIGTERM, via main.ts): stop taking messages (unary pulls stop; a stream's later
 * dispatches are nacked at once),
 * let in-flight work finish for up to {@link DRAIN_TIMEOUT_SECONDS}, then close the
 * subscriber, which nacks whatever is left and flushes acks. Nothing is lost either way: an
 * unfinished message is redelivered, and the processed record makes its second run a no-op.
 */
import { Duration, type Message, type PubSub } from "@google-cloud/pubsub";
import type { Logger } from "pino";
import type { DeliveryProcessor } from "./delivery";
import { DRAIN_TIMEOUT_SECONDS } from "../../infra/model/defaults";
import type { PullTransport } from "./config";
import { redeliveryDelaySeconds, type Outcome } from "./outcome";
import { UnaryPullSource, type PulledMessage } from "./unary-pull";

/** The subscriber's lease on a message, renewed while it is held, in seconds (see the file comment). */
export const LEASE_SECONDS = 60;

/** Lease kept past the handler's time limit, in seconds, so its nack or ack arrives under lease. */
const LEASE_MARGIN_SECONDS = 10;

/** Time close() gets to send the final nacks and pending acks, in seconds. */
const CLOSE_TIMEOUT_SECONDS = 5;

export interface PullHostOptions {
  processor: DeliveryProcessor;
  /** The subscription to pull. Default: the consumer's. */
  subscription?: string;
  /**
   * True for the subscription a consumer is leaving, which may be ordered where the consumer no
   * longer is: it is pulled one request at a time (unary-pull.ts). Default false.
   */
  draining?: boolean;
  /** The process's one PubSub client. */
  pubsub: PubSub;
  logger: Logger;
  /** Messages in flight at once. Default: the consumer's `gke.maxMessages` (100 for a push consumer pulled locally). */
  maxMessages?: number;
  /** How long {@link PullHost.stop} waits for in-flight work, in milliseconds. Default {@link DRAIN_TIMEOUT_SECONDS} × 1000. */
  drainTimeoutMs?: number;
  /** Called when the subscriber fails for good (a deleted subscription, lost permissions). Default: none. */
  onFatal?: (error: Error) => void;
  /** How messages are pulled. Default: unary against the emulator, streaming against Pub/Sub (see the file comment). */
  transport?: PullTransport;
  /**
   * Whether a nacked message waits out the subscription's declared backoff before it comes
   * back, as Pub/Sub makes it: the emulator redelivers at once, so the local environment asks
   * for this. Default false (Pub/Sub applies the retry policy itself).
   */
  waitOutBackoff?: boolean;
}

/** What the host needs of a subscriber, whichever the transport. */
interface Subscriber {
  readonly isOpen: boolean;
  /** Takes no more messages (unary pulls only: the stream's later messages are nacked on arrival). */
  stopPulling?(): Promise<void>;
  close(): Promise<void>;
}

const nackAfterFailure: Outcome = {
  action: "nack",
  result: "retry",
  error: new Error("an earlier message with the same ordering key was nacked"),
};

export class PullHost {
  private subscription: Subscriber | undefined;
  private draining = false;
  private stopping: Promise<void> | undefined;
  private readonly work = new Set<Promise<void>>();
  private readonly lanes = new Map<
    string,
    { tail: Promise<Outcome>; failed: boolean; pending: number }
  >();

  constructor(private readonly options: PullHostOptions) {}

  /** True while the subscriber is open and the host is not draining. */
  get ready(): boolean {
    return this.subscription?.isOpen === true && !this.draining;
  }

  /** Opens the pull. */
  start(): void {
    const { processor, pubsub, logger } = this.options;
    const consumer = processor.consumer;
    const name = this.options.subscription ?? consumer.subscription;
    const maxMessages =
      this.options.maxMessages ?? (consumer.delivery === "pull" ? consumer.gke.maxMessages : 100);
    const maxExtensionSeconds = consumer.ackDeadlineSeconds + LEASE_MARGIN_SECONDS;
    const transport = this.options.transport ?? (pubsub.isEmulator ? "unary" : "streaming");
    if (transport === "unary") {
      const source = new UnaryPullSource({
        pubsub,
        subscription: name,
        maxMessages,
        leaseSeconds: LEASE_SECONDS,
        maxExtensionSeconds,
        // One request at a time where a key's order matters; else the source's default.
        ...((consumer.ordering || this.options.draining === true) && { pullsInFlight: 1 }),
        onMessage: (message) => this.receive(message),
        onError: (error) =>
          logger.warn({ err: error, subscription: name }, "pull failed; retrying"),
        onFatal: (error) => {
          logger.error({ err: error, subscription: name }, "pull failed for good");
          if (!this.draining) this.options.onFatal?.(error);
        },
      });
      this.subscription = source;
      source.start();
    } else {
      this.subscription = this.openStream(maxMessages, maxExtensionSeconds);
    }
    logger.info({ subscription: name, maxMessages, transport }, `pulling ${name}`);
  }

  private openStream(maxMessages: number, maxExtensionSeconds: number): Subscriber {
    const { processor, pubsub, logger } = this.options;
    const name = this.options.subscription ?? processor.consumer.subscription;
    const subscription = pubsub.subscription(name, {
      flowControl: { maxMessages, allowExcessMessages: false },
      minAckDeadline: Duration.from({ seconds: LEASE_SECONDS }),
      maxAckDeadline: Duration.from({ seconds: LEASE_SECONDS }),
      maxExtensionTime: Duration.from({ seconds: maxExtensionSeconds }),
      closeOptions: {
        behavior: "NACK",
        timeout: Duration.from({ seconds: CLOSE_TIMEOUT_SECONDS }),
      },
    });
    subscription.on("message", (message: Message) => this.receive(message));
    let lastError: Error | undefined;
    subscription.on("error", (error: Error) => {
      lastError = error;
      logger.error({ err: error, subscription: name }, "streaming pull failed");
    });
    // The client retries what can pass; when it closes by itself, the error was final.
    subscription.on("close", () => {
      if (!this.draining)
        this.options.onFatal?.(lastError ?? new Error(`the subscriber of ${name} closed`));
    });
    return subscription;
  }

  /** Drains and closes (see the file comment). Resolves when the subscriber is closed. */
  stop(): Promise<void> {
    // A second call waits for the first: the launcher's shutdown must not close the clients
    // while a host stopped earlier (the retired subscription's) still finishes its deliveries.
    this.stopping ??= this.drainAndClose();
    return this.stopping;
  }

  private async drainAndClose(): Promise<void> {
    if (this.subscription === undefined) return;
    this.draining = true;
    const { logger } = this.options;
    const drainMs = this.options.drainTimeoutMs ?? DRAIN_TIMEOUT_SECONDS * 1000;
    logger.info({ inFlight: this.work.size, drainMs }, "draining");
    await this.subscription.stopPulling?.();
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.allSettled([...this.work]).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), drainMs))),
    ]);
    clearTimeout(timer);
    const left = this.work.size;
    await this.subscription.close();
    logger.info(
      { drained, nackedInFlight: drained ? 0 : left },
      drained ? "drained; subscriber closed" : "drain bound reached; in-flight messages nacked",
    );
  }

  private receive(message: PulledMessage): void {
    if (this.draining) {
      message.nack();
      return;
    }
    const { processor } = this.options;
    const delivery = {
      messageId: message.id,
      data: message.data,
      attributes: message.attributes,
      // The client reports 0 when the subscription has no dead-letter policy, i.e. no count.
      deliveryAttempt: message.deliveryAttempt > 0 ? message.deliveryAttempt : undefined,
      ...(message.orderingKey ? { orderingKey: message.orderingKey } : {}),
    };
    const run = (): Promise<Outcome> => processor.process(delivery);
    const outcome =
      processor.consumer.ordering && message.orderingKey
        ? this.inOrder(message.orderingKey, run)
        : run();
    const done = outcome.then((o) => this.settle(message, o));
    this.work.add(done);
    void done.finally(() => this.work.delete(done));
  }

  private inOrder(key: string, run: () => Promise<Outcome>): Promise<Outcome> {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = {
        tail: Promise.resolve<Outcome>({ action: "ack", result: "handled" }),
        failed: false,
        pending: 0,
      };
      this.lanes.set(key, lane);
    }
    const current = lane;
    current.pending++;
    current.tail = current.tail
      .then(() => (current.failed || this.draining ? nackAfterFailure : run()))
      .then((outcome) => {
        if (outcome.action === "nack") current.failed = true;
        return outcome;
      })
      .finally(() => {
        if (--current.pending === 0) this.lanes.delete(key);
      });
    return current.tail;
  }

  private async settle(message: PulledMessage, outcome: Outcome): Promise<void> {
    if (outcome.action === "nack") {
      message.nack(
        this.options.waitOutBackoff === true
          ? redeliveryDelaySeconds(
              this.options.processor.consumer.retry,
              message.deliveryAttempt || undefined,
            )
          : 0,
      );
      return;
    }
    if (!this.options.processor.consumer.exactlyOnce) {
      message.ack();
      return;
    }
    // Exactly-once subscriptions confirm acks; a failed one means the message will come back,
    // and its processed record will make that delivery a no-op.
    try {
      await message.ackWithResponse();
    } catch (err) {
      this.options.logger.warn(
        { err, messageId: message.id },
        "ack not confirmed; the message will be redelivered",
      );
    }
  }
}
