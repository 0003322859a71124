/**
 * The event contract on the wire: CloudEvents 1.0 in the Google Cloud Pub/Sub protocol
 * binding, binary mode. Context attributes travel as `ce-<name>` message attributes,
 * `datacontenttype` as `content-type`, and the body is the topic's wrapper message
 * (its Pub/Sub schema) holding the event's message in its `oneof event`: protobuf
 * binary, or proto3 JSON where the topic says `encoding: "json"`.
 *
 * Decoding never throws a bare Error: every way a message can be wrong is a
 * {@link DecodeError} with a {@link DecodeReason}, which the runtime dead-letters.
 */
import { randomUUID } from "node:crypto";
import { CloudEvent, ValidationError } from "cloudevents";
import type { EventTypeEntry, EventTypes, EventType, Payload, PayloadInput } from "./event-types";
import { reflectedType } from "../../infra/model/proto";
import { DecodeError, EncodeError } from "./errors";
import { fromProto3Json, toProto3Json } from "./proto-json";

/** Pub/Sub's limits on one message (quotas page); over them a publish fails. */
export const PUBSUB_MESSAGE_LIMITS = {
  totalBytes: 10_000_000,
  attributes: 100,
  keyBytes: 256,
  valueBytes: 1024,
} as const;

/** The `content-type` attribute for each topic encoding. */
export const CONTENT_TYPES = {
  protobuf: "application/protobuf",
  json: "application/json",
} as const;

export const CLOUDEVENTS_SPECVERSION = "1.0";

/** The CloudEvents context of one event (the envelope minus the payload). */
export interface EventMeta {
  id: string;
  type: string;
  /** Who produced it, a URI reference such as `//eventline/email-worker`. */
  source: string;
  specversion: string;
  /** RFC 3339 timestamp of the occurrence. */
  time: string;
  subject?: string;
  /** Shared by every event of one flow; a root event's is its own id. */
  correlationId: string;
  /** The id of the event that caused this one; absent on a root event. */
  causationId?: string;
  /** W3C trace context of the flow. */
  traceparent?: string;
  datacontenttype: string;
  /** Other extension attributes (routing attributes such as `channel`), without the `ce-` prefix. */
  extensions: Readonly<Record<string, string>>;
}

/** A decoded event: its context, its catalog type and topic, and the typed payload. */
export interface DecodedEvent<E extends EventType = EventType> {
  meta: EventMeta;
  type: E;
  topic: string;
  data: Payload<E>;
}

/** The parts of a Pub/Sub message the codec reads (the client's Message and push bodies both fit). */
export interface IncomingMessage {
  data: Uint8Array;
  attributes: Readonly<Record<string, string>>;
}

/** A message ready for `topic.publishMessage`. */
export interface OutgoingMessage {
  topic: string;
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey?: string;
}

/** What a publisher says about an event beyond its payload. */
export interface EventOptions {
  /** Default: a new UUID. */
  id?: string;
  source: string;
  /** Default: now. */
  time?: Date | string;
  /** Default: the payload field the catalog names as the type's subject. */
  subject?: string;
  /** Default: the event's own id (it starts a flow). */
  correlationId?: string;
  causationId?: string;
  traceparent?: string;
  /** More extension attributes, by name without `ce-`. */
  extensions?: Readonly<Record<string, string>>;
}

/** The options that encode an event again exactly as it was: its id, source, time, subject, flow and extensions. */
export function optionsOf(meta: EventMeta): EventOptions {
  return {
    id: meta.id,
    source: meta.source,
    time: meta.time,
    ...(meta.subject !== undefined && { subject: meta.subject }),
    correlationId: meta.correlationId,
    ...(meta.causationId !== undefined && { causationId: meta.causationId }),
    ...(meta.traceparent !== undefined && { traceparent: meta.traceparent }),
    extensions: meta.extensions,
  };
}

