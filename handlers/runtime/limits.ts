/**
 * The size limits of an event, in one place: Pub/Sub's own, and the share of them an event
 * may use so that its dead letter still fits.
 */

/** Pub/Sub's limits on one message (quotas page); over them a publish fails. */
export const PUBSUB_MESSAGE_LIMITS = {
  totalBytes: 10_000_000,
  attributes: 100,
  keyBytes: 256,
  valueBytes: 1024,
} as const;

/**
 * Attributes kept free for what the platform adds to a message after it is published: a dead
 * letter's `eventline-*` attributes (dead-letter.ts, DEAD_LETTER_ATTRIBUTES: 9 at most) and a
 * redrive's two (`eventline-redrive-for`, `eventline-redrive-count`), so that an event redriven
 * and dead-lettered again still fits Pub/Sub's 100.
 */
export const ATTRIBUTES_RESERVED_FOR_THE_PLATFORM = 11;

/**
 * The most attributes one event may carry, context attributes (`ce-id`, `content-type`, …)
 * and extensions together: Pub/Sub's 100 less {@link ATTRIBUTES_RESERVED_FOR_THE_PLATFORM}.
 */
export const MAX_EVENT_ATTRIBUTES =
  PUBSUB_MESSAGE_LIMITS.attributes - ATTRIBUTES_RESERVED_FOR_THE_PLATFORM;

/** The attributes that are the platform's own (dead letters, redrives); they do not count toward an event's. */
export const PLATFORM_ATTRIBUTE_PREFIX = "eventline-";

/** Which limit a message breaks: too many attributes, or too many bytes somewhere. */
export interface LimitProblem {
  reason: "too-many-attributes" | "oversize";
  message: string;
}

/**
 * The limit a message breaks, or undefined: more than {@link MAX_EVENT_ATTRIBUTES} event
 * attributes (the platform's own not counted) or more than 100 in all, a key over 256 bytes, a value over 1 024, or
 * more than 10 MB in all.
 */
export function messageLimitProblem(
  dataBytes: number,
  attributes: Readonly<Record<string, string>>,
): LimitProblem | undefined {
  const entries = Object.entries(attributes);
  if (entries.length > PUBSUB_MESSAGE_LIMITS.attributes)
    return {
      reason: "too-many-attributes",
      message: `${entries.length} attributes, over Pub/Sub's ${PUBSUB_MESSAGE_LIMITS.attributes}`,
    };
  const own = entries.filter(([key]) => !key.startsWith(PLATFORM_ATTRIBUTE_PREFIX)).length;
  if (own > MAX_EVENT_ATTRIBUTES)
    return {
      reason: "too-many-attributes",
      message: `${own} attributes, over the ${MAX_EVENT_ATTRIBUTES} an event may carry (Pub/Sub's ${PUBSUB_MESSAGE_LIMITS.attributes} less ${ATTRIBUTES_RESERVED_FOR_THE_PLATFORM} kept for its dead letter)`,
    };
  let total = dataBytes;
  for (const [key, value] of entries) {
    const keyBytes = Buffer.byteLength(key);
    const valueBytes = Buffer.byteLength(value);
    if (keyBytes > PUBSUB_MESSAGE_LIMITS.keyBytes)
      return {
        reason: "oversize",
        message: `attribute key ${key.slice(0, 40)}… is ${keyBytes} bytes, over Pub/Sub's ${PUBSUB_MESSAGE_LIMITS.keyBytes}`,
      };
    if (valueBytes > PUBSUB_MESSAGE_LIMITS.valueBytes)
      return {
        reason: "oversize",
        message: `attribute ${key.slice(0, 40)} is ${valueBytes} bytes, over Pub/Sub's ${PUBSUB_MESSAGE_LIMITS.valueBytes}`,
      };
    total += keyBytes + valueBytes;
  }
  if (total > PUBSUB_MESSAGE_LIMITS.totalBytes)
    return {
      reason: "oversize",
      message: `the message is ${total} bytes, over Pub/Sub's ${PUBSUB_MESSAGE_LIMITS.totalBytes}`,
    };
  return undefined;
}
