/**
 * The funnel's endpoints, the links in every invitation (handlers/viral/tracking-links.ts):
 *   GET /t/open/:invitationId         a 1×1 transparent GIF, never cached, → invitation.opened
 *   GET /t/click/:invitationId?to=URL a 302 to URL, on an allowed host only, → invitation.clicked
 * The redirect host is checked because an open redirect on our domain is a phishing tool.
 * The events carry the invitation id only: the funnel projector knows the invitation's card,
 * sender and channel from its own record, and the tracker reads no database.
 * The recipient gets the pixel or the redirect even when publishing fails: the hit is logged,
 * and the person is not the one to pay for it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { type TRACKER_EVENT_TYPES, TRACKER_SOURCE } from "../../infra/model/services";
import type { EventGateway } from "../gateway/gateway";
import { HttpError } from "../gateway/http";
import { allowCrossOriginEmbedding } from "../runtime/security-headers";

/** The smallest transparent GIF: 1×1, one transparent color. */
export const PIXEL_GIF = Buffer.from(
  "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7",
  "base64",
);

const noCache = {
  "cache-control": "no-store, no-cache, must-revalidate, max-age=0",
  pragma: "no-cache",
  expires: "0",
};

/** Invitation ids the gateway makes are UUIDs; anything printable and short is let through. */
const INVITATION_ID = /^[A-Za-z0-9._:~-]{1,128}$/;

export interface TrackingOptions {
  gateway: EventGateway;
  /** Hosts (`host` or `host:port`) a click may redirect to. */
  redirectHosts: readonly string[];
  logger: Logger;
}

function invitationIdOf(raw: string): string {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, "the invitation id is not valid URL encoding");
  }
  if (!INVITATION_ID.test(id))
    throw new HttpError(400, "the invitation id must be 1–128 letters, digits or . _ : ~ -");
  return id;
}

/**
 * The redirect target if it is an http(s) URL on an allowed host.
 * @throws HttpError 400 otherwise.
 */
export function allowedTarget(to: string | null, redirectHosts: readonly string[]): URL {
  if (to === null || to === "") throw new HttpError(400, "the click link has no ?to= target");
  let url: URL;
  try {
    url = new URL(to);
  } catch {
    throw new HttpError(400, "the ?to= target is not an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new HttpError(
      400,
      `the ?to= target must be http or https, not ${url.protocol.replace(/:$/, "")}`,
    );
  const hosts = redirectHosts.map((host) => host.toLowerCase());
  if (!hosts.includes(url.host.toLowerCase()) && !hosts.includes(url.hostname.toLowerCase())) {
    throw new HttpError(
      400,
      `the ?to= host ${url.host} is not an allowed redirect host (the card base URL's host, or one EVENTLINE_REDIRECT_HOSTS names: eventline:redirectHosts in a stack's config)`,
    );
  }
  return url;
}

async function publishHit(
  options: TrackingOptions,
  type: (typeof TRACKER_EVENT_TYPES)[number],
  invitationId: string,
  extra: Record<string, string>,
): Promise<void> {
  try {
    await options.gateway.emit(type, { invitationId, ...extra }, { source: TRACKER_SOURCE });
  } catch (err) {
    options.logger.error(
      { err, invitationId, type },
      `tracking hit not published: ${(err as Error).message}`,
    );
  }
}

/** `GET /t/open/:invitationId`. */
export async function trackOpen(
  options: TrackingOptions,
  request: IncomingMessage,
  response: ServerResponse,
  rawId: string,
): Promise<void> {
  const invitationId = invitationIdOf(rawId);
  await publishHit(options, "com.eventline.invitation.opened", invitationId, {
    userAgent: (request.headers["user-agent"] ?? "").slice(0, 512),
  });
  allowCrossOriginEmbedding(response);
  response.writeHead(200, {
    "content-type": "image/gif",
    "content-length": PIXEL_GIF.length,
    ...noCache,
  });
  response.end(PIXEL_GIF);
}

/** `GET /t/click/:invitationId?to=`. */
export async function trackClick(
  options: TrackingOptions,
  response: ServerResponse,
  rawId: string,
  to: string | null,
): Promise<void> {
  const invitationId = invitationIdOf(rawId);
  const target = allowedTarget(to, options.redirectHosts);
  await publishHit(options, "com.eventline.invitation.clicked", invitationId, {
    targetUrl: target.href,
  });
  response.writeHead(302, { location: target.href, ...noCache });
  response.end();
}
