/**
 * The event store: every event on every topic, appended once and never changed, at
 * `events/{event id}`, by the built-in archiver consumer each topic has. A stored event keeps
 * its queryable context (type, time as a Timestamp, source, subject, correlation and causation
 * ids, topic), its payload as a map (proto3 JSON) for reading, and `raw`: the protobuf
 * encoding of its envelope (docs/requirements.md, PL-6), from which replay rebuilds the exact
 * event.
 *
 * Every event goes through here, so appends are batched: a BulkWriter groups the writes of all
 * messages in flight into batch-write requests (see {@link APPEND_BATCH_WINDOW_MS}), and
 * `create()` makes a second append of the same event fail with ALREADY_EXISTS, which counts as
 * done. The event document is its own
 * idempotency record: no transaction, no processed record. BulkWriter's throttle starts at
 * 500 writes/s and ramps up the way Firestore asks new collections to be ramped (500/50/5):
 * on in the cloud, off against the emulator, which needs no ramp.
 */
import { Timestamp, type BulkWriter, type Firestore } from "@google-cloud/firestore";
import { eventline } from "../../proto/gen";
import { ARCHIVER_HANDLER } from "../../infra/model/resolve";
import type { EventTypes } from "./event-types";
import type { DecodedEvent } from "./codec";
import { toEnvelope } from "./envelope";
import type { BuiltInHandler } from "./handler";
import { eventKey } from "./idempotency";
import { toProto3Json } from "./proto-json";

/** The event store's collection. */
export const EVENTS_COLLECTION = "events";

/** The archiver's registry entry: consumers whose handler is "archiver" append to the store. */
export const archiver: BuiltInHandler = { kind: "archiver", name: ARCHIVER_HANDLER };

/**
 * How long an append waits for others to share its batch-write request, in milliseconds.
 * Flushing at the end of each event-loop turn sends batches too small for the archiver to keep
 * pace with a worker; a few milliseconds gather the appends of the messages in flight into one
 * request, and the archive keeps pace (bench/README.md, pipeline).
 */
export const APPEND_BATCH_WINDOW_MS = 5;

/** gRPC ALREADY_EXISTS. */
const ALREADY_EXISTS = 6;

/** One stored event (`events/{id}`). */
export interface StoredEvent {
  id: string;
  type: string;
  time: Timestamp;
  source: string;
  subject: string | null;
  correlationId: string;
  causationId: string | null;
  topic: string;
  /** The payload in proto3 JSON form: int64 as strings, enums by name, timestamps in RFC 3339. */
  payload: Record<string, unknown>;
  /** `eventline.v1.EventEnvelope` in protobuf binary: the whole event, for replay. */
  raw: Buffer;
}

/** The stored form of a decoded event. */
export function toStoredEvent(event: DecodedEvent, eventTypes: EventTypes): StoredEvent {
  const entry = eventTypes.get(event.type);
  const envelope = toEnvelope(event, eventTypes);
  const { seconds, nanos } = envelope.timestamp as { seconds: number; nanos: number };
  return {
    id: event.meta.id,
    type: event.type,
    time: new Timestamp(seconds, nanos),
    source: event.meta.source,
    subject: event.meta.subject ?? null,
    correlationId: event.meta.correlationId,
    causationId: event.meta.causationId ?? null,
    topic: event.topic,
    payload: toProto3Json(entry.message, event.data),
    raw: Buffer.from(eventline.v1.EventEnvelope.encode(envelope).finish()),
  };
}

export interface EventStoreOptions {
  /**
   * BulkWriter's rate limiter (500 writes/s at first, +50% every 5 minutes). Default true;
   * The launcher turns it off against the emulator, where it only slows the archiver down.
   */
  throttling?: boolean;
}

/** Appends events to `events/`, batching the writes of concurrent appends. */
export class EventStore {
  private readonly writer: BulkWriter;
  private flushScheduled = false;

  constructor(
    private readonly firestore: Firestore,
    private readonly eventTypes: EventTypes,
    options: EventStoreOptions = {},
  ) {
    this.writer = firestore.bulkWriter({ throttling: options.throttling ?? true });
  }

  /**
   * Appends an event; "duplicate" when it is already stored (the stored one is kept as it is).
   * @throws BulkWriterError for any other failure, after BulkWriter's own retries.
   */
  async append(event: DecodedEvent): Promise<"appended" | "duplicate"> {
    const ref = this.firestore.collection(EVENTS_COLLECTION).doc(eventKey(event.meta));
    const write = this.writer.create(ref, toStoredEvent(event, this.eventTypes));
    this.scheduleFlush();
    try {
      await write;
      return "appended";
    } catch (err) {
      if ((err as { code?: number }).code === ALREADY_EXISTS) return "duplicate";
      throw err;
    }
  }

  /** Sends the writes still waiting in BulkWriter and stops it; for shutdown. */
  async close(): Promise<void> {
    await this.writer.close();
  }

  // BulkWriter sends a batch when it holds 20 writes, and a partial batch only on flush().
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setTimeout(() => {
      this.flushScheduled = false;
      void this.writer.flush();
    }, APPEND_BATCH_WINDOW_MS);
  }
}
