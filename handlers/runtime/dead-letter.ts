/**
 * The message the runtime publishes to a consumer's dead-letter topic: the original data and
 * attributes unchanged, so a redrive can republish it as it was, plus `eventline-*`
 * attributes saying why, from where and when. Every dead-letter topic has a parking
 * subscription (`<consumer>-dlq-parking`) that keeps these until someone looks.
 */
import type { ReceivedMessage } from "./received-message";
import type { ResolvedConsumer } from "../../infra/model/types";
import type { OutgoingMessage } from "./codec";
import { PUBSUB_MESSAGE_LIMITS } from "./codec";

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

/** The dead letter for a delivery the consumer gives up on. */
export function deadLetterMessage(
  consumer: ResolvedConsumer,
  delivery: ReceivedMessage,
  reason: string,
  error: string,
  now = new Date(),
): OutgoingMessage {
  const a = DEAD_LETTER_ATTRIBUTES;
  const attributes: Record<string, string> = {
    ...delivery.attributes,
    [a.reason]: reason,
    [a.error]: truncateUtf8(error, PUBSUB_MESSAGE_LIMITS.valueBytes),
    [a.consumer]: consumer.name,
    [a.topic]: consumer.topic,
    [a.attempt]:
      delivery.deliveryAttempt === undefined ? "unknown" : String(delivery.deliveryAttempt),
    [a.messageId]: delivery.messageId,
    [a.at]: now.toISOString(),
  };
  if (delivery.orderingKey) attributes[a.orderingKey] = delivery.orderingKey;
  return { topic: consumer.deadLetterTopic, data: Buffer.from(delivery.data), attributes };
}
