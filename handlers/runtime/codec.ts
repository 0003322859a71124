/**
 * The event contract on the wire: CloudEvents 1.0 in the Google Cloud Pub/Sub protocol
 * binding, binary mode. Context attributes travel as `ce-<name>` message attributes,
 * `datacontenttype` as `content-type`, and the body is the topic's wrapper message
 * (its Pub/Sub schema) holding the event's message in its `oneof event`: protobuf
 * binary, or proto3 JSON where the topic says `encoding: "json"`.
 *
 * Every context is checked attribute by attribute by our own CloudEvents 1.0 validator
 * (cloudevents.ts), and JSON bodies by the strict parser (strict-json.ts) and proto3 JSON
 * mapping (proto-json.ts), which refuse duplicate keys at every depth, and unknown fields in
 * what the gateway takes; a body decoded from a topic skips them, as protobuf binary does, so
 * a compatible schema revision never dead-letters a message at a consumer not yet updated.
 * Decoding never throws anything but a {@link DecodeError} with a {@link DecodeReason}, which
 * the runtime dead-letters: an exception nobody foresaw becomes DecodeError("decode-failed").
 */
import { randomUUID } from "node:crypto";
import * as protobuf from "protobufjs";
import { reflectedType } from "../../infra/model/proto";
import type { MessageClass } from "../../infra/model/types";
import type { EventTypeEntry, EventTypes, EventType, Payload, PayloadInput } from "./event-types";
import { contextProblem } from "./cloudevents";
import { DecodeError, EncodeError, type DecodeReason } from "./errors";
import { messageLimitProblem } from "./limits";
import { fromProto3Json, ProtoJsonError, toProto3Json } from "./proto-json";
import { isJsonObject, JsonError, parseStrictJsonBytes } from "./strict-json";

export { MAX_EVENT_ATTRIBUTES, PUBSUB_MESSAGE_LIMITS } from "./limits";

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
  /**
   * Other context attributes, without the `ce-` prefix: extensions (routing attributes such as
   * `channel`, anything a producer adds), and `dataschema` when given.
   */
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
/** What the wire requires beyond the spec's four: every event has a time and a content type. */
const requiredOnTheWire = ["time", "datacontenttype"] as const;

/** The attribute that carries a context attribute in the Pub/Sub binding. */
function wireName(name: string): string {
  return name === "datacontenttype" ? "content-type" : `ce-${name}`;
}

