/**
 * The handler every hook runs (a hook is a consumer: infra/model/types.ts, HookSpec). It POSTs
 * the event to the hook's URL as a CloudEvent in HTTP binary mode (`ce-*` headers, the payload
 * as proto3 JSON), signed per Standard Webhooks with the `standardwebhooks` package:
 * `webhook-id` is the event's identity, its source and id together (`eventKey`), so a
 * redelivery carries the same one, the agent can drop a duplicate, and two producers' events
 * that share an id stay two; `webhook-timestamp` and `webhook-signature` let it check who sent it and when.
 *
 * It runs inside the delivery pipeline like any handler, so a hook gets the subscription's
 * retries with backoff, its dead letters and idempotency records, and, through
 * `ctx.breaker`, a circuit breaker per hook. What the agent answers decides:
 * - 2xx: delivered. If the body is a CloudEvent (binary `ce-*` headers, or
 *   `application/cloudevents+json`), it is checked as the gateway checks an event and
 *   published as the hook's own event; its type must be one the hook declares it emits.
 * - 408, 425, 429, 5xx, no answer, a timeout: retried (RetryableError).
 * - any other status, a redirect, or a 2xx with a bad event: dead-lettered (PermanentError)
 *   with the reason, since sending it again would get the same answer.
 */
import type { IncomingHttpHeaders } from "node:http";
import { Webhook } from "standardwebhooks";
import { metaToAttributes } from "../runtime/codec";
import { eventKey } from "../runtime/idempotency";
import { isRecordOnly } from "./environment";
import { EncodeError, PermanentError, RetryableError } from "../runtime/errors";
import type { EventType, EventTypes } from "../runtime/event-types";
import type { Handler, HandlerContext, HandlerEvent, HandlerName } from "../runtime/handler";
import { ProtoJsonError, fromProto3Json, toProto3Json } from "../runtime/proto-json";
import { HttpError } from "../gateway/http";
import { STRUCTURED_CONTENT_TYPE, httpEvent } from "../gateway/http-event";

/** The largest reply the hook reads: the gateway's default body limit. */
export const MAX_REPLY_BYTES = 1_000_000;

/** Statuses worth sending again: the agent is busy, down or slow. */
const RETRY_STATUSES = new Set([408, 425, 429]);

export interface HookHandlerOptions {
  /** The declared event types (for each payload's message). */
  eventTypes: EventTypes;
  /** The hook's URL on the stack the process runs (the declaration's, or the stack's override). */
  url: () => string;
  /** The Standard Webhooks signing secret (`whsec_…`). */
  secret: () => string;
  /** Time one POST may take, in milliseconds. Default 10 000. */
  timeoutMs?: number;
}

/** Headers of a fetch response as Node's request parser gives them: lowercase names, strings. */
function headersOf(response: Response): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  response.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
  return headers;
}

