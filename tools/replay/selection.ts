/**
 * Which stored events a replay reads, and reading them: from the event store (`events/`), in
 * time order (ties by document id), a page at a time with cursors, decoded back into the
 * events they were from their `raw` envelope.
 *
 * Every query is one the declared composite indexes serve (infra/gcp/event-store.ts):
 * equality on `correlationId`, `source` or `type`, and a range and order on `time`. Firestore
 * appends `__name__` to an index in the direction of its last field, so ordering by time and
 * then by document id needs no further index. A selection by several types runs one query per
 * type and merges them; criteria beyond the one the query uses (types within a flow, say) are
 * applied to the decoded events, so no undeclared index is ever needed.
 */
import {
  FieldPath,
  Timestamp,
  type Firestore,
  type Query,
  type QueryDocumentSnapshot,
} from "@google-cloud/firestore";
import { eventline } from "../../proto/gen";
import type { EventTypes } from "../../handlers/runtime/event-types";
import type { DecodedEvent } from "../../handlers/runtime/codec";
import { fromEnvelope } from "../../handlers/runtime/envelope";
import { rfc3339FromTimestamp, timestampFromRfc3339 } from "../../handlers/runtime/timestamps";
import { EVENTS_COLLECTION } from "../../handlers/runtime/event-store";

/** The extension a republished copy carries: the id of the event it copies (republish.ts). */
export const REPLAY_OF_EXTENSION = "replayof";

/** Stored events read per request. */
export const DEFAULT_PAGE_SIZE = 300;

/** A place in the event store's order: an event's time and its document id. */
export interface StreamPosition {
  /** RFC 3339, with nanoseconds when the event has them. */
  time: string;
  /** The event's document id in `events/` (its id, or a hash when Firestore refuses the id). */
  id: string;
}

/** Which events to read; every criterion given must hold. */
export interface EventSelection {
  /** Events at or after this time. Default: from the first. */
  from?: Date;
  /** Events before this time. Default: up to the last. */
  to?: Date;
  /** Only these event types. Default: every type. */
  types?: readonly string[];
  /** Only this flow. */
  correlationId?: string;
  /** Only events from this CloudEvents source, e.g. `//eventline/gateway`. */
  source?: string;
  /** Only events after this position: what a snapshot already covers (snapshots.ts). Default: none. */
  after?: StreamPosition;
  /** Only events nothing else caused (no causation id). Default false. */
  rootsOnly?: boolean;
  /**
   * Also the copies earlier republishes made (`ce-replayof`). Default false: they are the same
   * events again, and a period replayed with them would count each twice.
   */
  includeReplays?: boolean;
}

/** One stored event as read: decoded, or why it could not be. */
export type ReadEvent =
  | { position: StreamPosition; event: DecodedEvent }
  | { position: StreamPosition; id: string; problem: string };

/** What the stored documents hold of use here. */
interface StoredFields {
  time: Timestamp;
  raw: Buffer | Uint8Array;
}

/** The queries a selection runs: one per type, or one on its most selective indexed field. */
function queries(firestore: Firestore, selection: EventSelection): Query[] {
  let base: Query = firestore.collection(EVENTS_COLLECTION);
  if (selection.from !== undefined)
    base = base.where("time", ">=", Timestamp.fromDate(selection.from));
  if (selection.to !== undefined) base = base.where("time", "<", Timestamp.fromDate(selection.to));
  const ordered = (query: Query): Query => {
    const sorted = query.orderBy("time").orderBy(FieldPath.documentId());
    if (selection.after === undefined) return sorted;
    const { seconds, nanos } = timestampFromRfc3339(selection.after.time);
    return sorted.startAfter(new Timestamp(seconds, nanos), selection.after.id);
  };
  // A flow or a source is far narrower than a type: query by it and check types on the decoded events.
  if (selection.correlationId !== undefined)
    return [ordered(base.where("correlationId", "==", selection.correlationId))];
  if (selection.source !== undefined)
    return [ordered(base.where("source", "==", selection.source))];
  if (selection.types !== undefined && selection.types.length > 0)
    return [...new Set(selection.types)].map((type) => ordered(base.where("type", "==", type)));
  return [ordered(base)];
}

