/**
 * Replaying stored events through handlers in this process, against an isolated database
 * (isolation.ts): each selected event goes through the same delivery pipeline a host runs
 * (filter, decode, apply once: in a transaction, or in a commit group once the handler has shown
 * its runs fit one), as the consumers that run the named handlers, and nothing leaves the
 * process: the events the handlers publish are captured, never sent to a topic, and adapters
 * only record.
 *
 * It streams: the store is read a page at a time and at most a window of events is between
 * read and applied, so memory does not grow with the period. Once every consumer commits in
 * groups and reads nothing, events of different flows run side by side (lanes.ts), each flow's in the store's
 * order, so their runs share lookups and commits; until then, and for handlers that read, one
 * event at a time in the store's order. As events are applied, a checkpoint in the target says
 * how far (applied-prefix.ts, checkpoint.ts): a stopped replay resumes from it.
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
import { AsyncLocalStorage } from "node:async_hooks";
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
import { GROUPS_IN_FLIGHT, MAX_GROUP_EVENTS } from "../../handlers/runtime/commit-groups";
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
import { AppliedPrefix } from "./applied-prefix";
import {
  checkpointToResume,
  requestKey,
  writeCheckpoint,
  type ReplayRequest,
  type ReplayTally,
} from "./checkpoint";

export type { ReplayFailure } from "./checkpoint";
import { replayConsumers, reproducedTypes, type ReplayConsumer } from "./consumers";
import { prepareTarget } from "./isolation";
import { Lanes } from "./lanes";
import {
  countEvents,
  DEFAULT_PAGE_SIZE,
  readEvents,
  type EventSelection,
  type StreamPosition,
} from "./selection";

/** Pause before delivering a failed event again, per attempt so far, in milliseconds. */
const RETRY_PAUSE_MS = 100;

/**
 * Events in flight at once when they run concurrently: enough to fill every commit group the
 * runtime keeps in flight (GROUPS_IN_FLIGHT of MAX_GROUP_EVENTS each), and as many again
 * gathering for the next ones while those are out.
 */
export const DEFAULT_EVENTS_IN_FLIGHT = 2 * GROUPS_IN_FLIGHT * MAX_GROUP_EVENTS;

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
  /**
   * Continue from the checkpoint an interrupted replay of the same request left in the target
   * (checkpoint.ts) instead of starting again; the target is then not emptied. Default false.
   */
  resume?: boolean;
  /** Stored events per request. Default: selection.ts's. */
  pageSize?: number;
  /** Events queued or running at once. Default {@link DEFAULT_EVENTS_IN_FLIGHT}. */
  eventsInFlight?: number;
  /**
   * Stops the replay: no further event is started, those in flight finish, the checkpoint is
   * written, and the result says `interrupted`. Default: none.
   */
  signal?: AbortSignal;
  /** Called as stored events are applied: how many read so far, of about how many. Default: none. */
  onProgress?: (read: number, total: number) => void;
  /**
   * Told each event the handlers publish, as they publish it (captured, never sent). The result
   * counts them by type only, so that a long replay does not hold them all. Default: none.
   */
  onPublished?: (event: DecodedEvent) => void;
}

export interface InProcessReplayResult extends ReplayTally {
  /** The last stored event applied, with every one before it: what a snapshot taken now covers. Undefined when none was. */
  last?: StreamPosition;
  /** Where a resumed replay started: after the checkpoint's position, with so many stored events read before. */
  resumedFrom?: { after: StreamPosition; read: number };
  /** True when the signal stopped the replay before the end; the checkpoint says where. */
  interrupted: boolean;
}

/**
 * Keeps what the runtime publishes instead of sending it, for the delivery in whose call it was
 * published: deliveries run concurrently, so each captures into its own list (async context).
 */
class CapturingPublisher implements MessagePublisher {
  private readonly captures = new AsyncLocalStorage<OutgoingMessage[]>();

  async publish(messages: readonly OutgoingMessage[]): Promise<string[]> {
    const capture = this.captures.getStore();
    if (capture === undefined) throw new Error("a replayed handler published outside a delivery");
    capture.push(...messages);
    return messages.map(() => randomUUID());
  }

  async flush(): Promise<void> {}

