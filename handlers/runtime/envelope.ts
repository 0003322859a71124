/**
 * The stored form of an event: `eventline.v1.EventEnvelope` (docs/requirements.md, PL-6),
 * one to one with the wire attributes. event_id = ce-id, event_type = ce-type, timestamp =
 * ce-time, correlation_id = ce-correlationid, causation_id = ce-causationid, metadata = every
 * other context attribute by its CloudEvents name (source, specversion, subject,
 * traceparent, datacontenttype, extensions), payload = the event's message as an Any.
 */
import { eventline } from "../../proto/gen";
import type { EventTypes, EventType, Payload } from "./event-types";
import type { DecodedEvent, EventMeta } from "./codec";
import { DecodeError } from "./errors";
import { rfc3339FromTimestamp, timestampFromRfc3339 } from "./timestamps";

const typeUrlPrefix = "type.googleapis.com/";
const metaFields = new Set(["source", "specversion", "subject", "traceparent", "datacontenttype"]);

/** The envelope that stores a decoded event. */
export function toEnvelope(
  event: DecodedEvent,
  eventTypes: EventTypes,
): eventline.v1.EventEnvelope {
  const entry = eventTypes.get(event.type);
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
    payload: {
      type_url: typeUrlPrefix + entry.messageName,
      value: entry.message.encode(event.data).finish(),
    },
  });
}

/**
 * The event an envelope stores.
 * @throws DecodeError when the type is unknown or the payload is not the type's message.
 */
export function fromEnvelope(
  envelope: eventline.v1.IEventEnvelope,
  eventTypes: EventTypes,
): DecodedEvent {
  const type = envelope.eventType ?? "";
  const entry = eventTypes.find(type);
  if (entry === undefined) throw new DecodeError("unknown-type", eventTypes.undeclared(type));
  const typeUrl = envelope.payload?.type_url ?? "";
  if (typeUrl !== typeUrlPrefix + entry.messageName)
    throw new DecodeError(
      "type-mismatch",
      `the payload is ${typeUrl || "missing"}, not ${typeUrlPrefix + entry.messageName}`,
    );
  let data: object;
  try {
    data = entry.message.decode(envelope.payload?.value ?? new Uint8Array());
  } catch (err) {
    throw new DecodeError(
      "undecodable-body",
      `the payload is not a valid ${entry.messageName}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const extensions: Record<string, string> = {};
  const stored = envelope.metadata ?? {};
  for (const [key, value] of Object.entries(stored))
    if (!metaFields.has(key)) extensions[key] = value;
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
