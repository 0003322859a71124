/**
 * What becomes of a delivered message. The error taxonomy (errors.ts) decides, here and
 * nowhere else:
 *   the handler returned, or the event was already processed        → ack
 *   outside the consumer's filter, or a type the handler does not accept → ack, unhandled
 *   PermanentError, or the message does not decode (DecodeError)    → dead-letter at once, ack
 *   RetryableError or any other error                               → nack, redelivered with backoff;
 *     on the subscription's last delivery attempt                   → dead-letter, ack
 * The last rule is what Pub/Sub does in the cloud after maxDeliveryAttempts; the emulator
 * never forwards, so the runtime does it everywhere, with the reason in the attributes.
 */
import { DecodeError, PermanentError } from "./errors";

/** The dead-letter reason of a message that failed on its last allowed delivery attempt. */
export const MAX_ATTEMPTS_REASON = "max-delivery-attempts";

export type Outcome =
  | {
      action: "ack";
      result: "handled" | "duplicate" | "filtered" | "not-accepted" | "redriven-for-another";
    }
  | { action: "ack"; result: "dead-lettered"; reason: string; error: string }
  | { action: "nack"; result: "retry"; error: unknown };

/** What to do with a message whose handling threw. */
export type FailureDecision =
  { action: "dead-letter"; reason: string; error: string } | { action: "nack" };

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Decides between dead-lettering and redelivery for a failure.
 * @param attempt the delivery attempt (1 = first), or undefined when the transport does not count.
 * @param maxAttempts the subscription's maxDeliveryAttempts.
 */
export function decideFailure(
  error: unknown,
  attempt: number | undefined,
  maxAttempts: number,
): FailureDecision {
  if (error instanceof DecodeError)
    return { action: "dead-letter", reason: error.decodeReason, error: describe(error) };
  if (error instanceof PermanentError)
    return { action: "dead-letter", reason: error.reason, error: describe(error) };
  if (attempt !== undefined && attempt >= maxAttempts)
    return { action: "dead-letter", reason: MAX_ATTEMPTS_REASON, error: describe(error) };
  return { action: "nack" };
}

/**
 * How long Pub/Sub waits before it redelivers a nacked message, by the subscription's retry
 * policy: the minimum backoff doubled with each attempt, up to the maximum. Pub/Sub does not
 * publish its exact curve; this is the documented exponential shape, for the local hosts that
 * wait it out themselves because the emulator redelivers at once.
 * @param attempt the attempt that failed (1 = first); undefined counts as the first.
 */
export function redeliveryDelaySeconds(
  retry: { minBackoffSeconds: number; maxBackoffSeconds: number },
  attempt: number | undefined,
): number {
  const exponent = Math.max(0, (attempt ?? 1) - 1);
  return Math.min(retry.maxBackoffSeconds, retry.minBackoffSeconds * 2 ** Math.min(exponent, 30));
}
