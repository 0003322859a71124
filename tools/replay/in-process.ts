/**
 * Replaying stored events through handlers in this process, against an isolated database
 * (isolation.ts): each selected event, in the store's order, goes through the same delivery
 * pipeline a host runs (filter, decode, apply once in a transaction), as the consumers that run
 * the named handlers, and nothing leaves the process: the events the handlers publish are
 * captured, never sent to a topic, and adapters only record.
 *
 * With `chain`, the captured events go on to the consumers downstream (consumers.ts), each
 * straight after its cause, so a chain such as creative.submitted → creative-analyzer →
 * creative.analyzed → fatigue-detector is reproduced; the stored copies of what the chain
 * reproduces are then not read as well.
 *
 * Derived events get their ids from the consumer and the cause (handlers/runtime/idempotency.ts),
 * so a replay reproduces the ids live gave them. Their time is the one moment a handler reads
 * from the clock, so a reproduced event takes the time the stored event with its id has: the
 * time live gave it. One live never published (an alternative strategy's) takes its cause's
 * time, the moment the replayed world was at.
 */
import { randomUUID } from "node:crypto";
import type { Firestore, Timestamp } from "@google-cloud/firestore";
import { eventTypesFor } from "../../handlers/declared";
import {
  EventCodec,
  optionsOf,
  type DecodedEvent,
  type IncomingMessage,
  type OutgoingMessage,
} from "../../handlers/runtime/codec";
import { DEAD_LETTER_ATTRIBUTES } from "../../handlers/runtime/dead-letter";
import { DeliveryProcessor } from "../../handlers/runtime/delivery";
import { rfc3339FromTimestamp } from "../../handlers/runtime/timestamps";
import { EVENTS_COLLECTION } from "../../handlers/runtime/event-store";
import type { HandlerRegistry } from "../../handlers/runtime/handler";
import { eventKey } from "../../handlers/runtime/idempotency";
import { createLogger } from "../../handlers/runtime/logger";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import type { Outcome } from "../../handlers/runtime/outcome";
import type { MessagePublisher } from "../../handlers/runtime/publisher";
import { OutsideCalls } from "../../handlers/runtime/resilience";
import { registry as liveRegistry } from "../../handlers/registry";
import { replayConsumers, reproducedTypes, type ReplayConsumer } from "./consumers";
import { prepareTarget } from "./isolation";
import { countEvents, readEvents, type EventSelection, type StreamPosition } from "./selection";

/** Pause before delivering a failed event again, per attempt so far, in milliseconds. */
const RETRY_PAUSE_MS = 100;

export interface InProcessReplayOptions {
  /** The database whose event store (`events/`) is read. */
  source: Firestore;
  /** The isolated database the handlers write into; never the source or the live database. */
  target: Firestore;
  /** Handlers (each standing for the consumers that run it) or consumers to replay through. */
  handlers: readonly string[];
  /** Which stored events. Default: every one of a type the replayed handlers accept (and so when it names no types). */
  selection?: EventSelection;
  /** Feed the events the handlers publish to the consumers downstream, recursively. Default false. */
  chain?: boolean;
  /** Handler implementations by name. Default: handlers/registry.ts; a backtest passes variants. */
  registry?: HandlerRegistry;
  /** The stack whose declaration applies. Default `"local"`. */
  stack?: string;
  /** Empty the target first. Default true; a rebuild that restored a snapshot into it passes false. */
  clearTarget?: boolean;
  /** Stored events per request. Default: selection.ts's. */
  pageSize?: number;
  /** Called as stored events are read: how many so far, of about how many. Default: none. */
  onProgress?: (read: number, total: number) => void;
}

/** A delivery the handler gave up on: dead-lettered in a live run. */
export interface ReplayFailure {
  consumer: string;
  eventId: string;
  type: string;
  reason: string;
  error: string;
}

export interface InProcessReplayResult {
  /** Stored events read, including those the selection's other criteria left out. */
  read: number;
  /** Stored events delivered to the replayed consumers. */
  replayed: number;
  /** Stored events not delivered because the chain reproduces them. */
  reproduced: number;
  /** Deliveries to consumers by outcome: handled, duplicate, filtered, not-accepted, dead-lettered. */
  outcomes: Record<string, number>;
  /** What the handlers published, in order: captured, never sent. */
  published: DecodedEvent[];
  failures: ReplayFailure[];
  /** Stored events that no longer decode, with why. */
  undecodable: { id: string; problem: string }[];
  /** The last stored event read: what a snapshot taken now covers. Undefined when none was. */
  last?: StreamPosition;
}

/** Keeps what the runtime publishes instead of sending it. */
class CapturingPublisher implements MessagePublisher {
  private messages: OutgoingMessage[] = [];
  async publish(messages: readonly OutgoingMessage[]): Promise<string[]> {
    this.messages.push(...messages);
    return messages.map(() => randomUUID());
  }
  async flush(): Promise<void> {}
  take(): OutgoingMessage[] {
    const taken = this.messages;
    this.messages = [];
    return taken;
  }
}

/** The Pub/Sub message a decoded event travels as. */
function messageOf(codec: EventCodec, event: DecodedEvent): IncomingMessage {
  return codec.encode(event.type, event.data, optionsOf(event.meta));
}

