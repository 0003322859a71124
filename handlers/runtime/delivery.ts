/**
 * One consumer's delivery pipeline, the same for the push host, the pull host and the test
 * helper: filter → decode → accepted type? → apply once (handler in a transaction, in a commit
 * group once it has shown its runs fit one, or the archiver's append) → publish what the handler
 * staged → outcome (outcome.ts). The hosts only
 * turn an {@link Outcome} into an ack or a nack on their transport. `process` never rejects.
 *
 * Each delivery is one consumer span (`process <consumer>`, tracing.ts), the child of the span
 * that published the message; decoding, the handler's run, its commit, the publishing of what
 * it emitted and any dead letter are recorded inside it, and the outcome, the attempt and the
 * consumer are its attributes.
 */
import type { ReceivedMessage } from "./received-message";
import type { Firestore } from "@google-cloud/firestore";
import type { Logger } from "pino";
import type { ResolvedConsumer } from "../../infra/model/types";
import type { EventTypes, EventType } from "./event-types";
import { EventCodec, type DecodedEvent } from "./codec";
import { createContext, deliveryInfoOf } from "./context";
import { deadLetterMessage, REDRIVE_FOR_ATTRIBUTE } from "./dead-letter";
import { DecodeError, RetryableError } from "./errors";
import type { EventStore } from "./event-store";
import { compileFilter } from "../../infra/model/filter";
import {
  checkImplementation,
  type Handler,
  type HandlerEvent,
  type RegisteredHandler,
} from "./handler";
import {
  CommitGroups,
  CommitPolicy,
  CONFLICT_RETRIES,
  ConflictLanes,
  RUNS_BEFORE_GROUPING,
  type RunReport,
} from "./commit-groups";
import {
  applyCommittedFirst,
  applyOnce,
  applyOnceInGroup,
  markPublished,
  type ApplyOnceResult,
  type HandlerWork,
} from "./idempotency";
import { eventLogger } from "./logger";
import { handlerMetrics, UNKNOWN_TYPE, type RuntimeMetrics } from "./metrics";
import { decideFailure, type Outcome } from "./outcome";
import { OutboxRelay } from "./outbox-relay";
import type { MessagePublisher } from "./publisher";
import type { OutsideCalls } from "./resilience";
import type { DeferredTransaction, RecordedWrite } from "./transaction";
import {
  ATTR,
  MESSAGING_SYSTEM,
  SpanKind,
  SpanStatusCode,
  context,
  contextFromAttributes,
  eventAttributes,
  inSpan,
  recordFailure,
  trace,
  tracer,
  type Span,
} from "./tracing";

/** Seconds a processed record outlives the topic's message retention: Pub/Sub cannot redeliver after that. */
const RECORD_RETENTION_MARGIN_SECONDS = 86_400;

export interface DeliveryProcessorOptions {
  consumer: ResolvedConsumer;
  handler: RegisteredHandler;
  eventTypes: EventTypes;
  firestore: Firestore;
  publisher: MessagePublisher;
  metrics: RuntimeMetrics;
  logger: Logger;
  outsideCalls: OutsideCalls;
  /** Required when the handler is the archiver. */
  eventStore?: EventStore;
  /** For the trace field of log lines. Default: none. */
  projectId?: string;
  /**
   * How long the runtime waits for one handler run before nacking it, in milliseconds.
   * Default: the consumer's ack deadline, the time the declaration gives a handler.
   */
  handlerTimeoutMs?: number;
  /** Called with every handler run's recorded writes (the test helper reports them). Default: none. */
  onWrites?: (writes: readonly RecordedWrite[]) => void;
  /**
   * Handler runs in a row that fit a group after which the consumer's runs are committed in
   * groups instead of one transaction each (commit-groups.ts); `false` keeps transactions.
   * Default {@link RUNS_BEFORE_GROUPING}.
   */
  groupCommitsAfter?: number | false;
  /**
   * Whether this processor's deliveries also run the consumer's outbox relay (outbox-relay.ts):
   * the processes that host a consumer do; a test or a replay that delivers a few events does
   * not. Default false.
   */
  relayOutboxes?: boolean;
  /**
   * The least level of a handler's own lines (`ctx.log`), when it differs from the runtime's:
   * `npm start` shows handlers' info lines while keeping the runtime's at warn. Default: the
   * logger's level.
   */
  handlerLogLevel?: string;
}

