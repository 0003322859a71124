/**
 * Small helpers for runtime tests against the emulators: build events, publish raw messages,
 * read a subscription, and wait for a condition.
 */
import { randomUUID } from "node:crypto";
import type { Message, PubSub } from "@google-cloud/pubsub";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec, type OutgoingMessage } from "../../handlers/runtime/codec";

export const codec = new EventCodec(eventTypesFor("local"));

/** Consumer `name`'s subscription as the local declaration names it (infra/model/resolve.ts). */
export function subscriptionOf(name: string): string {
  const consumer = eventTypesFor("local").system.consumers.find((c) => c.name === name);
  if (consumer === undefined) throw new Error(`no consumer ${name} in the local declaration`);
  return consumer.subscription;
}

/** A share.requested event for the email channel, as the gateway would publish it. */
export function shareRequested(
  metadata: Record<string, string> = {},
  overrides: { id?: string; channel?: string } = {},
): OutgoingMessage {
  const invitationId = randomUUID();
  return codec.encode(
    "com.eventline.share.requested",
    {
      invitationId,
      senderUserId: "user-1",
      cardId: "card-1",
      channel: overrides.channel ?? "email",
      recipient: "friend@example.com",
      shareMetadata: metadata,
    },
    { source: "//eventline/gateway", ...(overrides.id !== undefined && { id: overrides.id }) },
  );
}

/** Publishes messages as they are, with their ordering keys; resolves with their message ids. */
export async function publishRaw(
  pubsub: PubSub,
  messages: readonly OutgoingMessage[],
): Promise<string[]> {
  const topics = new Map<string, ReturnType<PubSub["topic"]>>();
  const topicFor = (name: string, ordered: boolean): ReturnType<PubSub["topic"]> => {
    const key = `${name}/${ordered}`;
    let topic = topics.get(key);
    if (topic === undefined) {
      topic = pubsub.topic(name, {
        batching: { maxMessages: 100, maxMilliseconds: 1 },
        messageOrdering: ordered,
      });
      topics.set(key, topic);
    }
    return topic;
  };
  return Promise.all(
    messages.map((m) =>
      topicFor(m.topic, m.orderingKey !== undefined).publishMessage({
        data: m.data,
        attributes: m.attributes,
        ...(m.orderingKey !== undefined && { orderingKey: m.orderingKey }),
      }),
    ),
  );
}

/** Polls `probe` until it returns something other than undefined or false. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Reads messages from a subscription until `matches` has accepted `count` of them, acking
 * everything it reads.
 */
export async function collect(
  pubsub: PubSub,
  subscription: string,
  count: number,
  matches: (m: Message) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<Message[]> {
  const sub = pubsub.subscription(subscription);
  const found: Message[] = [];
  sub.on("message", (m: Message) => {
    m.ack();
    if (matches(m)) found.push(m);
  });
  try {
    await waitFor(
      () => found.length >= count,
      `${count} matching messages on ${subscription}`,
      timeoutMs,
    );
  } finally {
    await sub.close();
  }
  return found;
}

/** What {@link countingPulls} has seen. */
export interface PullCount {
  /** A client that sends everything through `pubsub`, counting its Pull calls. */
  pubsub: PubSub;
  /** The maxMessages each Pull asked for, in order. */
  asked: number[];
  /** The most Pull calls that were in flight at once. */
  most(): number;
}

/** Wraps `pubsub` so that the Pull calls made through it are counted as they go and return. */
export function countingPulls(pubsub: PubSub): PullCount {
  const asked: number[] = [];
  let inFlight = 0;
  let most = 0;
  const request = pubsub.request.bind(pubsub);
  const counting = Object.create(pubsub) as PubSub;
  counting.request = ((
    config: Parameters<typeof request>[0],
    callback: (...args: unknown[]) => void,
  ) => {
    if (config.method !== "pull") return request(config, callback as never);
    asked.push((config.reqOpts as { maxMessages: number }).maxMessages);
    most = Math.max(most, ++inFlight);
    return request(config, ((...args: unknown[]) => {
      inFlight--;
      callback(...args);
    }) as never);
  }) as PubSub["request"];
  return { pubsub: counting, asked, most: () => most };
}