/** Correlation for an event caused by `cause`: same flow, caused by it, same trace. */
export function causedBy(
  cause: EventMeta,
): Pick<EventOptions, "correlationId" | "causationId" | "traceparent"> {
  return {
    correlationId: cause.correlationId,
    causationId: cause.id,
    ...(cause.traceparent !== undefined && { traceparent: cause.traceparent }),
  };
}

/** Context attributes with their own field in {@link EventMeta}; the rest are `extensions`. */
const contextAttributes = new Set([
  "id",
  "type",
  "source",
  "specversion",
  "time",
  "subject",
  "correlationid",
  "causationid",
  "traceparent",
]);
const requiredAttributes = [
  "ce-id",
  "ce-source",
  "ce-type",
  "ce-specversion",
  "ce-time",
  "content-type",
] as const;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The message attributes of an event's context (binary mode). */
export function metaToAttributes(meta: EventMeta): Record<string, string> {
  const attributes: Record<string, string> = {
    "ce-id": meta.id,
    "ce-source": meta.source,
    "ce-type": meta.type,
    "ce-specversion": meta.specversion,
    "ce-time": meta.time,
    "content-type": meta.datacontenttype,
    "ce-correlationid": meta.correlationId,
  };
  if (meta.subject !== undefined) attributes["ce-subject"] = meta.subject;
  if (meta.causationId !== undefined) attributes["ce-causationid"] = meta.causationId;
  if (meta.traceparent !== undefined) attributes["ce-traceparent"] = meta.traceparent;
  for (const [name, value] of Object.entries(meta.extensions)) attributes[`ce-${name}`] = value;
  return attributes;
}

/**
 * Checks the context with the cloudevents SDK's validator (required fields, RFC 3339
 * time, extension names) and returns the problem, or undefined when it is valid.
 */
function cloudEventProblem(meta: EventMeta): string | undefined {
  try {
    new CloudEvent({
      id: meta.id,
      source: meta.source,
      type: meta.type,
      specversion: meta.specversion as "1.0",
      time: meta.time,
      datacontenttype: meta.datacontenttype,
      ...(meta.subject !== undefined && { subject: meta.subject }),
      correlationid: meta.correlationId,
      ...(meta.causationId !== undefined && { causationid: meta.causationId }),
      ...(meta.traceparent !== undefined && { traceparent: meta.traceparent }),
      ...meta.extensions,
    });
    return undefined;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const details = (err.errors ?? []).map((e) =>
      typeof e === "string" ? e : `${e.instancePath || "/"} ${e.message ?? ""}`.trim(),
    );
    return [err.message.split("\n")[0]!.trim(), ...details].join(": ");
  }
}

/** The Pub/Sub limit a message breaks, or undefined. */
function limitProblem(
  dataBytes: number,
  attributes: Readonly<Record<string, string>>,
): string | undefined {
  const entries = Object.entries(attributes);
  if (entries.length > PUBSUB_MESSAGE_LIMITS.attributes)
    return `${entries.length} attributes, over Pub/Sub's ${PUBSUB_MESSAGE_LIMITS.attributes}`;
  let total = dataBytes;
  for (const [key, value] of entries) {
    const keyBytes = Buffer.byteLength(key);
    const valueBytes = Buffer.byteLength(value);
    if (keyBytes > PUBSUB_MESSAGE_LIMITS.keyBytes)
      return `attribute key ${key.slice(0, 40)}… is ${keyBytes} bytes, over ${PUBSUB_MESSAGE_LIMITS.keyBytes}`;
    if (valueBytes > PUBSUB_MESSAGE_LIMITS.valueBytes)
      return `attribute ${key} is ${valueBytes} bytes, over ${PUBSUB_MESSAGE_LIMITS.valueBytes}`;
    total += keyBytes + valueBytes;
  }
  if (total > PUBSUB_MESSAGE_LIMITS.totalBytes)
    return `message is ${total} bytes, over Pub/Sub's ${PUBSUB_MESSAGE_LIMITS.totalBytes}`;
  return undefined;
}

function fieldValue(data: object, field: string | undefined): string | undefined {
  if (field === undefined) return undefined;
  const value = (data as Record<string, unknown>)[field];
  return value === undefined || value === null || value === "" ? undefined : String(value);
}

