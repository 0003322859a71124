/**
 * The little HTTP the gateway needs on top of node:http: reading a bounded body, answering
 * JSON, and an error that carries its status so a route can stop with one `throw`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PUBSUB_MESSAGE_LIMITS } from "../runtime/codec";

/** A request the gateway refuses; `status` and `message` are what the caller gets back. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The body of a request, refused past Pub/Sub's message size (nothing larger could be published). */
export async function readBody(request: IncomingMessage, limitBytes: number = PUBSUB_MESSAGE_LIMITS.totalBytes): Promise<Buffer> {
  const declared = Number(request.headers["content-length"] ?? "0");
  if (declared > limitBytes) throw new HttpError(413, `the body is ${declared} bytes, over the ${limitBytes}-byte limit of one Pub/Sub message`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new HttpError(413, `the body is over the ${limitBytes}-byte limit of one Pub/Sub message`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// Fatal: a body that is not UTF-8 is refused, not published with U+FFFD where its bytes were.
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * `body` parsed as JSON; `what` names it in the refusal.
 * @throws HttpError 400 when it is empty, not UTF-8 or not JSON.
 */
export function parseJsonBody(body: Buffer, what = "the body"): unknown {
  if (body.length === 0) throw new HttpError(400, `${what} is empty`);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new HttpError(400, `${what} is not valid UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `${what} is not JSON: ${(err as Error).message}`);
  }
}

/** The body parsed as JSON. */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  return parseJsonBody(await readBody(request));
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** The media type of a content-type header, lower case, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}
