/**
 * A local HTTP server playing a Twilio-style messaging provider: the outside service that
 * `eventline verify` points a workload's messaging URL at, and the tests of the text adapter
 * use. It records every request (path, basic-auth credentials, form fields, the
 * Idempotency-Key header) and answers what the test scripts, by default 201 with a sid.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface ProviderRequest {
  method: string;
  path: string;
  /** "sid:token" from the Basic authorization header. */
  credentials: string;
  contentType: string;
  idempotencyKey: string;
  form: Record<string, string>;
}

export interface ProviderReply {
  status: number;
  body: unknown;
}

export interface MessagingProvider {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  readonly requests: ProviderRequest[];
  /** What to answer the next requests; default: 201 with sid "SM" + the request's index, zero-padded. */
  reply: (request: ProviderRequest, index: number) => ProviderReply;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Starts the provider on a free loopback port. */
export async function startMessagingProvider(): Promise<MessagingProvider> {
  const provider: MessagingProvider = {
    baseUrl: "",
    requests: [],
    reply: (_request, index) => ({
      status: 201,
      body: { sid: `SM${String(index).padStart(32, "0")}`, status: "queued" },
    }),
    close: async () => undefined,
  };
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const authorization = request.headers.authorization ?? "";
      const recorded: ProviderRequest = {
        method: request.method ?? "",
        path: request.url ?? "",
        credentials: authorization.startsWith("Basic ")
          ? Buffer.from(authorization.slice(6), "base64").toString("utf8")
          : "",
        contentType: request.headers["content-type"] ?? "",
        idempotencyKey: String(request.headers["idempotency-key"] ?? ""),
        form: Object.fromEntries(new URLSearchParams(body)),
      };
      provider.requests.push(recorded);
      const { status, body: answer } = provider.reply(recorded, provider.requests.length - 1);
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(answer));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  provider.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return provider;
}
