/**
 * The push host (Cloud Run): Pub/Sub POSTs each message, wrapped in JSON, and reads the
 * status code as the ack: 102, 200, 201, 202 and 204 ack, anything else nacks and Pub/Sub
 * retries with the subscription's backoff.
 *
 *   { "message": { "data": "<base64>", "attributes": {…}, "messageId": "…", "publishTime": "…",
 *                  "orderingKey": "…" },
 *     "subscription": "projects/<p>/subscriptions/<consumer>-<hash>", "deliveryAttempt": 3 }
 *
 * Every request's OIDC token is verified (oidc.ts) before its body is read; only local mode
 * may turn that off, and main.ts makes it say so explicitly. An acked outcome answers 204; a
 * nack 503 for a RetryableError, 422 for an event type this version does not declare yet, and
 * 500 for anything else; a bad token 401; a malformed body 400; a draining host 503.
 *
 * `deliveryAttempt` is in the body when the subscription has a dead-letter policy. The
 * emulator never sends it, so when it is missing the host counts the deliveries of each
 * message id it has seen itself; that count is exact for one local process, which is what
 * the emulator talks to.
 *
 * A push may come from any subscription the consumer has had (infra/model/resolve.ts,
 * isSubscriptionOf): while a filter or ordering change migrates it, its old subscription and its
 * new one both push here until the old one is retired, and the processed records apply each
 * event once.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { DeliveryProcessor } from "./delivery";
import { setTimeout as sleep } from "node:timers/promises";
import { DecodeError, RetryableError } from "./errors";
import { redeliveryDelaySeconds } from "./outcome";
import { isJsonObject, parseStrictJsonBytes } from "./strict-json";
import { UnauthorizedError, type IdTokenVerifier } from "./oidc";
import { isSubscriptionOf } from "../../infra/model/resolve";

/** Cloud Run sends SIGTERM 10 s before SIGKILL; this leaves time to flush and close after the drain. */
export const PUSH_DRAIN_TIMEOUT_SECONDS = 7;

/** A 10 MB message is ~13.4 MB in base64, plus its attributes and the JSON around them. */
export const MAX_PUSH_BODY_BYTES = 16 * 1024 * 1024;

/** Message ids whose deliveries the host counts when the body has no deliveryAttempt. */
const MAX_COUNTED_MESSAGES = 10_000;

export interface PushHostOptions {
  processor: DeliveryProcessor;
  logger: Logger;
  /** Verifies the bearer token of each request; `false` accepts every request (local mode only). */
  verify: IdTokenVerifier | false;
  /** How long {@link PushHost.stop} waits for requests in flight, in milliseconds. Default {@link PUSH_DRAIN_TIMEOUT_SECONDS} × 1000. */
  drainTimeoutMs?: number;
  /**
   * Whether a nack waits out the subscription's declared backoff before it answers, so the
   * next push comes that much later, as Pub/Sub spaces them: the emulator pushes again at once.
   * The wait is cut short at the ack deadline (the emulator's push timeout) and on stop.
   * Default false (Pub/Sub applies the retry policy itself).
   */
  waitOutBackoff?: boolean;
}

/** The push request body. */
interface PushBody {
  message: {
    data?: string;
    attributes?: Record<string, string>;
    messageId?: string;
    message_id?: string;
    orderingKey?: string;
  };
  subscription?: string;
  deliveryAttempt?: number;
}

class BadRequest extends Error {}

/**
 * The status of a nack (any status but 102, 200, 201, 202 and 204 nacks): 503 for a retryable
 * failure; 422 for a message this version cannot decode yet and gives back (an event type a
 * newer declaration of the topic adds, delivery.ts), the sender's content, not the host's fault;
 * 500 for anything else.
 */
function nackStatus(error: unknown): number {
  if (error instanceof RetryableError) return 503;
  if (error instanceof DecodeError) return 422;
  return 500;
}

