/**
 * A CloudEvent from an HTTP request, in either mode of the CloudEvents HTTP binding:
 *   binary      `ce-*` headers for the context, the body is the data (`application/json`);
 *   structured  `content-type: application/cloudevents+json`, the whole event as one JSON object.
 * The data is the proto3 JSON of the event type's message. `id` and `time` may be left out
 * (the gateway assigns them, as the cloudevents SDK does); `type`, `source` and `specversion`
 * may not. The payload itself is checked later, against the event type's message (gateway.ts).
 */
import type { IncomingHttpHeaders } from "node:http";
import { CLOUDEVENTS_SPECVERSION } from "../runtime/codec";
import { HttpError, mediaType, parseJsonBody } from "./http";

export const STRUCTURED_CONTENT_TYPE = "application/cloudevents+json";

/** What the request says about the event; the payload is still JSON. */
export interface HttpEvent {
  type: string;
  source: string;
  id?: string;
  time?: string;
  subject?: string;
  correlationId?: string;
  causationId?: string;
  traceparent?: string;
  /** Extension attributes other than the ones above, by name without `ce-`. */
  extensions: Record<string, string>;
  data: unknown;
}

/** Context attributes with a field of their own; everything else is an extension. */
const known = new Set([
  "specversion",
  "type",
  "source",
  "id",
  "time",
  "subject",
  "datacontenttype",
  "dataschema",
  "correlationid",
  "causationid",
  "traceparent",
  "data",
  "data_base64",
]);

function fromAttributes(
  attributes: Readonly<Record<string, unknown>>,
  data: unknown,
  where: string,
): HttpEvent {
  const text = (name: string): string | undefined => {
    const value = attributes[name];
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") throw new HttpError(400, `${where}${name} must be a string`);
    return value;
  };
  const specversion = text("specversion");
  if (specversion === undefined)
    throw new HttpError(
      400,
      `${where}specversion is missing; CloudEvents needs "${CLOUDEVENTS_SPECVERSION}"`,
    );
  if (specversion !== CLOUDEVENTS_SPECVERSION)
    throw new HttpError(
      400,
      `${where}specversion ${specversion} is not supported; send "${CLOUDEVENTS_SPECVERSION}"`,
    );
  const type = text("type");
  if (type === undefined)
    throw new HttpError(
      400,
      `${where}type is missing; name the event type, e.g. com.skillancer.user.created`,
    );
  const source = text("source");
  if (source === undefined)
    throw new HttpError(400, `${where}source is missing; name the producer, e.g. //user-service`);
  const datacontenttype = text("datacontenttype");
  if (datacontenttype !== undefined && mediaType(datacontenttype) !== "application/json") {
    throw new HttpError(
      415,
      `datacontenttype ${datacontenttype} is not accepted; the data must be the event message's proto3 JSON (application/json)`,
    );
  }
  const extensions: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (known.has(name)) continue;
    if (typeof value !== "string") throw new HttpError(400, `${where}${name} must be a string`);
    extensions[name] = value;
  }
  const optional = (name: string, key: keyof HttpEvent): Partial<HttpEvent> => {
    const value = text(name);
    return value === undefined ? {} : { [key]: value };
  };
  return {
    type,
    source,
    ...optional("id", "id"),
    ...optional("time", "time"),
    ...optional("subject", "subject"),
    ...optional("correlationid", "correlationId"),
    ...optional("causationid", "causationId"),
    ...optional("traceparent", "traceparent"),
    extensions,
    data,
  };
}

/**
 * The event a request carries.
 * @throws HttpError 400 (malformed), 415 (neither mode's content type).
 */
export function httpEvent(headers: IncomingHttpHeaders, body: Buffer): HttpEvent {
  const contentType = mediaType(headers["content-type"]);
  if (contentType === STRUCTURED_CONTENT_TYPE) {
    const event = parseJsonBody(body, "the structured CloudEvent");
    if (event === null || typeof event !== "object" || Array.isArray(event))
      throw new HttpError(400, "the structured CloudEvent must be a JSON object");
    const attributes = event as Record<string, unknown>;
    if (attributes["data_base64"] !== undefined)
      throw new HttpError(
        400,
        "data_base64 is not accepted; send data as the event message's proto3 JSON",
      );
    return fromAttributes(attributes, attributes["data"], "");
  }
  if (headers["ce-specversion"] === undefined && headers["ce-type"] === undefined) {
    throw new HttpError(
      415,
      `send a CloudEvent: ce-* headers with a JSON body (binary mode), or content-type ${STRUCTURED_CONTENT_TYPE} (structured mode)`,
    );
  }
  if (contentType !== "application/json") {
    throw new HttpError(
      415,
      `content-type ${contentType || "(none)"} is not accepted; the body must be the event message's proto3 JSON (application/json)`,
    );
  }
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith("ce-") || value === undefined) continue;
    attributes[name.slice(3)] = Array.isArray(value) ? value.join(",") : value;
  }
  // A plain W3C trace header counts when the caller did not set the CloudEvents extension.
  const traceparent = headers["traceparent"];
  if (attributes["traceparent"] === undefined && typeof traceparent === "string")
    attributes["traceparent"] = traceparent;
  return fromAttributes(attributes, parseJsonBody(body, "the body"), "ce-");
}
