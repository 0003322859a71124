/**
 * A CloudEvent from an HTTP request, in either mode of the CloudEvents HTTP binding:
 *   binary      `ce-*` headers for the context, the body is the data (`application/json`);
 *   structured  `content-type: application/cloudevents+json`, the whole event as one JSON object.
 * The data is the proto3 JSON of the event type's message. `id`, `type`, `source` and
 * `specversion` are required and non-empty: the gateway makes up no id, since a producer that
 * retries a request must send the same id for the retry to be recognised. `time` may be left
 * out (the gateway stamps it). Every attribute is checked by the CloudEvents validator
 * (handlers/runtime/cloudevents.ts); in structured mode an extension may be any JSON value the
 * format allows (string, integer, boolean), and is carried as its string form. The body is
 * parsed by the strict JSON parser (duplicate keys refused); the payload itself is checked later,
 * against the event type's message (gateway.ts). Every refusal is an HttpError with a reason.
 */
import type { IncomingHttpHeaders } from "node:http";
import { eventDefaults } from "../../infra/model/defaults";
import { attributeValueFromJson, contextProblem, SPECVERSION } from "../runtime/cloudevents";
import type { EventTypes } from "../runtime/event-types";
import { MAX_EVENT_ATTRIBUTES } from "../runtime/limits";
import { isJsonObject } from "../runtime/strict-json";
import { HttpError, mediaType, parseJsonBody } from "./http";

export const STRUCTURED_CONTENT_TYPE = "application/cloudevents+json";

/** What the request says about the event; the payload is still JSON. */
export interface HttpEvent {
  type: string;
  source: string;
  id: string;
  time?: string;
  subject?: string;
  correlationId?: string;
  causationId?: string;
  traceparent?: string;
  /** Other attributes (extensions, and `dataschema` when given), by name without `ce-`, as strings. */
  extensions: Record<string, string>;
  data: unknown;
  /** The size of the request body, for the event type's body limit (gateway.ts). */
  bodyBytes: number;
}

/** Attributes with a field of their own in HttpEvent (or checked here); everything else is an extension. */
const own = new Set([
  "specversion",
  "type",
  "source",
  "id",
  "time",
  "subject",
  "datacontenttype",
  "correlationid",
  "causationid",
  "traceparent",
]);

/** Attributes that must be JSON strings in structured mode: the spec's, and ours. */
const stringTyped = new Set([...own, "dataschema"]);

/**
 * The body limit to read a request with: its type's (`ce-type`) in binary mode, and in
 * structured mode, where the type is inside the body, the largest any type accepted from
 * outside declares (the type's own is checked once the body is parsed, gateway.ts).
 */
export function bodyLimitFor(headers: IncomingHttpHeaders, eventTypes: EventTypes): number {
  if (mediaType(headers["content-type"]) === STRUCTURED_CONTENT_TYPE) {
    const limits = eventTypes
      .all()
      .filter((entry) => entry.producers.length > 0)
      .map((entry) => entry.maxBodyBytes);
    return limits.length === 0 ? eventDefaults.maxBodyBytes : Math.max(...limits);
  }
  const type = headers["ce-type"];
  return (
    (typeof type === "string" ? eventTypes.find(type)?.maxBodyBytes : undefined) ??
    eventDefaults.maxBodyBytes
  );
}

/** A refusal (400 unless said) with its reason code. */
function refuse(reason: string, message: string, status = 400): never {
  throw new HttpError(status, message, {}, reason);
}

/**
 * The event from its attributes, by CloudEvents name, already strings.
 * @param where the prefix attribute names carry in messages ("ce-" in binary mode).
 */
