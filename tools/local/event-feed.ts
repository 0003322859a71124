/**
 * Reading the event store (`events/`, written by each topic's archiver): a query by type,
 * time range and correlation id (`eventline events`), and a live feed of what arrives
 * (`eventline tail` and the dashboard). Time is the event's own `time` (ce-time).
 *
 * The feed watches the newest {@link FEED_WINDOW} matching events and reports each one that
 * enters that window: unlike "time ≥ when I started", it still shows an event whose producer
 * stamped it a little before the archiver stored it.
 */
import { Timestamp, type Firestore, type Query } from "@google-cloud/firestore";
import { EVENTS_COLLECTION, type StoredEvent } from "../../handlers/runtime/event-store";

/** Events a live feed watches (and a new watcher first gets). */
export const FEED_WINDOW = 200;

export interface EventFilter {
  /** Exact event type. */
  type?: string;
  correlationId?: string;
  /** Inclusive lower bound on the event's time. */
  from?: Date;
  /** Exclusive upper bound on the event's time. */
  to?: Date;
}

/** A stored event as the CLI and the dashboard show it: JSON-friendly, time in RFC 3339, no raw bytes. */
export type FeedEvent = Omit<StoredEvent, "time" | "raw"> & { time: string };

function toFeedEvent(stored: StoredEvent): FeedEvent {
  return {
    id: stored.id,
    type: stored.type,
    time:
      stored.time instanceof Timestamp ? stored.time.toDate().toISOString() : String(stored.time),
    source: stored.source,
    subject: stored.subject,
    correlationId: stored.correlationId,
    causationId: stored.causationId,
    topic: stored.topic,
    payload: stored.payload,
  };
}

function filtered(firestore: Firestore, filter: EventFilter): Query {
  let query: Query = firestore.collection(EVENTS_COLLECTION);
  if (filter.type) query = query.where("type", "==", filter.type);
  if (filter.correlationId) query = query.where("correlationId", "==", filter.correlationId);
  if (filter.from) query = query.where("time", ">=", Timestamp.fromDate(filter.from));
  if (filter.to) query = query.where("time", "<", Timestamp.fromDate(filter.to));
  return query;
}

/**
 * Matching events, oldest first.
 * @param limit at most this many: the newest ones when there are more. Default 100.
 */
export async function queryEvents(
  firestore: Firestore,
  filter: EventFilter,
  limit = 100,
): Promise<FeedEvent[]> {
  const snapshot = await filtered(firestore, filter).orderBy("time", "desc").limit(limit).get();
  return snapshot.docs.map((doc) => toFeedEvent(doc.data() as StoredEvent)).reverse();
}

export interface FeedOptions {
  /** Called with the newest matching events already stored, oldest first, once. Default: they are skipped. */
  onBacklog?: (events: FeedEvent[]) => void;
  /** Called with each matching event stored from now on. */
  onEvent: (event: FeedEvent) => void;
  /** Called when the watch fails (the emulator went away). */
  onError?: (error: Error) => void;
}

/** Starts a live feed; returns the function that stops it. */
export function watchEvents(
  firestore: Firestore,
  filter: EventFilter,
  options: FeedOptions,
): () => void {
  let first = true;
  return filtered(firestore, filter)
    .orderBy("time", "desc")
    .limit(FEED_WINDOW)
    .onSnapshot(
      (snapshot) => {
        const added = snapshot
          .docChanges()
          .filter((change) => change.type === "added")
          .map((change) => toFeedEvent(change.doc.data() as StoredEvent))
          .reverse();
        if (first) {
          first = false;
          options.onBacklog?.(added);
          return;
        }
        for (const event of added) options.onEvent(event);
      },
      (error) => options.onError?.(error),
    );
}