/** Encodes and decodes events against one catalog. */
export class EventCodec {
  constructor(readonly eventTypes: EventTypes) {}

  /**
   * The Pub/Sub message for an event.
   * @throws EncodeError when the type is unknown, the payload fails its schema, or the message is over Pub/Sub's limits.
   */
  encode<E extends EventType>(
    type: E,
    data: PayloadInput<E>,
    options: EventOptions,
  ): OutgoingMessage {
    const entry = this.eventTypes.find(type);
    if (entry === undefined)
      throw new EncodeError("unknown-type", `event type ${type} is not declared`);
    const payload = this.toMessage(entry, data);
    const id = options.id ?? randomUUID();
    const extensions: Record<string, string> = { ...options.extensions };
    for (const [attribute, field] of Object.entries(entry.routingAttributes)) {
      const value = fieldValue(payload, field);
      if (value !== undefined) extensions[attribute] = value;
    }
    const subject = options.subject ?? fieldValue(payload, entry.subject);
    const meta: EventMeta = {
      id,
      type,
      source: options.source,
      specversion: CLOUDEVENTS_SPECVERSION,
      time:
        options.time instanceof Date
          ? options.time.toISOString()
          : (options.time ?? new Date().toISOString()),
      ...(subject !== undefined && { subject }),
      correlationId: options.correlationId ?? id,
      ...(options.causationId !== undefined && { causationId: options.causationId }),
      ...(options.traceparent !== undefined && { traceparent: options.traceparent }),
      datacontenttype: CONTENT_TYPES[entry.encoding],
      extensions,
    };
    const problem = cloudEventProblem(meta);
    if (problem !== undefined) throw new EncodeError("malformed-attribute", `${type}: ${problem}`);

    const wrapper = entry.schema.fromObject({ [entry.oneofField]: payload });
    const body =
      entry.encoding === "json"
        ? Buffer.from(JSON.stringify(toProto3Json(entry.schema, wrapper)))
        : Buffer.from(entry.schema.encode(wrapper).finish());
    const attributes = metaToAttributes(meta);
    const overLimit = limitProblem(body.length, attributes);
    if (overLimit !== undefined) throw new EncodeError("oversize", `${type}: ${overLimit}`);
    const orderingKey = fieldValue(payload, entry.orderingKey);
    return {
      topic: entry.topic,
      data: body,
      attributes,
      ...(orderingKey !== undefined && { orderingKey }),
    };
  }

  /**
   * The event a message carries.
   * @param fromTopic the topic the message was received from; a type of another topic is rejected.
   * @throws DecodeError naming the problem; never anything else.
   */
  decode(message: IncomingMessage, fromTopic?: string): DecodedEvent {
    const { attributes } = message;
    const overLimit = limitProblem(message.data.length, attributes);
    if (overLimit !== undefined) throw new DecodeError("oversize", overLimit);
    for (const name of requiredAttributes) {
      if (!attributes[name])
        throw new DecodeError("missing-attribute", `the ${name} attribute is missing`);
    }
    const meta = attributesToMeta(attributes);
    if (meta.specversion !== CLOUDEVENTS_SPECVERSION)
      throw new DecodeError(
        "malformed-attribute",
        `ce-specversion ${meta.specversion} is not supported (only ${CLOUDEVENTS_SPECVERSION})`,
      );
    const problem = cloudEventProblem(meta);
    if (problem !== undefined) throw new DecodeError("malformed-attribute", problem);

    const entry = this.eventTypes.find(meta.type);
    if (entry === undefined)
      throw new DecodeError("unknown-type", `event type ${meta.type} is not declared`);
    if (fromTopic !== undefined && entry.topic !== fromTopic)
      throw new DecodeError(
        "wrong-topic",
        `event type ${meta.type} belongs on topic ${entry.topic}, not ${fromTopic}`,
      );
    const mediaType = meta.datacontenttype.split(";")[0]!.trim().toLowerCase();
    if (mediaType !== CONTENT_TYPES[entry.encoding]) {
      throw new DecodeError(
        "unsupported-content-type",
        `content-type ${meta.datacontenttype} does not match topic ${entry.topic}'s ${entry.encoding} encoding (${CONTENT_TYPES[entry.encoding]})`,
      );
    }

    const wrapper = this.decodeBody(entry, message.data) as Record<string, unknown> & {
      event?: string;
    };
    if (wrapper.event !== entry.oneofField) {
      throw new DecodeError(
        "type-mismatch",
        `ce-type says ${meta.type} but the body carries ${wrapper.event ?? "no event"}`,
      );
    }
    return {
      meta,
      type: meta.type as EventType,
      topic: entry.topic,
      data: wrapper[entry.oneofField] as Payload,
    };
  }

