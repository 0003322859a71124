/**
 * The error taxonomy that decides what happens to a message:
 *   handler returns                     → ack
 *   RetryableError, or any other error  → nack; Pub/Sub redelivers with the subscription's backoff
 *   PermanentError, or a DecodeError    → dead-lettered at once with the reason, then acked
 * Handlers throw these; the hosts map them to outcomes. Nothing else decides.
 */

/** A failure worth retrying: a timeout, a 503 from a provider, a lost connection. */
export class RetryableError extends Error {
  override readonly name: string = "RetryableError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A failure that will fail again on every retry: the message goes to the dead-letter topic. */
export class PermanentError extends Error {
  override readonly name: string = "PermanentError";
  /** Short machine-readable reason, published as the dead letter's `eventline-reason` attribute. */
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** Why a message could not be read as an event. */
export type DecodeReason =
  /** A required CloudEvents attribute (ce-id, ce-source, ce-type, ce-specversion, content-type) is absent or empty. */
  | "missing-attribute"
  /** An attribute is present but invalid: a bad ce-time, an unsupported ce-specversion, a bad extension name. */
  | "malformed-attribute"
  /** ce-type is not in the event catalog. */
  | "unknown-type"
  /** ce-type is in the catalog but belongs to another topic than the one the message came from. */
  | "wrong-topic"
  /** content-type does not match the topic's encoding. */
  | "unsupported-content-type"
  /** The body does not decode as the topic's message, or fails its schema. */
  | "undecodable-body"
  /** The body decodes, but carries a different event than ce-type says. */
  | "type-mismatch"
  /** Over Pub/Sub's limits: 10 MB per message, 100 attributes, 256-byte keys, 1024-byte values. */
  | "oversize";

/** A message that is not a valid event. Permanent: redelivering it cannot help. */
export class DecodeError extends PermanentError {
  override readonly name = "DecodeError";
  constructor(
    readonly decodeReason: DecodeReason,
    message: string,
  ) {
    super(decodeReason, message);
  }
}

/** An event that cannot be published: unknown type, a payload that fails its schema, or too large. */
export class EncodeError extends Error {
  override readonly name = "EncodeError";
  constructor(
    readonly reason: "unknown-type" | "invalid-payload" | "oversize" | "malformed-attribute",
    message: string,
  ) {
    super(message);
  }
}