function reply(res: ServerResponse, status: number, text: string): void {
  if (status === 204) {
    res.writeHead(204).end();
    return;
  }
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(`${text}\n`);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PUSH_BODY_BYTES)
      throw new BadRequest(`the body is over ${MAX_PUSH_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The push body, checked as Pub/Sub writes it (strict JSON, strings where it sends strings);
 * anything else is a BadRequest (400), never an exception that answers 500.
 */
function parseBody(raw: Buffer): PushBody {
  let body: unknown;
  try {
    body = parseStrictJsonBytes(raw);
  } catch (err) {
    throw new BadRequest(`the body is not JSON: ${(err as Error).message}`);
  }
  if (!isJsonObject(body) || !isJsonObject(body["message"]))
    throw new BadRequest("the body has no message object (is this a Pub/Sub push request?)");
  const m = body["message"];
  const messageId = m["messageId"] ?? m["message_id"];
  if (typeof messageId !== "string" || messageId === "")
    throw new BadRequest("the message has no messageId");
  if (m["data"] !== undefined && (typeof m["data"] !== "string" || !base64.test(m["data"])))
    throw new BadRequest("message.data is not a base64 string");
  const attributes = m["attributes"];
  if (
    attributes !== undefined &&
    (!isJsonObject(attributes) || Object.values(attributes).some((v) => typeof v !== "string"))
  )
    throw new BadRequest("message.attributes is not an object of strings");
  if (m["orderingKey"] !== undefined && typeof m["orderingKey"] !== "string")
    throw new BadRequest("message.orderingKey is not a string");
  if (body["subscription"] !== undefined && typeof body["subscription"] !== "string")
    throw new BadRequest("subscription is not a string");
  const attempt = body["deliveryAttempt"];
  if (attempt !== undefined && !(Number.isSafeInteger(attempt) && (attempt as number) >= 1))
    throw new BadRequest("deliveryAttempt is not a positive integer");
  return body as unknown as PushBody;
}

export class PushHost {
  private draining = false;
  /** Aborted on stop: a nack waiting out its backoff answers at once. */
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly attempts = new Map<string, number>();

  constructor(private readonly options: PushHostOptions) {}

  /** True until the host starts draining. */
  get ready(): boolean {
    return !this.draining;
  }

  /** The request handler for the runtime server (server.ts). */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== "POST") return reply(res, 405, "push requests are POSTs");
    if (this.draining) return reply(res, 503, "shutting down");
    const work = this.serve(req, res).catch((err: unknown) => {
      this.options.logger.error({ err }, "push request failed");
      if (!res.headersSent) reply(res, 500, "internal error");
    });
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  };

  /** Refuses new requests and waits for those in flight, up to the drain bound. */
  async stop(): Promise<void> {
    this.draining = true;
    this.stopping.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise(
        (resolve) =>
          (timer = setTimeout(
            resolve,
            this.options.drainTimeoutMs ?? PUSH_DRAIN_TIMEOUT_SECONDS * 1000,
          )),
      ),
    ]);
    clearTimeout(timer);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { processor, logger, verify } = this.options;
    const consumer = processor.consumer.name;
    if (verify !== false) {
      try {
        await verify(req.headers.authorization);
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
        req.resume();
        logger.warn({ reason: err.message, consumer }, "push request refused");
        return reply(res, 401, "unauthorized");
      }
    }
    let body: PushBody;
    try {
      body = parseBody(await readBody(req));
      if (
        body.subscription !== undefined &&
        !isSubscriptionOf(consumer, body.subscription.slice(body.subscription.lastIndexOf("/") + 1))
      ) {
        throw new BadRequest(
          `the message is from ${body.subscription}, not one of this consumer's subscriptions (${consumer}-<hash>)`,
        );
      }
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      req.resume();
      logger.warn({ reason: err.message, consumer }, "malformed push request");
      return reply(res, 400, err.message);
    }
    const { message } = body;
    const messageId = (message.messageId ?? message.message_id)!;
    const deliveryAttempt =
      typeof body.deliveryAttempt === "number"
        ? body.deliveryAttempt
        : this.countAttempt(messageId);
    const outcome = await processor.process({
      messageId,
      data: Buffer.from(message.data ?? "", "base64"),
      attributes: message.attributes ?? {},
      deliveryAttempt,
      ...(message.orderingKey ? { orderingKey: message.orderingKey } : {}),
    });
    if (outcome.action === "ack") {
      this.attempts.delete(messageId);
      return reply(res, 204, "");
    }
    if (this.options.waitOutBackoff === true) await this.waitOutBackoff(deliveryAttempt);
    reply(res, nackStatus(outcome.error), "nacked; Pub/Sub will redeliver");
  }

  private async waitOutBackoff(attempt: number | undefined): Promise<void> {
    const { consumer } = this.options.processor;
    const seconds = Math.min(
      redeliveryDelaySeconds(consumer.retry, attempt),
      consumer.ackDeadlineSeconds - 1,
    );
    if (seconds <= 0) return;
    await sleep(seconds * 1000, undefined, { signal: this.stopping.signal }).catch(() => {
      // Stopping: answer now, and the message comes back to the next start.
    });
  }

  private countAttempt(messageId: string): number {
    const attempt = (this.attempts.get(messageId) ?? 0) + 1;
    this.attempts.delete(messageId);
    this.attempts.set(messageId, attempt);
    // Maps iterate in insertion order, so the first key is the message seen longest ago.
    if (this.attempts.size > MAX_COUNTED_MESSAGES)
      this.attempts.delete(this.attempts.keys().next().value!);
    return attempt;
  }
}