/** What the relay leaves a delivery to publish its own outbox, beyond the handler's time limit. */
const OUTBOX_GRACE_MARGIN_MS = 60_000;

export class DeliveryProcessor {
  readonly consumer: ResolvedConsumer;
  private readonly codec: EventCodec;
  private readonly filter: ((attributes: Readonly<Record<string, string>>) => boolean) | undefined;
  private readonly accepts: ReadonlySet<string>;
  private readonly retentionSeconds: number;
  private readonly timeoutMs: number;
  private readonly commitGroups: CommitGroups;
  private readonly commitPolicy: CommitPolicy | undefined;
  private readonly conflictLanes = new ConflictLanes();
  /** The consumer's outbox relay, when this processor runs it. */
  readonly outboxRelay: OutboxRelay | undefined;

  constructor(private readonly options: DeliveryProcessorOptions) {
    const { consumer, handler, eventTypes } = options;
    if (handler.kind === "archiver" && options.eventStore === undefined)
      throw new Error(`consumer ${consumer.name}: the archiver needs an event store`);
    checkImplementation(consumer, handler);
    this.consumer = consumer;
    this.codec = new EventCodec(eventTypes);
    this.filter = consumer.filter === undefined ? undefined : compileFilter(consumer.filter);
    const topic = eventTypes.topic(consumer.topic);
    this.accepts = new Set(
      handler.kind === "handler"
        ? handler.accepts
        : (topic?.events.map((event) => event.type) ?? []),
    );
    this.retentionSeconds =
      (topic?.retentionSeconds ?? 7 * 86_400) + RECORD_RETENTION_MARGIN_SECONDS;
    this.timeoutMs = options.handlerTimeoutMs ?? consumer.ackDeadlineSeconds * 1000;
    this.commitGroups = new CommitGroups(options.firestore, (events) =>
      options.metrics.commitGroupEvents.observe({ consumer: consumer.name }, events),
    );
    const after = options.groupCommitsAfter ?? RUNS_BEFORE_GROUPING;
    this.commitPolicy =
      after === false ? undefined : new CommitPolicy(after, (mode) => this.modeChanged(mode));
    this.outboxRelay =
      options.relayOutboxes === true && handler.kind === "handler"
        ? new OutboxRelay({
            firestore: options.firestore,
            publisher: options.publisher,
            consumer: consumer.name,
            logger: options.logger,
            graceMs: this.timeoutMs + OUTBOX_GRACE_MARGIN_MS,
          })
        : undefined;
  }

  /**
   * True once this consumer's runs are committed in groups (commit-groups.ts) and its handler
   * has shown it reads nothing, so concurrent runs see nothing of each other's. A replay runs
   * events concurrently only then (tools/replay/in-process.ts).
   */
  get readsNothingInGroups(): boolean {
    return this.commitPolicy?.readsNothing === true;
  }

  /** Processes one delivery and says whether to ack or nack it. Never rejects. */
  async process(delivery: ReceivedMessage): Promise<Outcome> {
    const { metrics } = this.options;
    const consumer = this.consumer.name;
    const type = this.typeLabel(delivery.attributes?.["ce-type"]);
    const started = performance.now();
    metrics.received.inc({ consumer, type });
    metrics.inFlight.inc({ consumer });
    const span = this.startSpan(delivery);
    let outcome: Outcome;
    try {
      outcome = await context.with(trace.setSpan(context.active(), span), () =>
        this.runPipeline(delivery, span),
      );
    } catch (err) {
      outcome = await context.with(trace.setSpan(context.active(), span), () =>
        this.runtimeFailed(delivery, err),
      );
    } finally {
      metrics.inFlight.dec({ consumer });
    }
    endSpan(span, outcome);
    metrics.handlerSeconds.observe(
      { consumer, type, outcome: outcome.result },
      (performance.now() - started) / 1000,
    );
    // In the background: a delivery does not wait for other events' outboxes.
    void this.outboxRelay?.sweepIfDue();
    (outcome.action === "ack" ? metrics.acked : metrics.nacked).inc({ consumer, type });
    if (outcome.result === "duplicate") metrics.duplicates.inc({ consumer, type });
    if (
      outcome.result === "filtered" ||
      outcome.result === "not-accepted" ||
      outcome.result === "redriven-for-another"
    )
      metrics.skipped.inc({ consumer, type, reason: outcome.result });
    if (outcome.result === "dead-lettered")
      metrics.deadLettered.inc({ consumer, type, reason: outcome.reason });
    return outcome;
  }