/** The body, up to `limit` bytes; more than that is refused without reading on. */
async function readLimited(response: Response, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new PermanentError(
        "hook-reply-invalid",
        `the hook's reply is over ${limit} bytes; a reply is one event`,
      );
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

/** Whether a 2xx reply carries a CloudEvent, in either HTTP mode. */
function carriesEvent(headers: IncomingHttpHeaders): boolean {
  const contentType = String(headers["content-type"] ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
  return headers["ce-specversion"] !== undefined || contentType === STRUCTURED_CONTENT_TYPE;
}

/** The `webhook-*` and binary-mode CloudEvent headers, and the body, of one delivery. */
export function signedDelivery(
  event: HandlerEvent<EventType>,
  eventTypes: EventTypes,
  webhook: Webhook,
  now: Date = new Date(),
): { headers: Record<string, string>; body: string } {
  const entry = eventTypes.get(event.type);
  const body = JSON.stringify(toProto3Json(entry.message, event.data as object));
  const webhookId = eventKey(event.meta);
  const headers: Record<string, string> = {
    ...metaToAttributes(event.meta),
    "content-type": "application/json",
    "webhook-id": webhookId,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": webhook.sign(webhookId, now, body),
  };
  return { headers, body };
}

/** The handler of hook `name`, accepting `accepts` (its declared types). */
export function hookHandler(
  name: string,
  accepts: readonly [EventType, ...EventType[]],
  options: HookHandlerOptions,
): Handler {
  const service = `hook:${name}`;
  const handle = async (event: HandlerEvent<EventType>, ctx: HandlerContext): Promise<void> => {
    // Replay runs handlers again for what they compute: an agent must not be told twice.
    if (isRecordOnly(ctx.firestore)) {
      ctx.log.info({ hook: name }, "hook not called: outside calls are recorded only (replay)");
      return;
    }
    const url = options.url();
    const webhook = new Webhook(options.secret());
    const { headers, body } = signedDelivery(event, options.eventTypes, webhook);
    const reply = await ctx.breaker(service).execute(async (signal) => {
      let response: Response;
      try {
        response = await fetch(url, {
          method: "POST",
          headers,
          body,
          redirect: "manual",
          signal: AbortSignal.any([signal, ctx.signal]),
        });
      } catch (err) {
        throw new RetryableError(`hook ${name}: no answer from ${url}`, { cause: err });
      }
      const status = response.status;
      if (status >= 500 || RETRY_STATUSES.has(status)) {
        await response.body?.cancel();
        throw new RetryableError(`hook ${name} answered ${status}`);
      }
      if (status < 200 || status > 299) {
        await response.body?.cancel();
        throw new PermanentError("hook-refused", `hook ${name} answered ${status}`);
      }
      const replyHeaders = headersOf(response);
      if (!carriesEvent(replyHeaders)) {
        await response.body?.cancel();
        return undefined;
      }
      return { headers: replyHeaders, body: await readLimited(response, MAX_REPLY_BYTES) };
    });
    ctx.log.info({ hook: name, url, answered: reply ? "an event" : "ok" }, "hook delivered");
    if (reply !== undefined) publishReply(name, reply, ctx, options.eventTypes);
  };
  return {
    kind: "handler",
    name: name as HandlerName,
    accepts,
    // The subscription retries, with its backoff and dead letter; the breaker still opens on a
    // run of failures, so a dead agent is not called for every event in the backlog.
    outside: { [service]: { retries: 0, timeoutMs: options.timeoutMs ?? 10_000 } },
    handle: handle as Handler["handle"],
  };
}

/** Checks the hook's reply as the gateway checks an event, and publishes it as the hook's. */
function publishReply(
  name: string,
  reply: { headers: IncomingHttpHeaders; body: Buffer },
  ctx: HandlerContext,
  eventTypes: EventTypes,
): void {
  const invalid = (message: string, cause?: unknown): never => {
    throw new PermanentError("hook-reply-invalid", `hook ${name}'s reply: ${message}`, { cause });
  };
  let event;
  try {
    event = httpEvent(reply.headers, reply.body);
  } catch (err) {
    if (err instanceof HttpError) return invalid(err.message, err);
    throw err;
  }
  const entry = eventTypes.find(event.type);
  if (entry === undefined) return invalid(`${event.type} is not a declared event type`);
  if (event.data === null || typeof event.data !== "object" || Array.isArray(event.data))
    return invalid(`the data of ${event.type} must be a JSON object`);
  let data: Record<string, unknown>;
  try {
    data = fromProto3Json(entry.message, event.data as Record<string, unknown>);
  } catch (err) {
    if (err instanceof ProtoJsonError) return invalid(`the data of ${event.type}: ${err.message}`);
    throw err;
  }
  // ctx.publish refuses a type the hook does not declare it emits (undeclared-emit, dead-lettered).
  try {
    ctx.publish(event.type as never, data as never, {
      ...(event.subject !== undefined && { subject: event.subject }),
      // The agent's own id for it, where it fits an attribute; the event gets an id of ours.
      ...(event.id.length <= 256 && { extensions: { hookeventid: event.id } }),
    });
  } catch (err) {
    if (err instanceof EncodeError) return invalid(err.message, err);
    throw err;
  }
}
