/**
 * The gateway's HTTP surface (the handler image with MODE=gateway, and `npm start`):
 *   POST /v1/events    a CloudEvent (binary or structured) → 202 { id, correlationId }
 *   POST /v1/shares    a share request → 202 { correlationId, invitations }
 *   GET  /healthz      liveness          GET /readyz   readiness (503 once it drains)
 * Every /v1 request carries a producer's ID token; what each producer may post, and the
 * attributes the platform owns, are admission.ts's. Each producer has its own rate limit.
 * Refusals are JSON `{ error, reason }` with a 4xx status and nothing published. The funnel's
 * tracking links are the tracker's (handlers/tracker/), a service of their own.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { ResolvedProducer } from "../../infra/model/types";
import type { EventTypes } from "../runtime/event-types";
import type { ClientRateLimit } from "../tracker/rate-limit";
import {
  admitEvent,
  admitShare,
  withPlatformAttributes,
  PRODUCER_EXTENSION,
  RECEIVED_TIME_EXTENSION,
  type Authenticate,
  type Caller,
} from "./admission";
import type { EventGateway } from "./gateway";
import {
  allow,
  HttpError,
  listenerFor,
  probeRoutes,
  readBody,
  readJson,
  sendJson,
  type Route,
} from "./http";
import { httpEvent } from "./http-event";
import { inRequestSpan } from "./request-span";
import { acceptShare, parseShareRequest } from "./shares";

export interface GatewayServerOptions {
  gateway: EventGateway;
  logger: Logger;
  /** Who a request is from (admission.ts): tokenAuthentication in the cloud, the local issuer or noAuthentication locally. */
  authenticate: Authenticate;
  /** The declared producers and what each may post. */
  producers: readonly ResolvedProducer[];
  /** The declared event types, for the routing attributes the platform owns. */
  eventTypes: EventTypes;
  /** Requests per producer. Default: none. */
  rateLimit?: ClientRateLimit;
  /**
   * Checked before any route (the local server refuses cross-origin requests and foreign Host
   * headers). Default: none.
   */
  guard?: (request: IncomingMessage) => void;
  /** Channels a share may name. Default: any. */
  shareChannels?: readonly string[];
  /** Whether /readyz answers 200. Default: always. */
  ready?: () => boolean;
  /**
   * Requests no gateway route takes (the local server: the tracker, push endpoints, the
   * dashboard); resolves true when it answered. Default: none, and such requests get 404.
   */
  fallback?: (
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
  ) => Promise<boolean> | boolean;
}

/** Counts one request of the producer; past its limit, 429 with Retry-After. */
async function withinLimit(
  options: GatewayServerOptions,
  producer: ResolvedProducer,
): Promise<void> {
  if (options.rateLimit === undefined) return;
  const admission = await options.rateLimit.admit(producer.name);
  if (!admission.allowed) {
    throw new HttpError(
      429,
      `producer ${producer.name} is over its rate limit; wait and try again`,
      { "retry-after": String(admission.retryAfterSeconds) },
      "rate-limited",
    );
  }
}

/** The gateway's routes. */
export function gatewayRoute(options: GatewayServerOptions): Route {
  const ready = options.ready ?? (() => true);
  return async (request, response, url) => {
    options.guard?.(request);
    const path = url.pathname;
    if (probeRoutes(request, response, url, ready)) return;
    if (path === "/v1/events" || path === "/v1/shares")
      return inRequestSpan(request, response, path, () =>
        path === "/v1/events" ? postEvent(request, response) : postShare(request, response),
      );
    if (options.fallback !== undefined && (await options.fallback(request, response, url))) return;
    throw new HttpError(404, `nothing at ${request.method} ${path}`);
  };

  async function postEvent(request: IncomingMessage, response: ServerResponse): Promise<void> {
    allow(request, "POST");
    const caller: Caller = await options.authenticate(request.headers);
    const event = httpEvent(
      request.headers,
      await readBody(request, options.gateway.bodyLimit(request.headers)),
    );
    // An undeclared or derived type is a 400 that says so, before who may post it is asked.
    options.gateway.typeFromOutside(event);
    const producer = admitEvent(caller, options.producers, event);
    await withinLimit(options, producer);
    const accepted = await options.gateway.accept(
      withPlatformAttributes(event, producer, options.eventTypes),
    );
    options.logger.info(
      { eventId: accepted.id, correlationId: accepted.correlationId },
      "event accepted",
    );
    return sendJson(response, 202, accepted);
  }

  async function postShare(request: IncomingMessage, response: ServerResponse): Promise<void> {
    allow(request, "POST");
    const producer = admitShare(await options.authenticate(request.headers), options.producers);
    await withinLimit(options, producer);
    const accepted = await acceptShare(
      options.gateway,
      parseShareRequest(await readJson(request), options.shareChannels ?? []),
      {
        [RECEIVED_TIME_EXTENSION]: new Date().toISOString(),
        [PRODUCER_EXTENSION]: producer.name,
      },
    );
    options.logger.info(
      { correlationId: accepted.correlationId, invitations: accepted.invitations.length },
      "share accepted",
    );
    return sendJson(response, 202, accepted);
  }
}

/** The gateway's port is taken; the message says so and what to do. */
export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
}

/**
 * Starts a server for `route` on `port` (0 = a free one) on `host`.
 * @throws PortInUseError when the port is taken.
 */
export async function startHttpServer(
  route: Route,
  logger: Logger,
  options: { port: number; host?: string },
): Promise<Server> {
  const server = createServer(listenerFor(route, logger));
  // Without this, a client that keeps a connection open holds up close() on shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new PortInUseError(
              `port ${options.port} is in use; stop what runs there or set PORT to another port`,
            )
          : err,
      ),
    );
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  return server;
}

/** Starts the gateway on `port` (0 = a free one) on `host`. @throws PortInUseError when the port is taken. */
export async function startGatewayServer(
  options: GatewayServerOptions & { port: number; host?: string },
): Promise<Server> {
  return startHttpServer(gatewayRoute(options), options.logger, options);
}
