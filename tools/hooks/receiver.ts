/**
 * A local hook receiver: an HTTP server on this machine that takes what hooks POST, checks the
 * Standard Webhooks signature with the `standardwebhooks` package (and its timestamp, within
 * five minutes), and records each delivery with its CloudEvent attributes. `eventline hooks
 * listen` prints what it gets; `eventline verify` stands it in for the outside agents; tests
 * script its answers.
 *
 * A request it cannot trust or read gets a 4xx with the reason and is recorded as refused: a
 * bad or missing signature 401, a body over 1 MB 413, a delivery that is not a binary-mode
 * CloudEvent 400. Only POST is taken (405 otherwise).
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

/** The largest delivery it reads: a hook's body is one event, at most 1 MB by default. */
const MAX_BODY_BYTES = 1_000_000;

export interface HookDelivery {
  /** The path it was POSTed to: `/<hook>` when the hooks' base URL points here. */
  path: string;
  /** `webhook-id`: the event's identity (source and id), the same on every redelivery. */
  webhookId: string;
  /** Every `ce-*` header, by name without `ce-`. */
  attributes: Record<string, string>;
  /** The body as sent (proto3 JSON of the event's payload). */
  body: string;
  /** Whether it was accepted; otherwise why not. */
  verdict: { accepted: true } | { accepted: false; status: number; reason: string };
}

export interface HookReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface HookReceiver {
  /** `http://127.0.0.1:<port>`: the hooks' base URL (each hook POSTs to `<url>/<hook>`). */
  url: string;
  readonly deliveries: HookDelivery[];
  /** What to answer an accepted delivery; default 204 with no body. */
  reply: (delivery: HookDelivery) => HookReply;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** The Standard Webhooks secret the hooks sign with (`whsec_…`). */
  secret: string;
  /** Default 0: a free port. */
  port?: number;
  /** Called for every delivery, accepted or not, once it is recorded. */
  onDelivery?: (delivery: HookDelivery) => void;
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function header(request: IncomingMessage, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : (value ?? "");
}

function answer(response: ServerResponse, reply: HookReply): void {
  response.writeHead(reply.status, reply.headers ?? {});
  response.end(reply.body ?? "");
}

/** Starts a receiver on 127.0.0.1. @throws when the port is taken (EADDRINUSE). */
export async function startHookReceiver(options: ReceiverOptions): Promise<HookReceiver> {
  const webhook = new Webhook(options.secret);
  const deliveries: HookDelivery[] = [];
  const receiver: HookReceiver = {
    url: "",
    deliveries,
    reply: () => ({ status: 204 }),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
  const server = createServer((request, response) => {
    void (async () => {
      const refuse = (delivery: HookDelivery, status: number, reason: string): void => {
        delivery.verdict = { accepted: false, status, reason };
        record(delivery);
        answer(response, {
          status,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ error: reason }),
        });
      };
      const record = (delivery: HookDelivery): void => {
        deliveries.push(delivery);
        options.onDelivery?.(delivery);
      };
      const attributes = Object.fromEntries(
        Object.entries(request.headers)
          .filter(([name]) => name.startsWith("ce-"))
          .map(([name, value]) => [
            name.slice(3),
            Array.isArray(value) ? value.join(",") : (value ?? ""),
          ]),
      );
      const delivery: HookDelivery = {
        path: (request.url ?? "/").split("?")[0]!,
        webhookId: header(request, "webhook-id"),
        attributes,
        body: "",
        verdict: { accepted: true },
      };
      if (request.method !== "POST") return refuse(delivery, 405, "hooks POST their events");
      const body = await readBody(request);
      if (body === undefined)
        return refuse(delivery, 413, `the body is over ${MAX_BODY_BYTES} bytes`);
      delivery.body = body.toString("utf8");
      try {
        webhook.verify(delivery.body, {
          "webhook-id": delivery.webhookId,
          "webhook-timestamp": header(request, "webhook-timestamp"),
          "webhook-signature": header(request, "webhook-signature"),
        });
      } catch (err) {
        if (!(err instanceof WebhookVerificationError)) throw err;
        return refuse(delivery, 401, `signature: ${err.message}`);
      }
      for (const required of ["id", "source", "type", "specversion"])
        if (!attributes[required])
          return refuse(delivery, 400, `not a binary-mode CloudEvent: no ce-${required}`);
      record(delivery);
      answer(response, receiver.reply(delivery));
    })().catch((err: unknown) => {
      if (!response.headersSent)
        answer(response, { status: 500, body: err instanceof Error ? err.message : String(err) });
    });
  });
  server.listen(options.port ?? 0, "127.0.0.1");
  await Promise.race([
    once(server, "listening"),
    once(server, "error").then(([err]) => Promise.reject(err as Error)),
  ]);
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
