/**
 * The events the benchmarks and the fault suite send: the viral-sharing share.requested on the
 * email channel (the email-worker's filter), encoded by the runtime's own codec exactly as
 * the gateway would publish it, with the bench handler's behaviour in `shareMetadata`.
 * Published with the raw client, as a backlog or at a steady rate.
 */
import { randomUUID } from "node:crypto";
import type { PubSub, Topic } from "@google-cloud/pubsub";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec, type OutgoingMessage } from "../../handlers/runtime/codec";
import type { Behaviour } from "./bench-handlers";
import { paced } from "./pacing";

export const codec = new EventCodec(eventTypesFor("local"));

/** The topic every bench event goes to. */
export const SHARES_TOPIC = "viral-shares";

/** The consumer that handles them, and its archiver. */
export const WORKER_CONSUMER = "email-worker";
export const ARCHIVER_CONSUMER = "viral-shares-archiver";

/** A share.requested for the email channel, handled as `behaviour` says. */
export function shareEvent(
  behaviour: Behaviour = "ok",
  metadata: Record<string, string> = {},
): OutgoingMessage {
  return codec.encode(
    "com.eventline.share.requested",
    {
      invitationId: randomUUID(),
      senderUserId: "bench-sender",
      cardId: "bench-card",
      channel: "email",
      recipient: "friend@example.com",
      shareMetadata: { behaviour, ...metadata },
    },
    { source: "//eventline/bench" },
  );
}

/** The event id of an encoded message. */
export function idOf(message: OutgoingMessage): string {
  return message.attributes["ce-id"]!;
}

/** A publisher for bulk sends: large batches, sent after at most 5 ms. */
function bulkTopic(pubsub: PubSub, name: string): Topic {
  return pubsub.topic(name, {
    batching: { maxMessages: 500, maxBytes: 4 * 1024 * 1024, maxMilliseconds: 5 },
  });
}

/**
 * Publishes `count` messages made by `make(i)`, at most `window` awaiting at once, so a
 * 100 000-message backlog never holds 100 000 pending promises.
 * @returns the event ids, in order.
 */
export async function publishBacklog(
  pubsub: PubSub,
  count: number,
  make: (i: number) => OutgoingMessage,
  window = 5000,
): Promise<string[]> {
  const topics = new Map<string, Topic>();
  const ids: string[] = [];
  for (let start = 0; start < count; start += window) {
    const batch: Promise<string>[] = [];
    for (let i = start; i < Math.min(count, start + window); i++) {
      const message = make(i);
      let topic = topics.get(message.topic);
      if (topic === undefined)
        topics.set(message.topic, (topic = bulkTopic(pubsub, message.topic)));
      ids.push(idOf(message));
      batch.push(topic.publishMessage({ data: message.data, attributes: message.attributes }));
    }
    await Promise.all(batch);
  }
  return ids;
}

/**
 * Publishes at `perSecond` for `durationMs` (open loop: the schedule does not wait for
 * earlier publishes), so a fault injected meanwhile meets a steady flow.
 * @returns the ids of the messages whose publish Pub/Sub confirmed, and how many failed.
 */
export async function publishAtRate(
  pubsub: PubSub,
  perSecond: number,
  durationMs: number,
  make: (i: number) => OutgoingMessage,
): Promise<{ confirmed: string[]; failed: number }> {
  const topic = pubsub.topic(SHARES_TOPIC, { batching: { maxMessages: 100, maxMilliseconds: 1 } });
  const confirmed: string[] = [];
  let failed = 0;
  await paced(Math.round((perSecond * durationMs) / 1000), perSecond, async (i) => {
    const message = make(i);
    await topic.publishMessage({ data: message.data, attributes: message.attributes }).then(
      () => void confirmed.push(idOf(message)),
      () => void failed++,
    );
  });
  return { confirmed, failed };
}
