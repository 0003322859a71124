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

/** The body parsed as JSON. */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  const body = await readBody(request);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new HttpError(400, `the body is not JSON: ${(err as Error).message}`);
  }
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
