/**
 * The span of one gateway request that may publish (`POST /v1/events`, `POST /v1/shares`): a
 * server span, the child of the caller's W3C `traceparent` (or a binary CloudEvent's
 * `ce-traceparent`) when it sends one, and the parent of the publish span of every event the
 * request sends, so a share's whole fan-out is one trace. A refusal (4xx) is the caller's
 * error, not the gateway's: it is recorded as the status code and reason, and the span stays
 * unset; a 5xx marks it failed, as OpenTelemetry's HTTP conventions say.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from "@opentelemetry/semantic-conventions";
import {
  ATTR,
  SpanKind,
  context,
  contextFromHeaders,
  recordFailure,
  trace,
  tracer,
} from "../runtime/tracing";
import { HttpError } from "./http";

/** Runs a request's work in its server span (see the file comment). */
export async function inRequestSpan(
  request: IncomingMessage,
  response: ServerResponse,
  route: string,
  work: () => Promise<void>,
): Promise<void> {
  const parent = contextFromHeaders(request.headers);
  const span = tracer().startSpan(
    `${request.method ?? "GET"} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: request.method ?? "GET",
        [ATTR_HTTP_ROUTE]: route,
        [ATTR_URL_PATH]: route,
      },
    },
    parent,
  );
  try {
    await context.with(trace.setSpan(parent, span), work);
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.statusCode);
  } catch (err) {
    const status = err instanceof HttpError ? err.status : 500;
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (err instanceof HttpError && status < 500)
      span.setAttribute(ATTR.errorType, err.reason ?? String(status));
    else recordFailure(span, err);
    throw err;
  } finally {
    span.end();
  }
}