class InProcessReplay {
  private readonly codec: EventCodec;
  private readonly publisher = new CapturingPublisher();
  private readonly processors = new Map<string, DeliveryProcessor>();
  readonly result: InProcessReplayResult = {
    read: 0,
    replayed: 0,
    reproduced: 0,
    outcomes: {},
    published: [],
    failures: [],
    undecodable: [],
  };

  constructor(
    private readonly options: InProcessReplayOptions,
    private readonly members: readonly ReplayConsumer[],
    stack: string,
  ) {
    const eventTypes = eventTypesFor(stack);
    this.codec = new EventCodec(eventTypes);
    const logger = createLogger({ level: "silent" });
    const metrics = new RuntimeMetrics();
    const outsideCalls = new OutsideCalls(logger);
    // Replay delivers one event at a time, in order: a commit group would only wait for company.
    for (const { consumer, handler } of members) {
      this.processors.set(
        consumer.name,
        new DeliveryProcessor({
          consumer,
          handler,
          eventTypes,
          firestore: options.target,
          publisher: this.publisher,
          metrics,
          logger,
          outsideCalls,
          groupCommitsAfter: false,
        }),
      );
    }
  }

  /** Delivers an event to every member on its topic, then (chained) what each published. */
  async deliver(event: DecodedEvent): Promise<void> {
    const message = messageOf(this.codec, event);
    for (const { consumer } of this.members) {
      if (consumer.topic !== event.topic) continue;
      const outcome = await this.run(consumer.name, consumer.maxDeliveryAttempts, message);
      this.result.outcomes[outcome.result] = (this.result.outcomes[outcome.result] ?? 0) + 1;
      const captured = this.publisher.take();
      const failures = captured.filter((m) => m.topic === consumer.deadLetterTopic);
      for (const letter of failures) {
        const a = letter.attributes;
        this.result.failures.push({
          consumer: consumer.name,
          eventId: event.meta.id,
          type: event.type,
          reason: a[DEAD_LETTER_ATTRIBUTES.reason] ?? "",
          error: a[DEAD_LETTER_ATTRIBUTES.error] ?? "",
        });
      }
      const derived = await this.withLiveTimes(
        captured
          .filter((m) => m.topic !== consumer.deadLetterTopic)
          .map((m) => this.codec.decode(m, m.topic)),
        event.meta.time,
      );
      this.result.published.push(...derived);
      if (this.options.chain === true) for (const next of derived) await this.deliver(next);
    }
  }

  /** One delivery, delivered again after a retryable failure as Pub/Sub would, up to the consumer's attempts. */
  private async run(
    consumer: string,
    maxAttempts: number,
    message: IncomingMessage,
  ): Promise<Outcome> {
    const processor = this.processors.get(consumer)!;
    for (let attempt = 1; ; attempt++) {
      const outcome = await processor.process({
        messageId: `replay-${message.attributes["ce-id"]}`,
        data: message.data,
        attributes: message.attributes,
        deliveryAttempt: attempt,
      });
      // On the last attempt the runtime dead-letters (into the capture), so only a failing capture could loop.
      if (outcome.action === "ack" || attempt >= maxAttempts) return outcome;
      await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS * attempt));
    }
  }

  /** Gives each reproduced event the time live gave it, or its cause's time when live never published it. */
  private async withLiveTimes(events: DecodedEvent[], causeTime: string): Promise<DecodedEvent[]> {
    if (events.length === 0) return events;
    const { source } = this.options;
    const stored = await source.getAll(
      ...events.map((e) => source.collection(EVENTS_COLLECTION).doc(eventKey(e.meta))),
      { fieldMask: ["time"] },
    );
    return events.map((event, i) => {
      const time = stored[i]?.get("time") as Timestamp | undefined;
      const live =
        time === undefined
          ? causeTime
          : rfc3339FromTimestamp({ seconds: time.seconds, nanos: time.nanoseconds });
      return { ...event, meta: { ...event.meta, time: live } };
    });
  }
}

/**
 * Replays the selected stored events through the named handlers into `target`.
 * @throws ReplayError for a target that is not isolated, or a name that is not a handler.
 */
export async function replayInProcess(
  options: InProcessReplayOptions,
): Promise<InProcessReplayResult> {
  const stack = options.stack ?? "local";
  const eventTypes = eventTypesFor(stack);
  const members = replayConsumers(
    eventTypes,
    options.registry ?? liveRegistry,
    options.handlers,
    options.chain === true,
  );
  const reproduced = options.chain === true ? reproducedTypes(members) : new Set<string>();
  await prepareTarget(options.source, options.target, { clear: options.clearTarget ?? true });
  const replay = new InProcessReplay(options, members, stack);
  const { result } = replay;
  // Only what some member accepts is worth reading; each type is one query on the (type, time) index.
  const accepted = [...new Set(members.flatMap((m) => m.handler.accepts))];
  const selection: EventSelection = {
    ...options.selection,
    types: options.selection?.types?.length ? options.selection.types : accepted,
  };
  const total = options.onProgress === undefined ? 0 : await countEvents(options.source, selection);
  const onRead = (read: number): void => {
    result.read = read;
    options.onProgress?.(read, Math.max(total, read));
  };
  for await (const read of readEvents(options.source, eventTypes, selection, {
    onRead,
    ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
  })) {
    result.last = read.position;
    if ("problem" in read) {
      result.undecodable.push({ id: read.id, problem: read.problem });
    } else if (reproduced.has(read.event.type)) {
      result.reproduced++;
    } else {
      result.replayed++;
      await replay.deliver(read.event);
    }
  }
  return result;
}
