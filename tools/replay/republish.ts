/**
 * Republishing stored events to their topics, for recovery: every consumer of the topic gets
 * them again through Pub/Sub, as live events. (To re-run one consumer, seek its subscription,
 * seek.ts, or replay in-process, in-process.ts.)
 *
 * A copy is the original event (type, payload, time, source, subject, correlation, causation,
 * trace, extensions) under a new id, with the CloudEvents extension `replayof` (attribute
 * `ce-replayof`) naming the original. The new id is derived from the original id and the run
 * name, so republishing the same events under the same run publishes the same ids again, and
 * the consumers' idempotency records (and the archiver's) turn the second time into no change
 * at all. A new run name applies the events once more, on purpose. Copies are archived like
 * any event; selections leave them out unless asked (selection.ts), so a period is never
 * replayed twice over.
 */
import { createHash } from "node:crypto";
import type { Firestore } from "@google-cloud/firestore";
import type { PubSub } from "@google-cloud/pubsub";
import { eventTypesFor } from "../../handlers/declared";
import {
  EventCodec,
  optionsOf,
  type DecodedEvent,
  type OutgoingMessage,
} from "../../handlers/runtime/codec";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { PubSubPublisher, type MessagePublisher } from "../../handlers/runtime/publisher";
import { ReplayError } from "./errors";
import { countEvents, readEvents, REPLAY_OF_EXTENSION, type EventSelection } from "./selection";

/** The run name republishes use unless given one. */
export const DEFAULT_REPUBLISH_RUN = "recovery";

/** Messages handed to the publisher at once; it sends them in order. */
const BATCH_SIZE = 100;

/**
 * The id of the copy that run `run` republishes of event `originalId`: a name-based UUID
 * (version 8) of both, so the same run gives the same id.
 */
export function replayEventId(originalId: string, run = DEFAULT_REPUBLISH_RUN): string {
  const hex = createHash("sha256").update(`replay\n${run}\n${originalId}`).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The message that republishes `event` in run `run`. */
export function replayMessage(
  codec: EventCodec,
  event: DecodedEvent,
  run = DEFAULT_REPUBLISH_RUN,
): OutgoingMessage {
  const { meta } = event;
  return codec.encode(event.type, event.data, {
    ...optionsOf(meta),
    id: replayEventId(meta.id, run),
    extensions: { ...meta.extensions, [REPLAY_OF_EXTENSION]: meta.id },
  });
}

/** The runtime's publisher on `pubsub`: batching, and ordering keys kept in order. */
export function topicPublisher(pubsub: PubSub, stack = "local"): MessagePublisher {
  return new PubSubPublisher(pubsub, eventTypesFor(stack), new RuntimeMetrics());
}

export interface RepublishOptions {
  /** The database whose event store is read. */
  source: Firestore;
  /** Where the copies go: {@link topicPublisher} for the real topics. */
  publisher: MessagePublisher;
  /** Which stored events. Default: every one (copies of earlier republishes excepted). */
  selection?: EventSelection;
  /** The run name the new ids derive from. Default {@link DEFAULT_REPUBLISH_RUN}. */
  run?: string;
  /** The stack whose declaration applies. Default `"local"`. */
  stack?: string;
  /** Called as stored events are read: how many so far, of about how many. Default: none. */
  onProgress?: (read: number, total: number) => void;
}

export interface RepublishResult {
  /** Stored events read, including those the selection's other criteria left out. */
  read: number;
  /** Each copy published: the original's id, the copy's, and the topic. */
  republished: { originalId: string; id: string; topic: string }[];
  /** Stored events that no longer decode, with why; not republished. */
  undecodable: { id: string; problem: string }[];
}

/**
 * Republishes the selected events, in the store's order.
 * @throws the publisher's error; the copies before it were published (republishing again is safe).
 */
export async function republish(options: RepublishOptions): Promise<RepublishResult> {
  const run = options.run ?? DEFAULT_REPUBLISH_RUN;
  if (run.trim() === "")
    throw new ReplayError(
      "the run name is empty; leave it out to use the default, or name the run",
    );
  const eventTypes = eventTypesFor(options.stack ?? "local");
  const codec = new EventCodec(eventTypes);
  const selection = options.selection ?? {};
  const result: RepublishResult = { read: 0, republished: [], undecodable: [] };
  const total = options.onProgress === undefined ? 0 : await countEvents(options.source, selection);
  let batch: { originalId: string; message: OutgoingMessage }[] = [];
  const send = async (): Promise<void> => {
    await options.publisher.publish(batch.map((b) => b.message));
    for (const { originalId, message } of batch)
      result.republished.push({
        originalId,
        id: message.attributes["ce-id"]!,
        topic: message.topic,
      });
    batch = [];
  };
  const onRead = (read: number): void => {
    result.read = read;
    options.onProgress?.(read, Math.max(total, read));
  };
  for await (const read of readEvents(options.source, eventTypes, selection, { onRead })) {
    if ("problem" in read) {
      result.undecodable.push({ id: read.id, problem: read.problem });
      continue;
    }
    batch.push({ originalId: read.event.meta.id, message: replayMessage(codec, read.event, run) });
    if (batch.length >= BATCH_SIZE) await send();
  }
  if (batch.length > 0) await send();
  await options.publisher.flush();
  return result;
}