  /**
   * A payload from its proto3 JSON form (the gateway's input): fields unknown to the
   * message, and values of the wrong type, are rejected rather than dropped.
   * @throws EncodeError("invalid-payload") naming the field.
   */
  payloadFromJson<E extends EventType>(type: E, json: unknown): Payload<E> {
    const entry = this.eventTypes.find(type);
    if (entry === undefined)
      throw new EncodeError("unknown-type", `event type ${type} is not declared`);
    if (json === null || typeof json !== "object" || Array.isArray(json))
      throw new EncodeError("invalid-payload", `the data of ${type} must be a JSON object`);
    const known = Object.keys(reflectedType(entry.message).fields);
    const unknown = Object.keys(json).filter((key) => !known.includes(key));
    if (unknown.length > 0)
      throw new EncodeError(
        "invalid-payload",
        `${entry.messageName} has no field ${unknown.join(", ")} (fields: ${known.join(", ")})`,
      );
    return this.toMessage(
      entry,
      fromProto3Json(entry.message, json as Record<string, unknown>),
    ) as Payload<E>;
  }

  private toMessage(entry: EventTypeEntry, data: object): object {
    if (data instanceof entry.message) return data;
    const problem = entry.message.verify(data as Record<string, unknown>);
    if (problem !== null)
      throw new EncodeError("invalid-payload", `${entry.messageName}: ${problem}`);
    return entry.message.fromObject(data as Record<string, unknown>);
  }

  private decodeBody(entry: EventTypeEntry, data: Uint8Array): object {
    try {
      if (entry.encoding === "protobuf") return entry.schema.decode(data);
      const json: unknown = JSON.parse(utf8.decode(data));
      if (json === null || typeof json !== "object" || Array.isArray(json))
        throw new Error("the body is not a JSON object");
      const object = fromProto3Json(entry.schema, json as Record<string, unknown>);
      const problem = entry.schema.verify(object);
      if (problem !== null) throw new Error(problem);
      return entry.schema.fromObject(object);
    } catch (err) {
      throw new DecodeError(
        "undecodable-body",
        `the body is not a valid ${entry.encoding} ${entry.schema.getTypeUrl("").slice(1)}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}

/** The event context from message attributes; absent optional attributes stay absent. */
export function attributesToMeta(attributes: Readonly<Record<string, string>>): EventMeta {
  const extensions: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith("ce-")) continue;
    const name = key.slice(3);
    if (!contextAttributes.has(name)) extensions[name] = value;
  }
  const id = attributes["ce-id"] ?? "";
  const subject = attributes["ce-subject"];
  const causationId = attributes["ce-causationid"];
  const traceparent = attributes["ce-traceparent"];
  return {
    id,
    type: attributes["ce-type"] ?? "",
    source: attributes["ce-source"] ?? "",
    specversion: attributes["ce-specversion"] ?? "",
    time: attributes["ce-time"] ?? "",
    ...(subject !== undefined && { subject }),
    correlationId: attributes["ce-correlationid"] || id,
    ...(causationId !== undefined && { causationId }),
    ...(traceparent !== undefined && { traceparent }),
    datacontenttype: attributes["content-type"] ?? "",
    extensions,
  };
}
