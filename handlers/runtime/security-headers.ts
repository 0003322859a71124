/**
 * The headers every answer of the gateway, the tracker and the runtime's server carries: the
 * body is never sniffed as another type, never framed, never cached or referred on, and only
 * ever fetched over HTTPS once a browser has seen it. The tracker's pixel alone may be loaded
 * from another origin: mail clients show it inside a message.
 */
import type { ServerResponse } from "node:http";

const HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-store",
};

/** Sets the headers on `response` before any route answers (a route may override one). */
export function applySecurityHeaders(response: ServerResponse): void {
  for (const [name, value] of Object.entries(HEADERS)) response.setHeader(name, value);
}

/** Lets a response be embedded from another origin: the tracking pixel. */
export function allowCrossOriginEmbedding(response: ServerResponse): void {
  response.setHeader("cross-origin-resource-policy", "cross-origin");
}
