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
  /** A required CloudEvents attribute (ce-id, ce-source, ce-type, ce-specversion, ce-time, content-type) is absent or empty. */
  | "missing-attribute"
  /**
   * An attribute is present but invalid: a bad ce-time (RFC 3339, offset within ±23:59), an
   * unsupported ce-specversion, a source that is not a URI-reference, a bad traceparent, an
   * extension name outside [a-z0-9]{1,20}, an optional attribute given empty, a CloudEvents
   * 0.3 attribute (ce-schemaurl).
   */
  | "malformed-attribute"
  /** More attributes than an event may carry (89, so that its dead letter fits Pub/Sub's 100). */
  | "too-many-attributes"
  /** ce-type is not in the event catalog. */
  | "unknown-type"
  /** ce-type is in the catalog but belongs to another topic than the one the message came from. */
  | "wrong-topic"
  /** content-type does not match the topic's encoding. */
  | "unsupported-content-type"
  /** The body does not decode as the topic's message (not protobuf, not JSON, not UTF-8), or fails its schema. */
  | "undecodable-body"
  /** A JSON body has a field its message does not, at any depth (the path names it). */
  | "unknown-field"
  /** A JSON body has a key twice in one object (the path names it). */
  | "duplicate-key"
  /** The body decodes, but carries a different event than ce-type says. */
  | "type-mismatch"
  /** Over Pub/Sub's limits: 10 MB per message, 256-byte keys, 1024-byte values. */
  | "oversize"
  /** Decoding failed in a way the codec did not foresee (a bug to fix); the message is dead-lettered all the same. */
  | "decode-failed";

/** Every DecodeReason, for documentation and tests. */
export const DECODE_REASONS: readonly DecodeReason[] = [
  "missing-attribute",
  "malformed-attribute",
  "too-many-attributes",
  "unknown-type",
  "wrong-topic",
  "unsupported-content-type",
  "undecodable-body",
  "unknown-field",
  "duplicate-key",
  "type-mismatch",
  "oversize",
  "decode-failed",
];

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

/** Why an event cannot be published. */
export type EncodeReason =
  /** The type is not in the catalog. */
  | "unknown-type"
  /** The payload does not fit its message: a value of the wrong type, data that is not an object. */
  | "invalid-payload"
  /** The payload (proto3 JSON) has a field its message does not, at any depth (the path names it). */
  | "unknown-field"
  /** The payload (proto3 JSON) gives one field twice (by its name and its json_name). */
  | "duplicate-key"
  /** A required context attribute (id, source, specversion, type) is absent or empty. */
  | "missing-attribute"
  /** A context attribute is invalid (see DecodeReason "malformed-attribute"). */
  | "malformed-attribute"
  /** More attributes than an event may carry (89). */
  | "too-many-attributes"
  /** Over Pub/Sub's limits: 10 MB, 256-byte keys, 1024-byte values. */
  | "oversize";

/** An event that cannot be published: unknown type, a payload that fails its schema, bad attributes, or too large. */
export class EncodeError extends Error {
  override readonly name = "EncodeError";
  constructor(
    readonly reason: EncodeReason,
    message: string,
  ) {
    super(message);
  }
}