  /** Runs `work`, and returns with its result what it published. */
  async capture<T>(work: () => Promise<T>): Promise<{ result: T; captured: OutgoingMessage[] }> {
    const captured: OutgoingMessage[] = [];
    const result = await this.captures.run(captured, work);
    return { result, captured };
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
    // Each consumer's runs start in transactions and go to commit groups once its handler has
    // shown its runs fit a group, as on a host (commit-groups.ts, CommitPolicy).
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
        }),
      );
    }
  }

  /**
   * Whether events may run concurrently (in lanes, lanes.ts): once every replayed consumer
   * commits in groups, its handler reading nothing, so events of different flows cannot see
   * each other's effects and their order across flows changes nothing. A handler that reads
   * gets its events one at a time in the store's order (each run grouped alone when it fits a
   * group, else a transaction): what it reads depends on that order.
   */
  get concurrent(): boolean {
    return [...this.processors.values()].every((processor) => processor.readsNothingInGroups);
  }

  /** Delivers an event to every member on its topic, then (chained) what each published. */
  async deliver(event: DecodedEvent, tally: ReplayTally): Promise<void> {
    const message = messageOf(this.codec, event);
    for (const { consumer } of this.members) {
      if (consumer.topic !== event.topic) continue;
      const { result: outcome, captured } = await this.publisher.capture(() =>
        this.run(consumer.name, consumer.maxDeliveryAttempts, message),
      );
      tally.outcomes[outcome.result] = (tally.outcomes[outcome.result] ?? 0) + 1;
      for (const letter of captured.filter((m) => m.topic === consumer.deadLetterTopic)) {
        const a = letter.attributes;
        tally.failures.push({
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
      for (const next of derived) {
        tally.publishedByType[next.type] = (tally.publishedByType[next.type] ?? 0) + 1;
        this.options.onPublished?.(next);
      }
      if (this.options.chain === true) for (const next of derived) await this.deliver(next, tally);
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
 * Replays the selected stored events through the named handlers into `target`: a page of the
 * store at a time, with at most `eventsInFlight` events between reading and applied, in lanes
 * per correlation id once every consumer commits in groups (see InProcessReplay.concurrent), and
 * a checkpoint in the target as each page's worth is applied (checkpoint.ts).
 * @throws ReplayError for a target that is not isolated, a name that is not a handler, or
 *   (resuming) a target without a checkpoint of the same request.
 */
export async function replayInProcess(
  options: InProcessReplayOptions,
): Promise<InProcessReplayResult> {
  const stack = options.stack ?? "local";
  const eventTypes = eventTypesFor(stack);
  const chain = options.chain === true;
  const members = replayConsumers(
    eventTypes,
    options.registry ?? liveRegistry,
    options.handlers,
    chain,
  );
  const reproduced = chain ? reproducedTypes(members) : new Set<string>();
  // Only what some member accepts is worth reading; each type is one query on the (type, time) index.
  const accepted = [...new Set(members.flatMap((m) => m.handler.accepts))];
  const selection: EventSelection = {
    ...options.selection,
    types: options.selection?.types?.length ? options.selection.types : accepted,
  };
  const request: ReplayRequest = { handlers: options.handlers, chain, stack, selection };
  const resumed =
    options.resume === true ? await checkpointToResume(options.target, request) : undefined;
  await prepareTarget(options.source, options.target, {
    clear: resumed === undefined && (options.clearTarget ?? true),
  });
  const total = options.onProgress === undefined ? 0 : await countEvents(options.source, selection);
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const inFlight = options.eventsInFlight ?? DEFAULT_EVENTS_IN_FLIGHT;

  let checkpointed = resumed?.tally.read ?? 0;
  let writing: Promise<void> = Promise.resolve();
  let writeFailure: { error: unknown } | undefined;
  /** Writes the prefix as the checkpoint; awaited, throws the first write that failed. */
  const checkpoint = async (complete: boolean): Promise<void> => {
    checkpointed = prefix.tally.read;
    // Copied now: the prefix goes on growing while earlier writes are out.
    const state = structuredClone({
      request: requestKey(request),
      ...(prefix.position !== undefined && { position: prefix.position }),
      tally: prefix.tally,
      complete,
      writtenAt: new Date().toISOString(),
    });
    // One write at a time, in order, so an older checkpoint never lands after a newer one; a
    // failed one is kept to throw, not left an unhandled rejection.
    writing = writing
      .then(() => writeCheckpoint(options.target, state))
      .catch((error: unknown) => {
        writeFailure ??= { error };
      });
    await writing;
    if (writeFailure !== undefined) throw writeFailure.error;
  };
  const prefix = new AppliedPrefix(
    // Events held past the prefix (applied out of order): a few windows' worth at most.
    4 * inFlight,
    { ...(resumed !== undefined && { tally: resumed.tally, position: resumed.position }) },
    () => {
      options.onProgress?.(prefix.tally.read, Math.max(total, prefix.tally.read));
      // Not awaited: the replay goes on; the next checkpoint awaited throws if this one failed.
      if (prefix.tally.read - checkpointed >= pageSize) checkpoint(false).catch(() => undefined);
    },
  );

  const replay = new InProcessReplay(options, members, stack);
  const lanes = new Lanes(inFlight);
  const readFrom: EventSelection =
    resumed?.position === undefined ? selection : { ...selection, after: resumed.position };
  const readBefore = resumed?.tally.read ?? 0;
  let read = readBefore;
  let interrupted = false;
  try {
    for await (const item of readEvents(options.source, eventTypes, readFrom, {
      onRead: (n) => (read = readBefore + n),
      pageSize,
    })) {
      await prefix.room();
      const { tally, applied } = prefix.next(item.position, read);
      if ("problem" in item) {
        tally.undecodable.push({ id: item.id, problem: item.problem });
        applied();
      } else if (reproduced.has(item.event.type)) {
        tally.reproduced++;
        applied();
      } else {
        tally.replayed++;
        const deliver = async (): Promise<void> => {
          await replay.deliver(item.event, tally);
          applied();
        };
        if (replay.concurrent) await lanes.add(item.event.meta.correlationId, deliver);
        else {
          await lanes.drain();
          await deliver();
        }
      }
      if (options.signal?.aborted === true) {
        interrupted = true;
        break;
      }
    }
    await lanes.drain();
  } catch (err) {
    // What was applied before the failure stays applied: checkpoint it, once the rest settles.
    await lanes.drain().catch(() => undefined);
    await checkpoint(false);
    throw err;
  }
  // Stored events after the last selected one were read too.
  if (!interrupted) prefix.tally.read = Math.max(prefix.tally.read, read);
  await checkpoint(!interrupted);
  return {
    ...prefix.tally,
    ...(prefix.position !== undefined && { last: prefix.position }),
    ...(resumed?.position !== undefined && {
      resumedFrom: { after: resumed.position, read: resumed.tally.read },
    }),
    interrupted,
  };
}
