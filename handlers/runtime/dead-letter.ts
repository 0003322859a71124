/**
 * The message the runtime publishes to a consumer's dead-letter topic: the original data and
 * attributes unchanged, so a redrive can republish it as it was, plus `eventline-*`
 * attributes saying why, from where and when. Every dead-letter topic has a parking
 * subscription (`<consumer>-dlq-parking`) that keeps these until someone looks.
 *
 * A dead letter is always a message Pub/Sub takes, whatever arrived: an event within its limits
 * (limits.ts, 89 attributes) leaves room for these attributes, and anything else (a message
 * published past the gateway, which the emulator lets through) is cut to fit, saying what was
 * cut in `eventline-dropped`, rather than built so that the publish fails and the message is
 * nacked forever.
 */
import type { ReceivedMessage } from "./received-message";
import type { ResolvedConsumer } from "../../infra/model/types";
import type { OutgoingMessage } from "./codec";
import { PUBSUB_MESSAGE_LIMITS } from "./limits";

/** The attributes a dead letter carries besides the original ones. */
export const DEAD_LETTER_ATTRIBUTES = {
  /** Short machine-readable reason: a PermanentError's reason, a DecodeReason, or "max-delivery-attempts". */
  reason: "eventline-reason",
  /** The error, `Name: message`, cut to Pub/Sub's 1 024-byte attribute limit. */
  error: "eventline-error",
  /** The consumer (and subscription) that gave up on the message. */
  consumer: "eventline-consumer",
  /** The topic the message came from: where a redrive republishes it. */
  topic: "eventline-topic",
  /** The delivery attempt that failed, or "unknown" when the transport did not count. */
  attempt: "eventline-delivery-attempt",
  /** The Pub/Sub message id of the failed delivery. */
  messageId: "eventline-original-message-id",
  /** The original ordering key (dead-letter topics are unordered, so it travels as an attribute). */
  orderingKey: "eventline-ordering-key",
  /** RFC 3339 time the runtime dead-lettered it. */
  at: "eventline-dead-lettered-at",
  /** What was cut for the dead letter to fit Pub/Sub's limits: attributes dropped, data truncated. */
  dropped: "eventline-dropped",
} as const;

/**
 * Set on a message redriven from one consumer's dead letters. Redrive republishes to the source
 * topic, which every subscription on it receives; the others ack it unhandled, so a message one
 * consumer gave up on is not processed (or dead-lettered) again by consumers that already had it.
 */
export const REDRIVE_FOR_ATTRIBUTE = "eventline-redrive-for";

/** Cuts a string to at most `bytes` UTF-8 bytes without splitting a character. */
function truncateUtf8(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  let out = "";
  let used = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (used + size > bytes - 3) break;
    out += ch;
    used += size;
  }
  return `${out}…`;
}

/** Attributes the original message keeps first when not all fit: the event's context. */
function keepFirst(key: string): number {
  if (key === "ce-id" || key === "ce-type" || key === "ce-source" || key === "ce-specversion")
    return 0;
  if (key.startsWith("ce-") || key === "content-type" || key.startsWith("eventline-redrive"))
    return 1;
  return 2;
}

/**
 * The dead letter for a delivery the consumer gives up on, always within Pub/Sub's limits
 * (see the file comment): the original attributes that fit (the event's context first), the
 * `eventline-*` ones, and the data, cut only when the whole would pass 10 MB.
 */
export function deadLetterMessage(
  consumer: ResolvedConsumer,
  delivery: ReceivedMessage,
  reason: string,
  error: string,
  now = new Date(),
): OutgoingMessage {
  const a = DEAD_LETTER_ATTRIBUTES;
  const limits = PUBSUB_MESSAGE_LIMITS;
  const ours: Record<string, string> = {
    [a.reason]: truncateUtf8(reason, limits.valueBytes),
    [a.error]: truncateUtf8(error, limits.valueBytes),
    [a.consumer]: consumer.name,
    [a.topic]: consumer.topic,
    [a.attempt]:
      delivery.deliveryAttempt === undefined ? "unknown" : String(delivery.deliveryAttempt),
    [a.messageId]: truncateUtf8(String(delivery.messageId), limits.valueBytes),
    [a.at]: now.toISOString(),
  };
  if (delivery.orderingKey)
    ours[a.orderingKey] = truncateUtf8(String(delivery.orderingKey), limits.valueBytes);

  const dropped: string[] = [];
  const candidates: [string, string][] = [];
  const original =
    delivery.attributes !== null && typeof delivery.attributes === "object"
      ? Object.entries(delivery.attributes)
      : [];
  for (const [key, value] of original) {
    if (key === a.dropped || Object.hasOwn(ours, key)) continue; // a former dead letter's
    if (
      typeof value !== "string" ||
      key === "" ||
      Buffer.byteLength(key) > limits.keyBytes ||
      Buffer.byteLength(value) > limits.valueBytes
    )
      dropped.push(key);
    else candidates.push([key, value]);
  }
  // One attribute is kept for the note of what was dropped.
  const room = limits.attributes - Object.keys(ours).length - 1;
  candidates.sort(([x], [y]) => keepFirst(x) - keepFirst(y));
  const kept = candidates.slice(0, room);
  dropped.push(...candidates.slice(room).map(([key]) => key));
  // Original attributes first, as a redrive republishes them; ours after, and they win.
  // (fromEntries defines keys, so even "__proto__" stays an ordinary attribute.)
  const attributes: Record<string, string> = Object.fromEntries(kept);
  Object.assign(attributes, ours);

  let data = Buffer.from(delivery.data);
  const notes: string[] = [];
  if (dropped.length > 0)
    notes.push(
      `${dropped.length} attributes over Pub/Sub's limits: ${dropped.map((k) => k.slice(0, 64)).join(", ")}`,
    );
  const attributeBytes = (): number =>
    Object.entries(attributes).reduce(
      (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v),
      Buffer.byteLength(a.dropped) + limits.valueBytes,
    );
  const roomForData = limits.totalBytes - attributeBytes();
  if (data.length > roomForData) {
    notes.push(`data cut from ${data.length} to ${roomForData} bytes`);
    data = data.subarray(0, roomForData);
  }
  if (notes.length > 0) attributes[a.dropped] = truncateUtf8(notes.join("; "), limits.valueBytes);
  return { topic: consumer.deadLetterTopic, data, attributes };
}