/** The context of a message by CloudEvents attribute names; attributes that are not CloudEvents are left out. */
function contextOf(attributes: Readonly<Record<string, string>>): Record<string, string> {
  // fromEntries defines keys: `ce-__proto__` stays an attribute (and is refused for its name).
  return Object.fromEntries(
    Object.entries(attributes).flatMap(([key, value]): [string, string][] => {
      if (key === "content-type") return [["datacontenttype", value]];
      return key.startsWith("ce-") ? [[key.slice(3), value]] : [];
    }),
  );
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

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
   * @throws EncodeError when the type is unknown, the payload fails its schema, a context
   *   attribute is invalid (cloudevents.ts), or the message is over the limits (limits.ts:
   *   89 attributes, Pub/Sub's sizes).
   */
  encode<E extends EventType>(
    type: E,
    data: PayloadInput<E>,
    options: EventOptions,
  ): OutgoingMessage {
    const entry = this.eventTypes.find(type);
    if (entry === undefined)
      throw new EncodeError("unknown-type", this.eventTypes.undeclared(type));
    const payload = this.toMessage(entry, data);
    const id = options.id ?? randomUUID();
    const extensions: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.extensions ?? {})) {
      // An extension named like a context attribute would overwrite it on the wire.
      if (contextAttributes.has(name) || name === "datacontenttype")
        throw new EncodeError(
          "malformed-attribute",
          `${type}: the extension ${name} is a context attribute; set it as such`,
        );
      extensions[name] = value;
    }
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
    const attributes = metaToAttributes(meta);
    const problem = contextProblem(contextOf(attributes), requiredOnTheWire);
    if (problem !== undefined) throw new EncodeError(problem.reason, `${type}: ${problem.message}`);

    const wrapper = entry.schema.fromObject({ [entry.oneofField]: payload });
    const body =
      entry.encoding === "json"
        ? Buffer.from(JSON.stringify(toProto3Json(entry.schema, wrapper)))
        : Buffer.from(entry.schema.encode(wrapper).finish());
    const overLimit = messageLimitProblem(body.length, attributes);
    if (overLimit !== undefined)
      throw new EncodeError(overLimit.reason, `${type}: ${overLimit.message}`);
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
   * @throws DecodeError naming the problem; never anything else (an exception nobody foresaw
   *   is a DecodeError("decode-failed")).
   */
  decode(message: IncomingMessage, fromTopic?: string): DecodedEvent {
    try {
      return this.decodeChecked(message, fromTopic);
    } catch (err) {
      if (err instanceof DecodeError) throw err;
      throw new DecodeError(
        "decode-failed",
        `the message could not be decoded (an unforeseen failure): ${describe(err)}`,
      );
    }
  }

  private decodeChecked(message: IncomingMessage, fromTopic: string | undefined): DecodedEvent {
    const { attributes, data } = message;
    if (!(data instanceof Uint8Array))
      throw new DecodeError("undecodable-body", "the message data is not bytes");
    if (attributes === null || typeof attributes !== "object" || Array.isArray(attributes))
      throw new DecodeError("malformed-attribute", "the message attributes are not a map");
    for (const [key, value] of Object.entries(attributes))
      if (typeof value !== "string")
        throw new DecodeError(
          "malformed-attribute",
          `the attribute ${key.slice(0, 40)} is a ${typeof value}, not a string`,
        );
    const overLimit = messageLimitProblem(data.length, attributes);
    if (overLimit !== undefined) throw new DecodeError(overLimit.reason, overLimit.message);
    if (Object.hasOwn(attributes, "ce-datacontenttype"))
      throw new DecodeError(
        "malformed-attribute",
        "ce-datacontenttype is not an attribute in the Pub/Sub binding; the content type travels as content-type",
      );
    const problem = contextProblem(contextOf(attributes), requiredOnTheWire, wireName);
    if (problem !== undefined) throw new DecodeError(problem.reason, problem.message);
    const meta = attributesToMeta(attributes);

    const entry = this.eventTypes.find(meta.type);
    if (entry === undefined)
      throw new DecodeError("unknown-type", this.eventTypes.undeclared(meta.type));
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

    const wrapper = this.decodeBody(entry, data) as Record<string, unknown> & {
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
   * message, at any depth, and values of the wrong type, are refused rather than dropped.
   * @throws EncodeError("unknown-field" | "duplicate-key" | "invalid-payload") naming the path.
   */
  payloadFromJson<E extends EventType>(type: E, json: unknown): Payload<E> {
    const entry = this.eventTypes.find(type);
    if (entry === undefined)
      throw new EncodeError("unknown-type", this.eventTypes.undeclared(type));
    if (!isJsonObject(json))
      throw new EncodeError("invalid-payload", `the data of ${type} must be a JSON object`);
    let object: Record<string, unknown>;
    try {
      object = fromProto3Json(entry.message, json);
    } catch (err) {
      if (!(err instanceof ProtoJsonError)) throw err;
      throw new EncodeError(err.kind, `the data of ${type}: ${err.message}`);
    }
    return this.toMessage(entry, object) as Payload<E>;
  }

  private toMessage(entry: EventTypeEntry, data: object): object {
    if (data instanceof entry.message) return data;
    const problem = entry.message.verify(data as Record<string, unknown>);
    if (problem !== null)
      throw new EncodeError(
        "invalid-payload",
        `${entry.messageName}: ${withAllowedValues(entry.message, problem)}`,
      );
    return entry.message.fromObject(data as Record<string, unknown>);
  }

  private decodeBody(entry: EventTypeEntry, data: Uint8Array): object {
    const refuse = (reason: DecodeReason, problem: string): never => {
      throw new DecodeError(
        reason,
        `the body is not a valid ${entry.encoding} ${entry.schema.getTypeUrl("").slice(1)}: ${problem}`,
      );
    };
    if (entry.encoding === "protobuf") {
      try {
        return entry.schema.decode(data);
      } catch (err) {
        return refuse("undecodable-body", err instanceof Error ? err.message : String(err));
      }
    }
    let json: unknown;
    try {
      json = parseStrictJsonBytes(data);
    } catch (err) {
      if (!(err instanceof JsonError)) throw err;
      return refuse(
        err.kind === "duplicate-key" ? "duplicate-key" : "undecodable-body",
        err.message,
      );
    }
    if (!isJsonObject(json)) return refuse("undecodable-body", "the body is not a JSON object");
    let object: Record<string, unknown>;
    try {
      // Skipped, not refused: a producer on a newer compatible definition of the topic's schema
      // may send a field this consumer does not know yet (proto-json.ts, UnknownFields).
      object = fromProto3Json(entry.schema, json, [], { unknownFields: "ignore" });
    } catch (err) {
      if (!(err instanceof ProtoJsonError)) throw err;
      return refuse(err.kind === "invalid-payload" ? "undecodable-body" : err.kind, err.message);
    }
    const problem = entry.schema.verify(object);
    if (problem !== null) return refuse("undecodable-body", problem);
    return entry.schema.fromObject(object);
  }
}

/**
 * protobufjs says only `role: enum value expected`; the fix is one of the enum's names, so the
 * message lists them (`budget.tier` and map or list fields are followed to their enum).
 */
function withAllowedValues(message: MessageClass, problem: string): string {
  const match = /^([\w.[\]{}]+): enum value expected$/.exec(problem);
  if (match === null) return problem;
  let type: protobuf.Type | null = reflectedType(message);
  let field: protobuf.Field | undefined;
  for (const name of match[1]!.replace(/\[[^\]]*\]|\{[^}]*\}/g, "").split(".")) {
    field = type?.fields[name];
    if (field === undefined) return problem;
    type = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
  }
  const values =
    field?.resolvedType instanceof protobuf.Enum ? Object.keys(field.resolvedType.values) : [];
  return values.length === 0 ? problem : `${problem}: one of ${values.join(", ")}`;
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