function fromAttributes(
  attributes: Readonly<Record<string, string>>,
  data: unknown,
  where: string,
  bodyBytes: number,
): HttpEvent {
  const given = (name: string): string | undefined =>
    Object.hasOwn(attributes, name) && attributes[name] !== "" ? attributes[name] : undefined;
  const specversion = given("specversion");
  if (specversion === undefined)
    refuse(
      "missing-attribute",
      `${where}specversion is missing; CloudEvents needs "${SPECVERSION}"`,
    );
  if (specversion !== SPECVERSION)
    refuse(
      "malformed-attribute",
      `${where}specversion ${specversion.slice(0, 20)} is not supported; send "${SPECVERSION}"`,
    );
  const type = given("type");
  if (type === undefined)
    refuse(
      "missing-attribute",
      `${where}type is missing; name the event type, e.g. com.skillancer.user.created`,
    );
  const source = given("source");
  if (source === undefined)
    refuse(
      "missing-attribute",
      `${where}source is missing; name the producer, e.g. //user-service`,
    );
  const id = given("id");
  if (id === undefined)
    refuse(
      "missing-attribute",
      `${where}id is missing; give every event a unique id, and the same id when a request is retried (the gateway makes none up)`,
    );
  if (Object.keys(attributes).length > MAX_EVENT_ATTRIBUTES)
    refuse(
      "too-many-attributes",
      `the event has ${Object.keys(attributes).length} attributes, over the ${MAX_EVENT_ATTRIBUTES} an event may carry (so that its dead letter fits Pub/Sub's 100)`,
    );
  const problem = contextProblem(attributes, [], (name) => `${where}${name}`);
  if (problem !== undefined) refuse(problem.reason, problem.message);
  const datacontenttype = given("datacontenttype");
  if (datacontenttype !== undefined && mediaType(datacontenttype) !== "application/json")
    refuse(
      "unsupported-content-type",
      `datacontenttype ${datacontenttype} is not accepted; the data must be the event message's proto3 JSON (application/json)`,
      415,
    );
  const extensions: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes))
    if (!own.has(name)) extensions[name] = value;
  const optional = (name: string, key: keyof HttpEvent): Partial<HttpEvent> => {
    const value = given(name);
    return value === undefined ? {} : { [key]: value };
  };
  return {
    type,
    source,
    id,
    ...optional("time", "time"),
    ...optional("subject", "subject"),
    ...optional("correlationid", "correlationId"),
    ...optional("causationid", "causationId"),
    ...optional("traceparent", "traceparent"),
    extensions,
    data,
    bodyBytes,
  };
}

/** The attributes of a structured event, each as its string form (see the file comment). */
function structuredAttributes(
  event: Readonly<Record<string, unknown>>,
  numberTexts: ReadonlyMap<string, string>,
): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(event)) {
    if (name === "data" || name === "data_base64") continue;
    if (stringTyped.has(name) && value !== null && typeof value !== "string")
      refuse("malformed-attribute", `${name} must be a string`);
    const converted = attributeValueFromJson(value, numberTexts.get(name));
    if (converted === undefined) continue; // null: absent, as the JSON format says
    if ("problem" in converted)
      refuse("malformed-attribute", `${name.slice(0, 40)} ${converted.problem}`);
    Object.defineProperty(attributes, name, {
      value: converted.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return attributes;
}

/**
 * The event a request carries.
 * @throws HttpError 400 (malformed, with its reason), 415 (neither mode's content type).
 */
export function httpEvent(headers: IncomingHttpHeaders, body: Buffer): HttpEvent {
  const contentType = mediaType(headers["content-type"]);
  if (contentType === STRUCTURED_CONTENT_TYPE) {
    const numberTexts = new Map<string, string>();
    const event = parseJsonBody(body, "the structured CloudEvent", {
      onNumber: (path, text) => {
        if (path.length === 1) numberTexts.set(String(path[0]), text);
      },
    });
    if (!isJsonObject(event))
      refuse("malformed-json", "the structured CloudEvent must be a JSON object");
    if (event["data_base64"] !== undefined)
      refuse(
        "unsupported-content-type",
        "data_base64 is not accepted; send data as the event message's proto3 JSON",
      );
    return fromAttributes(structuredAttributes(event, numberTexts), event["data"], "", body.length);
  }
  if (headers["ce-specversion"] === undefined && headers["ce-type"] === undefined) {
    refuse(
      "unsupported-content-type",
      `send a CloudEvent: ce-* headers with a JSON body (binary mode), or content-type ${STRUCTURED_CONTENT_TYPE} (structured mode)`,
      415,
    );
  }
  if (contentType !== "application/json") {
    refuse(
      "unsupported-content-type",
      `content-type ${contentType || "(none)"} is not accepted; the body must be the event message's proto3 JSON (application/json)`,
      415,
    );
  }
  // fromEntries defines keys: a `ce-__proto__` header stays an attribute (and is refused as one).
  const attributes: Record<string, string> = Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => name.startsWith("ce-"))
      .flatMap(([name, value]) =>
        value === undefined
          ? []
          : [[name.slice(3), Array.isArray(value) ? value.join(",") : value]],
      ),
  );
  // A plain W3C trace header counts when the caller did not set the CloudEvents extension.
  const traceparent = headers["traceparent"];
  if (attributes["traceparent"] === undefined && typeof traceparent === "string")
    attributes["traceparent"] = traceparent;
  return fromAttributes(attributes, parseJsonBody(body, "the body"), "ce-", body.length);
}