/** How many stored events the selection's queries go through (an upper bound on what it yields), for progress. */
export async function countEvents(
  firestore: Firestore,
  selection: EventSelection,
): Promise<number> {
  const counts = await Promise.all(
    queries(firestore, selection).map(async (query) => (await query.count().get()).data().count),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

/** One query's documents, a page at a time. */
async function* pages(query: Query, pageSize: number): AsyncGenerator<QueryDocumentSnapshot> {
  let cursor: QueryDocumentSnapshot | undefined;
  for (;;) {
    const page = await (cursor === undefined ? query : query.startAfter(cursor))
      .select("time", "raw")
      .limit(pageSize)
      .get();
    yield* page.docs;
    if (page.size < pageSize) return;
    cursor = page.docs[page.size - 1];
  }
}

/** Firestore's order: time, then document id by its UTF-8 bytes. */
function compare(a: QueryDocumentSnapshot, b: QueryDocumentSnapshot): number {
  const ta = (a.data() as StoredFields).time;
  const tb = (b.data() as StoredFields).time;
  if (ta.seconds !== tb.seconds) return ta.seconds - tb.seconds;
  if (ta.nanoseconds !== tb.nanoseconds) return ta.nanoseconds - tb.nanoseconds;
  return Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
}

/** Several sorted streams as one sorted stream. */
async function* merged(
  streams: AsyncGenerator<QueryDocumentSnapshot>[],
): AsyncGenerator<QueryDocumentSnapshot> {
  const heads = await Promise.all(
    streams.map(async (stream) => (await stream.next()).value as QueryDocumentSnapshot | undefined),
  );
  for (;;) {
    let first = -1;
    heads.forEach((head, i) => {
      if (head !== undefined && (first === -1 || compare(head, heads[first]!) < 0)) first = i;
    });
    if (first === -1) return;
    yield heads[first]!;
    heads[first] = (await streams[first]!.next()).value as QueryDocumentSnapshot | undefined;
  }
}

function matches(event: DecodedEvent, selection: EventSelection): boolean {
  const { meta } = event;
  if (
    selection.types !== undefined &&
    selection.types.length > 0 &&
    !selection.types.includes(event.type)
  )
    return false;
  if (selection.correlationId !== undefined && meta.correlationId !== selection.correlationId)
    return false;
  if (selection.source !== undefined && meta.source !== selection.source) return false;
  if (selection.rootsOnly === true && meta.causationId !== undefined) return false;
  if (selection.includeReplays !== true && meta.extensions[REPLAY_OF_EXTENSION] !== undefined)
    return false;
  return true;
}

export interface ReadOptions {
  /** Stored events per request. Default {@link DEFAULT_PAGE_SIZE}. */
  pageSize?: number;
  /** Called after each stored event read, matching or not, with how many have been read. Default: none. */
  onRead?: (read: number) => void;
}

/**
 * The selected events in the store's order. An event that no longer decodes (its type left the
 * catalog, say) is yielded with the problem rather than ending the read.
 */
export async function* readEvents(
  firestore: Firestore,
  eventTypes: EventTypes,
  selection: EventSelection,
  options: ReadOptions = {},
): AsyncGenerator<ReadEvent> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  let read = 0;
  for await (const doc of merged(
    queries(firestore, selection).map((query) => pages(query, pageSize)),
  )) {
    options.onRead?.(++read);
    const stored = doc.data() as StoredFields;
    const position: StreamPosition = {
      time: rfc3339FromTimestamp({ seconds: stored.time.seconds, nanos: stored.time.nanoseconds }),
      id: doc.id,
    };
    let event: DecodedEvent;
    try {
      event = fromEnvelope(eventline.v1.EventEnvelope.decode(stored.raw), eventTypes);
    } catch (err) {
      yield { position, id: doc.id, problem: err instanceof Error ? err.message : String(err) };
      continue;
    }
    if (matches(event, selection)) yield { position, event };
  }
}
