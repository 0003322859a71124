/**
 * The tracker's HTTP surface (the handler image with MODE=tracker; `npm start` serves the same
 * routes on the local server):
 *   GET /t/open/:invitationId       the open pixel      GET /t/click/:invitationId?to=  the click redirect
 *   GET /healthz, /readyz           the probes (standalone only)
 * Nothing else: the tracker is the one service open to the internet, so it answers only what
 * an invitation links to, each client within its rate limit.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { allow, HttpError, probeRoutes, type Route } from "../gateway/http";
import { inRequestSpan } from "../gateway/request-span";
import { clientAddress, type ClientRateLimit } from "./rate-limit";
import { trackClick, trackOpen, type TrackingOptions } from "./tracking";

export interface TrackerRoutesOptions extends TrackingOptions {
  /** Requests per client. Default: none. */
  rateLimit?: ClientRateLimit;
  /** Behind Cloud Run's front end: the client is the last X-Forwarded-For hop. Default false (the socket's peer). */
  behindProxy?: boolean;
}

const OPEN = /^\/t\/open\/([^/]+)$/;
const CLICK = /^\/t\/click\/([^/]+)$/;

/** Serves the tracking links; resolves false for any other path. */
export function trackerRoutes(
  options: TrackerRoutesOptions,
): (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<boolean> {
  return async (request, response, url) => {
    const open = OPEN.exec(url.pathname);
    const click = open === null ? CLICK.exec(url.pathname) : null;
    if (open === null && click === null) return false;
    // A hit's span is the parent of the open or click event it publishes (request-span.ts).
    await inRequestSpan(
      request,
      response,
      open !== null ? "/t/open/:invitationId" : "/t/click/:invitationId",
      () => track(request, response, url, open, click),
    );
    return true;
  };

  async function track(
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    open: RegExpExecArray | null,
    click: RegExpExecArray | null,
  ): Promise<void> {
    allow(request, "GET", "HEAD");
    if (options.rateLimit !== undefined) {
      const admission = await options.rateLimit.admit(
        clientAddress(request, options.behindProxy ?? false),
      );
      if (!admission.allowed)
        throw new HttpError(429, "too many requests from this client; wait and try again", {
          "retry-after": String(admission.retryAfterSeconds),
        });
    }
    if (open !== null) await trackOpen(options, request, response, open[1]!);
    else await trackClick(options, response, click![1]!, url.searchParams.get("to"));
  }
}

/** The standalone tracker: its links and its probes, and 404 for everything else. */
export function trackerRoute(options: TrackerRoutesOptions & { ready: () => boolean }): Route {
  const links = trackerRoutes(options);
  return async (request, response, url) => {
    if (probeRoutes(request, response, url, options.ready)) return;
    if (await links(request, response, url)) return;
    throw new HttpError(404, `nothing at ${request.method} ${url.pathname}`);
  };
}
