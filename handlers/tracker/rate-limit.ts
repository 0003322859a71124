/**
 * The tracker's limit per client: a public endpoint that publishes an event per request is a
 * way to flood the funnel, so each client address may make the declared number of requests
 * per window (services.tracker.rateLimit in infra/system.ts), and past it gets 429 with
 * Retry-After and publishes nothing. Counts are per instance (rate-limiter-flexible's memory
 * store): Cloud Run's instance count bounds what one client can do in all.
 */
import type { IncomingMessage } from "node:http";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

/** What a request may do. */
export type Admission = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class ClientRateLimit {
  private readonly limiter: RateLimiterMemory;

  /** @param limit requests allowed per client in each window of `perSeconds` seconds. */
  constructor(limit: { requests: number; perSeconds: number }) {
    this.limiter = new RateLimiterMemory({ points: limit.requests, duration: limit.perSeconds });
  }

  /** Counts one request of `client`. */
  async admit(client: string): Promise<Admission> {
    try {
      await this.limiter.consume(client);
      return { allowed: true };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
    }
  }
}

/**
 * The address a request came from. Behind Cloud Run's front end (`behindProxy`), the last
 * X-Forwarded-For entry is the one the front end added; earlier ones are whatever the client
 * sent, and trusting them would let a client pick its own key.
 */
export function clientAddress(request: IncomingMessage, behindProxy: boolean): string {
  if (behindProxy) {
    const forwarded = request.headers["x-forwarded-for"];
    const last = (Array.isArray(forwarded) ? forwarded.join(",") : (forwarded ?? ""))
      .split(",")
      .map((hop) => hop.trim())
      .filter(Boolean)
      .at(-1);
    if (last !== undefined) return last;
  }
  return request.socket.remoteAddress ?? "unknown";
}
