/**
 * The stored form of an event: seed 000's `eventline.v1.EventEnvelope`, one to one with
 * the wire attributes. event_id = ce-id, event_type = ce-type, timestamp = ce-time,
 * correlation_id = ce-correlationid, causation_id = ce-causationid, metadata = every
 * other context attribute by its CloudEvents name (source, specversion, subject,
 * traceparent, datacontenttype, extensions), payload = the event's message as an Any.
 */
import { eventline } from "../../proto/gen";
import type { EventCatalog, EventType, Payload } from "./catalog";
import type { DecodedEvent, EventMeta } from "./codec";
import { DecodeError } from "./errors";

const typeUrlPrefix = "type.googleapis.com/";
const metaFields = new Set(["source", "specversion", "subject", "traceparent", "datacontenttype"]);

/** RFC 3339 → protobuf Timestamp, keeping sub-millisecond digits. */
export function timestampFromRfc3339(time: string): { seconds: number; nanos: number } {
  const millis = Date.parse(time);
  if (Number.isNaN(millis)) throw new DecodeError("malformed-attribute", `ce-time ${time} is not an RFC 3339 timestamp`);
  const fraction = /\.(\d+)/.exec(time)?.[1] ?? "";
  const nanos = Number((fraction + "000000000").slice(0, 9));
  return { seconds: Math.floor(millis / 1000), nanos };
}

/** protobuf Timestamp → RFC 3339 in UTC, with milliseconds, or nanoseconds when it has them. */
export function rfc3339FromTimestamp(timestamp: { seconds?: number | null; nanos?: number | null }): string {
  const seconds = Number(timestamp.seconds ?? 0);
  const nanos = timestamp.nanos ?? 0;
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  const fraction = nanos % 1_000_000 === 0 ? String(nanos / 1_000_000).padStart(3, "0") : String(nanos).padStart(9, "0");
  return `${whole}.${fraction}Z`;
}

/** The envelope that stores a decoded event. */
export function toEnvelope(event: DecodedEvent, catalog: EventCatalog): eventline.v1.EventEnvelope {
  const entry = catalog.get(event.type);
  const { meta } = event;
  const metadata: Record<string, string> = {
    source: meta.source,
    specversion: meta.specversion,
    datacontenttype: meta.datacontenttype,
    ...meta.extensions,
  };
  if (meta.subject !== undefined) metadata["subject"] = meta.subject;
  if (meta.traceparent !== undefined) metadata["traceparent"] = meta.traceparent;
  return eventline.v1.EventEnvelope.create({
    eventId: meta.id,
    eventType: meta.type,
    timestamp: timestampFromRfc3339(meta.time),
    correlationId: meta.correlationId,
    causationId: meta.causationId ?? "",
    metadata,
    payload: { type_url: typeUrlPrefix + entry.messageName, value: entry.message.encode(event.data).finish() },
  });
}

/**
 * The event an envelope stores.
 * @throws DecodeError when the type is unknown or the payload is not the type's message.
 */
export function fromEnvelope(envelope: eventline.v1.IEventEnvelope, catalog: EventCatalog): DecodedEvent {
  const type = envelope.eventType ?? "";
  const entry = catalog.find(type);
  if (entry === undefined) throw new DecodeError("unknown-type", `event type ${type} is not in the catalog`);
  const typeUrl = envelope.payload?.type_url ?? "";
  if (typeUrl !== typeUrlPrefix + entry.messageName) throw new DecodeError("type-mismatch", `the payload is ${typeUrl || "missing"}, not ${typeUrlPrefix + entry.messageName}`);
  let data: object;
  try {
    data = entry.message.decode(envelope.payload?.value ?? new Uint8Array());
  } catch (err) {
    throw new DecodeError("undecodable-body", `the payload is not a valid ${entry.messageName}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const extensions: Record<string, string> = {};
  const stored = envelope.metadata ?? {};
  for (const [key, value] of Object.entries(stored)) if (!metaFields.has(key)) extensions[key] = value;
  const id = envelope.eventId ?? "";
  const meta: EventMeta = {
    id,
    type,
    source: stored["source"] ?? "",
    specversion: stored["specversion"] ?? "",
    time: rfc3339FromTimestamp(envelope.timestamp ?? {}),
    ...(stored["subject"] !== undefined && { subject: stored["subject"] }),
    correlationId: envelope.correlationId || id,
    ...(envelope.causationId ? { causationId: envelope.causationId } : {}),
    ...(stored["traceparent"] !== undefined && { traceparent: stored["traceparent"] }),
    datacontenttype: stored["datacontenttype"] ?? "",
    extensions,
  };
  return { meta, type: type as EventType, topic: entry.topic, data: data as Payload };
}
