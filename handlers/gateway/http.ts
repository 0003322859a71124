/**
 * The little HTTP the gateway and the tracker need on top of node:http: reading a bounded
 * body, answering JSON, the probes, and an error that carries its status so a route can stop
 * with one `throw`.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { eventDefaults } from "../../infra/model/defaults";
import { applySecurityHeaders } from "../runtime/security-headers";
import {
  JsonError,
  parseStrictJsonBytes,
  type JsonValue,
  type StrictJsonOptions,
} from "../runtime/strict-json";

/** The reason a refusal carries when its thrower names none, by status. */
const REASON_BY_STATUS: Readonly<Record<number, string>> = {
  400: "bad-request",
  401: "unauthenticated",
  403: "forbidden",
  404: "not-found",
  405: "method-not-allowed",
  413: "oversize",
  415: "unsupported-content-type",
  429: "rate-limited",
  503: "unavailable",
};

/** A request the gateway refuses; `status`, `message` and `reason` are what the caller gets back. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  /**
   * A short stable code for the refusal (e.g. "type-not-allowed", "missing-attribute"),
   * answered beside the message; one by status when the thrower names none.
   */
  readonly reason: string;
  constructor(
    readonly status: number,
    message: string,
    /** Headers the refusal carries (Retry-After). */
    readonly headers: Record<string, string> = {},
    reason?: string,
  ) {
    super(message);
    this.reason = reason ?? REASON_BY_STATUS[status] ?? `http-${status}`;
  }
}

/**
 * The body of a request, refused with 413 ("oversize") past `limitBytes`: at once when its
 * Content-Length says so, else as soon as more than that has arrived, so no more than the limit
 * is ever buffered. Default: an event type's default body limit (1 MB, infra/model/defaults.ts).
 */
export async function readBody(
  request: IncomingMessage,
  limitBytes: number = eventDefaults.maxBodyBytes,
): Promise<Buffer> {
  const declared = Number(request.headers["content-length"] ?? "0");
  if (declared > limitBytes)
    throw new HttpError(
      413,
      `the body is ${declared} bytes, over the ${limitBytes}-byte limit for it`,
      {},
      "oversize",
    );
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes)
      throw new HttpError(
        413,
        `the body is over the ${limitBytes}-byte limit for it`,
        {},
        "oversize",
      );
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * `body` parsed as JSON by the strict parser (handlers/runtime/strict-json.ts): a duplicate
 * key is refused with its path, `__proto__` is an ordinary key; `what` names it in the refusal.
 * @param options.onNumber see StrictJsonOptions.
 * @throws HttpError 400, reason "malformed-json" when it is empty, not UTF-8 or not JSON,
 *   "duplicate-key" when an object has a key twice.
 */
export function parseJsonBody(
  body: Buffer,
  what = "the body",
  options: StrictJsonOptions = {},
): JsonValue {
  if (body.length === 0) throw new HttpError(400, `${what} is empty`, {}, "malformed-json");
  try {
    return parseStrictJsonBytes(body, options);
  } catch (err) {
    if (!(err instanceof JsonError)) throw err;
    if (err.kind === "encoding")
      throw new HttpError(400, `${what} is not valid UTF-8`, {}, "malformed-json");
    if (err.kind === "duplicate-key")
      throw new HttpError(400, `${what} has the key ${err.path} twice`, {}, "duplicate-key");
    throw new HttpError(400, `${what} is not JSON: ${err.message}`, {}, "malformed-json");
  }
}

/** The body parsed as JSON. */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  return parseJsonBody(await readBody(request));
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** The media type of a content-type header, lower case, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/** A request handler of the gateway or the tracker: answers, or throws an HttpError. */
export type Route = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void>;

/** How long a refused body (an oversize one) is read and dropped before the connection is cut. */
const DISCARD_MS = 10_000;

/**
 * Reads and drops what is left of a refused request's body, so that a client still sending it
 * reads the answer instead of failing its write on a closed socket (EPIPE); bounded in time,
 * after which the connection is cut.
 */
function discardRest(request: IncomingMessage): void {
  const cut = setTimeout(() => request.socket.destroy(), DISCARD_MS).unref();
  request.once("end", () => clearTimeout(cut));
  request.once("close", () => clearTimeout(cut));
  request.resume();
}

/**
 * `route` as a node:http listener: every answer carries the security headers; an HttpError becomes its status with `{ error }`, anything
 * else a logged 500 that says only that the log has the details.
 */
export function listenerFor(route: Route, logger: Logger): RequestListener {
  return (request, response) => {
    const url = new URL(request.url ?? "/", "http://service");
    applySecurityHeaders(response);
    route(request, response, url).catch((err: unknown) => {
      if (response.headersSent) {
        logger.error({ err, path: url.pathname }, "request failed after the answer started");
        response.destroy();
        return;
      }
      if (err instanceof HttpError) {
        if (err.status >= 500)
          logger.error({ path: url.pathname, status: err.status }, err.message);
        else logger.info({ path: url.pathname, status: err.status }, `refused: ${err.message}`);
        if (!request.complete) discardRest(request);
        return sendJson(
          response,
          err.status,
          { error: err.message, ...(err.reason !== undefined && { reason: err.reason }) },
          err.headers,
        );
      }
      logger.error({ err, path: url.pathname }, "request failed");
      sendJson(response, 500, {
        error: "the service failed on this request; its log has the details",
      });
    });
  };
}

/** Only `methods` may reach this route. @throws HttpError 405. */
export function allow(request: IncomingMessage, ...methods: string[]): void {
  if (!methods.includes(request.method ?? ""))
    throw new HttpError(
      405,
      `${request.method} is not allowed here; use ${methods.join(" or ")}`,
      {},
      "method-not-allowed",
    );
}

/**
 * The probes' answers: `/healthz` (the process serves) and `/readyz` (it takes requests; 503
 * while starting and once it drains). Resolves false for any other path.
 */
export function probeRoutes(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  ready: () => boolean,
): boolean {
  if (url.pathname === "/healthz") {
    allow(request, "GET", "HEAD");
    sendJson(response, 200, { status: "ok" });
    return true;
  }
  if (url.pathname === "/readyz") {
    allow(request, "GET", "HEAD");
    if (ready()) sendJson(response, 200, { status: "ready" });
    else sendJson(response, 503, { status: "not ready" });
    return true;
  }
  return false;
}
