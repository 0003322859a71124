/**
 * The gateway's HTTP surface (the handler image with MODE=gateway, and `npm start`):
 *   POST /v1/events               a CloudEvent (binary or structured) → 202 { id, correlationId }
 *   POST /v1/shares               seed 000's share request → 202 { correlationId, invitations }
 *   GET  /t/open/:invitationId    tracking pixel         GET /t/click/:invitationId?to=  tracking redirect
 *   GET  /healthz                 liveness
 * Refusals are JSON `{ error }` with a 4xx status and nothing published.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { EventGateway } from "./gateway";
import { HttpError, readBody, readJson, sendJson } from "./http";
import { httpEvent } from "./http-event";
import type { InvitationLookup } from "./invitations";
import { acceptShare, parseShareRequest } from "./shares";
import { trackClick, trackOpen } from "./tracking";

export interface GatewayServerOptions {
  gateway: EventGateway;
  logger: Logger;
  /** Hosts (`host` or `host:port`) the click redirect may send a recipient to. Default: none (every click is refused). */
  redirectHosts?: readonly string[];
  /** Card and sender of an invitation, for tracking events. Default: none; tracking events carry the invitation id only. */
  lookupInvitation?: InvitationLookup;
  /** Channels a share may name. Default: any. */
  shareChannels?: readonly string[];
  /**
   * Requests no gateway route takes (the local dashboard); resolves true when it answered.
   * Default: none, and such requests get 404.
   */
  fallback?: (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<boolean> | boolean;
}

function allow(request: IncomingMessage, ...methods: string[]): void {
  if (!methods.includes(request.method ?? "")) throw new HttpError(405, `${request.method} is not allowed here; use ${methods.join(" or ")}`);
}

/** How long the gateway reads and drops the rest of a refused body (an oversize one) before it hangs up. */
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

/** The gateway as a node:http request listener. */
export function gatewayListener(options: GatewayServerOptions): RequestListener {
  const tracking = { gateway: options.gateway, redirectHosts: options.redirectHosts ?? [], logger: options.logger, ...(options.lookupInvitation && { lookupInvitation: options.lookupInvitation }) };

  async function route(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    if (path === "/healthz") {
      allow(request, "GET", "HEAD");
      return sendJson(response, 200, { status: "ok" });
    }
    if (path === "/v1/events") {
      allow(request, "POST");
      const accepted = await options.gateway.accept(httpEvent(request.headers, await readBody(request)));
      options.logger.info({ eventId: accepted.id, correlationId: accepted.correlationId }, "event accepted");
      return sendJson(response, 202, accepted);
    }
    if (path === "/v1/shares") {
      allow(request, "POST");
      const accepted = await acceptShare(options.gateway, parseShareRequest(await readJson(request), options.shareChannels ?? []));
      options.logger.info({ correlationId: accepted.correlationId, invitations: accepted.invitations.length }, "share accepted");
      return sendJson(response, 202, accepted);
    }
    const open = /^\/t\/open\/([^/]+)$/.exec(path);
    if (open !== null) {
      allow(request, "GET", "HEAD");
      return trackOpen(tracking, request, response, open[1]!);
    }
    const click = /^\/t\/click\/([^/]+)$/.exec(path);
    if (click !== null) {
      allow(request, "GET", "HEAD");
      return trackClick(tracking, response, click[1]!, url.searchParams.get("to"));
    }
    if (options.fallback !== undefined && (await options.fallback(request, response, url))) return;
    throw new HttpError(404, `nothing at ${request.method} ${path}`);
  }

  return (request, response) => {
    const url = new URL(request.url ?? "/", "http://gateway");
    route(request, response, url).catch((err: unknown) => {
      if (response.headersSent) {
        options.logger.error({ err, path: url.pathname }, "request failed after the answer started");
        response.destroy();
        return;
      }
      if (err instanceof HttpError) {
        if (err.status >= 500) options.logger.error({ path: url.pathname, status: err.status }, err.message);
        else options.logger.info({ path: url.pathname, status: err.status }, `refused: ${err.message}`);
        if (!request.complete) discardRest(request);
        return sendJson(response, err.status, { error: err.message });
      }
      options.logger.error({ err, path: url.pathname }, "request failed");
      sendJson(response, 500, { error: "the gateway failed on this request; its log has the details" });
    });
  };
}

/** The gateway's port is taken; the message says so and what to do. */
export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
}

/**
 * Starts the gateway on `port` (0 = a free one) on `host`.
 * @throws PortInUseError when the port is taken.
 */
export async function startGatewayServer(options: GatewayServerOptions & { port: number; host?: string }): Promise<Server> {
  const server = createServer(gatewayListener(options));
  // Without this, a client that keeps a connection open holds up close() on shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "EADDRINUSE" ? new PortInUseError(`port ${options.port} is in use; stop what runs there or set PORT to another port`) : err),
    );
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  return server;
}