  /** The delivery's consumer span, the child of the span that published the message. */
  private startSpan(delivery: ReceivedMessage): Span {
    const attributes = delivery.attributes ?? {};
    return tracer().startSpan(
      `process ${this.consumer.name}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          [ATTR.messagingSystem]: MESSAGING_SYSTEM,
          [ATTR.destination]: this.consumer.topic,
          [ATTR.subscription]: this.consumer.subscription,
          [ATTR.operationType]: "process",
          [ATTR.operationName]: "process",
          [ATTR.messageId]: delivery.messageId,
          [ATTR.consumer]: this.consumer.name,
          ...(delivery.deliveryAttempt !== undefined && {
            [ATTR.deliveryAttempt]: delivery.deliveryAttempt,
          }),
          ...(delivery.orderingKey !== undefined && { [ATTR.orderingKey]: delivery.orderingKey }),
          ...eventAttributes(attributes),
        },
      },
      contextFromAttributes(attributes),
    );
  }

  /** Filter → decode → accepted type? → apply once → the outcome; throws only on a runtime bug. */
  private async runPipeline(delivery: ReceivedMessage, span: Span): Promise<Outcome> {
    const { logger } = this.options;
    // Pub/Sub applies the filter in the cloud; the emulator does not, so this is the local filter and a cloud safety net.
    if (this.filter !== undefined && !this.filter(delivery.attributes))
      return { action: "ack", result: "filtered" };
    const redrivenFor = delivery.attributes[REDRIVE_FOR_ATTRIBUTE];
    if (redrivenFor !== undefined && redrivenFor !== this.consumer.name)
      return { action: "ack", result: "redriven-for-another" };
    let event: DecodedEvent;
    try {
      event = this.codec.decode(delivery, this.consumer.topic);
    } catch (err) {
      // The codec throws only DecodeError; anything else is its bug, and the message is no
      // more decodable on a redelivery: dead-lettered at once either way, never nacked.
      const decodeError =
        err instanceof DecodeError
          ? err
          : new DecodeError("decode-failed", `the codec failed unforeseen: ${String(err)}`);
      // A type this code does not declare may come from a producer already on a newer
      // declaration of the topic, whose update of this consumer may handle it: given back until
      // the subscription's last attempt (the rollout's time), then dead-lettered as the rest.
      if (
        decodeError.decodeReason === "unknown-type" &&
        (delivery.deliveryAttempt ?? 1) < this.consumer.maxDeliveryAttempts
      ) {
        logger.warn(
          { messageId: delivery.messageId, deliveryAttempt: delivery.deliveryAttempt ?? null },
          `${decodeError.message}; nacked in case an update of ${this.consumer.name} declares it, dead-lettered on the last attempt`,
        );
        return { action: "nack", result: "retry", error: decodeError };
      }
      return this.deadLetter(
        delivery,
        decodeError.decodeReason,
        `${decodeError.name}: ${decodeError.message}`,
        logger.child({ messageId: delivery.messageId }),
        err,
      );
    }
    span.addEvent("decoded");
    const log = eventLogger(
      logger,
      event.meta,
      this.options.projectId,
      { messageId: delivery.messageId, deliveryAttempt: delivery.deliveryAttempt ?? null },
      span.spanContext(),
    );
    if (!this.accepts.has(event.type)) {
      log.debug("event type not accepted by the handler; acked unhandled");
      return { action: "ack", result: "not-accepted" };
    }
    try {
      const result = await this.apply(event, delivery, log);
      log.debug(
        { result },
        result === "handled"
          ? "event handled"
          : "event already processed; acked without running the handler",
      );
      return { action: "ack", result };
    } catch (err) {
      const decision = decideFailure(
        err,
        delivery.deliveryAttempt,
        this.consumer.maxDeliveryAttempts,
      );
      if (decision.action === "dead-letter")
        return this.deadLetter(delivery, decision.reason, decision.error, log, err);
      log.warn({ err }, "handler failed; nacked for redelivery");
      return { action: "nack", result: "retry", error: err };
    }
  }

  private async apply(
    event: DecodedEvent,
    delivery: ReceivedMessage,
    log: Logger,
  ): Promise<"handled" | "duplicate"> {
    const { handler } = this.options;
    if (handler.kind === "archiver")
      return inSpan(
        "firestore append",
        {
          kind: SpanKind.CLIENT,
          attributes: { [ATTR.dbSystem]: "gcp.firestore", [ATTR.dbOperation]: "create" },
        },
        async () =>
          (await this.options.eventStore!.append(event)) === "appended" ? "handled" : "duplicate",
      );
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        abort.abort();
        reject(new RetryableError(`the handler did not finish within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    const run = this.runOnce(handler, event, delivery, log, abort.signal);
    let result: ApplyOnceResult;
    try {
      result = await Promise.race([run, deadline]);
    } catch (err) {
      if (timedOut) this.publishIfCommittedLate(run, log);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    await this.publishOutbox(result, delivery, log);
    return result.status === "applied" ? "handled" : "duplicate";
  }

  /**
   * Publishes the events a committed run staged, and clears them from its record. When that
   * fails before the last attempt, the redelivery publishes them (it finds the record); on the
   * last there is none, so the event counts as handled, its writes being committed, and the
   * outbox relay publishes them.
   */
  private async publishOutbox(
    result: ApplyOnceResult,
    delivery: ReceivedMessage,
    log: Logger,
  ): Promise<void> {
    if (result.outbox.length === 0) return;
    try {
      await this.options.publisher.publish(result.outbox);
      await markPublished(result.record);
    } catch (err) {
      const last =
        delivery.deliveryAttempt !== undefined &&
        delivery.deliveryAttempt >= this.consumer.maxDeliveryAttempts;
      if (!last) throw err;
      log.warn(
        { err, events: result.outbox.length },
        "the event is applied but its derived events are not published yet; the outbox relay publishes them",
      );
    }
  }

  /**
   * A run past its time limit may still commit: its writes then stand, and its derived events
   * are published when it does, whatever became of the delivery.
   */
  private publishIfCommittedLate(run: Promise<ApplyOnceResult>, log: Logger): void {
    run
      .then(
        async (late) => {
          if (late.status !== "applied" || late.outbox.length === 0) return;
          await this.options.publisher.publish(late.outbox);
          await markPublished(late.record);
          log.info(
            { events: late.outbox.length },
            "a run past its time limit committed; its derived events are published",
          );
        },
        () => {
          // The run failed after its time limit: nothing was committed, nothing to publish.
        },
      )
      .catch((err: unknown) =>
        log.warn({ err }, "publishing a late run's derived events failed; the outbox relay will"),
      );
  }

  /** Applies the handler once: in a commit group when the policy says so, else (or when the run read) in a transaction. */
  private async runOnce(
    handler: Handler,
    event: DecodedEvent,
    delivery: ReceivedMessage,
    log: Logger,
    signal: AbortSignal,
  ): Promise<ApplyOnceResult> {
    const { firestore } = this.options;
    const options = {
      consumer: this.consumer.name,
      event: event.meta,
      eventType: event.type,
      retentionSeconds: this.retentionSeconds,
    };
    const turn = await this.commitPolicy?.begin();
    // A run past its time limit no longer holds up the policy's decision.
    signal.addEventListener("abort", () => turn?.end(undefined), { once: true });
    let report: RunReport | undefined;
    let committedFirst: boolean | undefined;
    const work = this.handlerWork(
      handler,
      event,
      delivery,
      log,
      signal,
      (transaction) =>
        (report = {
          reads: transaction.reads,
          fitsGroup: transaction.fitsGroup,
          outsideCalls: transaction.outsideCalls,
        }),
    );
    try {
      if (turn?.grouped === true) {
        const inGroup = () => applyOnceInGroup(firestore, this.commitGroups, options, work);
        let result = turn.commitFirst
          ? await applyCommittedFirst(firestore, this.commitGroups, options, work)
          : await inGroup();
        if (result.status === "needs-lookup") {
          committedFirst = false;
          result = await inGroup();
        } else if (turn.commitFirst) committedFirst = true;
        for (let retry = 1; result.status === "conflict" && retry <= CONFLICT_RETRIES; retry++)
          result = await this.conflictLanes.after(result.paths, inGroup);
        if (result.status === "applied" || result.status === "duplicate") return result;
        log.debug(
          { reason: result.status },
          "the run read what its group cannot check, or was overtaken on every retry; running it again in a transaction",
        );
      }
      return await applyOnce(firestore, options, work);
    } finally {
      turn?.end(report === undefined ? undefined : { ...report, committedFirst });
    }
  }

  private handlerWork(
    handler: Handler,
    event: DecodedEvent,
    delivery: ReceivedMessage,
    log: Logger,
    signal: AbortSignal,
    onRun: (transaction: DeferredTransaction) => void,
  ): HandlerWork {
    const { firestore, metrics, outsideCalls, onWrites } = this.options;
    const info = deliveryInfoOf(
      event,
      this.consumer.name,
      delivery.messageId,
      delivery.deliveryAttempt,
    );
    return async (transaction) => {
      const { ctx, staged } = createContext(event, {
        consumer: this.consumer,
        handler,
        codec: this.codec,
        firestore,
        transaction,
        log:
          this.options.handlerLogLevel === undefined
            ? log
            : log.child({}, { level: this.options.handlerLogLevel }),
        metrics: handlerMetrics(metrics, this.consumer.name),
        outsideCalls,
        beforeOutsideCall: () => transaction.beforeOutsideCall(),
        delivery: info,
        signal,
      });
      try {
        await inSpan(`handle ${handler.name}`, {}, () =>
          Promise.resolve(handler.handle(event as HandlerEvent<EventType>, ctx)),
        );
      } finally {
        onRun(transaction);
      }
      onWrites?.(transaction.writes);
      return staged;
    };
  }

  private modeChanged(mode: "grouping" | "transactions"): void {
    const { logger } = this.options;
    if (mode === "grouping")
      logger.info(
        { runs: this.commitPolicy?.runsBeforeGrouping },
        "every run of the handler could be committed in a batch; committing its runs in groups",
      );
    else
      logger.info(
        "a run of the handler read what a batch cannot check (a query, a document it did not write); each run has its own transaction from now on",
      );
  }

  private async deadLetter(
    delivery: ReceivedMessage,
    reason: string,
    error: string,
    log: Logger,
    cause: unknown,
  ): Promise<Outcome> {
    try {
      await this.options.publisher.publish([
        deadLetterMessage(this.consumer, delivery, reason, error),
      ]);
    } catch (publishError) {
      log.error(
        { err: publishError, reason },
        `could not publish to dead-letter topic ${this.consumer.deadLetterTopic}; nacked`,
      );
      return { action: "nack", result: "retry", error: publishError };
    }
    const span = trace.getActiveSpan();
    if (span !== undefined) recordFailure(span, cause, `dead-lettered: ${reason}: ${error}`);
    log.error(
      {
        err: cause,
        reason,
        deliveryAttempt: delivery.deliveryAttempt ?? null,
        deadLetterTopic: this.consumer.deadLetterTopic,
      },
      `dead-lettered: ${reason}`,
    );
    return { action: "ack", result: "dead-lettered", reason, error };
  }

  /**
   * The outcome when the pipeline itself threw (a runtime bug): nacked, since a redelivery may
   * pass; on the subscription's last attempt dead-lettered instead, so nothing loops forever.
   */
  private async runtimeFailed(delivery: ReceivedMessage, err: unknown): Promise<Outcome> {
    const log = this.options.logger.child({ messageId: delivery.messageId });
    try {
      const decision = decideFailure(
        err,
        delivery.deliveryAttempt,
        this.consumer.maxDeliveryAttempts,
      );
      if (decision.action === "dead-letter")
        return await this.deadLetter(delivery, decision.reason, decision.error, log, err);
    } catch (deadLetterError) {
      log.error({ err: deadLetterError }, "could not dead-letter after a runtime failure");
    }
    log.error({ err }, "the runtime failed to process a message; nacked");
    return { action: "nack", result: "retry", error: err };
  }

  /** The type label of a message: its declared type, or "unknown" (never an arbitrary string, which would explode label cardinality). */
  private typeLabel(type: string | undefined): string {
    return type !== undefined && this.options.eventTypes.find(type) !== undefined
      ? type
      : UNKNOWN_TYPE;
  }
}

/** Ends a delivery's span with its outcome: what the host does (ack or nack), and why. */
function endSpan(span: Span, outcome: Outcome): void {
  span.setAttribute(ATTR.outcome, outcome.result);
  span.setAttribute(ATTR.action, outcome.action);
  if (outcome.result === "dead-lettered") {
    span.setAttribute(ATTR.deadLetterReason, outcome.reason);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `dead-lettered: ${outcome.reason}` });
  } else if (outcome.action === "nack") recordFailure(span, outcome.error, "nacked for redelivery");
  span.addEvent(outcome.action);
  span.end();
}
