/**
 * The HTTP server both hosts run on PORT: `GET /healthz` (liveness: the process serves),
 * `GET /readyz` (readiness: the host takes messages; 503 while starting and draining),
 * `GET /metrics` (Prometheus), and, for the push host, everything else goes to its handler.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { once } from "node:events";
import type { Registry } from "prom-client";
import { applySecurityHeaders } from "./security-headers";

/** Default PORT: Cloud Run's and the Deployment's container port. */
export const DEFAULT_PORT = 8080;

export interface RuntimeServerOptions {
  /** TCP port; 0 picks a free one. Default {@link DEFAULT_PORT}. */
  port?: number;
  /** Interface to listen on. Default `"0.0.0.0"` (every interface: the container's network). */
  host?: string;
  /** The registry `/metrics` serves. */
  registry: Registry;
  /** Whether `/readyz` answers 200. */
  ready: () => boolean;
  /** Every other request (the push host's). Default: 404. */
  handle?: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface RuntimeServer {
  readonly server: Server;
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  /**
   * Stops accepting connections and closes the open ones. Call it after the host has drained:
   * a request still open then is past the drain bound, and Pub/Sub redelivers its message.
   */
  close(): Promise<void>;
}

function reply(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = "text/plain; charset=utf-8",
): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export async function startServer(options: RuntimeServerOptions): Promise<RuntimeServer> {
  const server = createServer((req, res) => {
    applySecurityHeaders(res);
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/healthz") return reply(res, 200, "ok\n");
    if (req.method === "GET" && path === "/readyz")
      return options.ready() ? reply(res, 200, "ready\n") : reply(res, 503, "not ready\n");
    if (req.method === "GET" && path === "/metrics") {
      options.registry.metrics().then(
        (text) => reply(res, 200, text, options.registry.contentType),
        (err: unknown) => reply(res, 500, `metrics failed: ${String(err)}\n`),
      );
      return;
    }
    if (options.handle !== undefined) return options.handle(req, res);
    reply(res, 404, "not found\n");
  });
  // Pub/Sub's push client keeps connections alive; the default 5 s keep-alive closes them under it.
  server.keepAliveTimeout = 65_000;
  server.listen(options.port ?? DEFAULT_PORT, options.host ?? "0.0.0.0");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
