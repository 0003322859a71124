/**
 * A bounded open-loop HTTP load on loopback, for every benchmark that posts to a gateway:
 * requests leave on schedule (support/pacing.ts), whatever earlier ones are doing, over
 * keep-alive connections, and every request ends (answer, error or its timeout) before the
 * call resolves. It records when each request was sent (end-to-end latency joins that with
 * the time its event was handled) and each answer's latency to a fraction of a millisecond.
 */
import { Agent, request } from "node:http";
import { paced } from "./pacing";
import { now } from "./recorder";

export interface LoadRequest {
  /** The event id the request carries, to join on. */
  id: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadResult {
  /** Epoch milliseconds each request was sent, by id. */
  sentAt: Map<string, number>;
  /** Ids answered with a 2xx. */
  accepted: string[];
  /** Epoch milliseconds each accepted request was answered, by id. */
  answeredAt: Map<string, number>;
  /** Answer time of each request answered, in milliseconds. */
  latenciesMs: number[];
  statuses: Record<string, number>;
  /** Requests that got no answer (connection error or timeout). */
  errors: number;
}

function send(agent: Agent, url: URL, req: LoadRequest, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const body = Buffer.from(req.body);
    const r = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: req.path,
        method: "POST",
        headers: { ...req.headers, "content-length": String(body.length) },
        timeout: timeoutMs,
      },
      (response) => {
        response.resume();
        response.once("end", () => resolve(response.statusCode ?? 0));
        response.once("error", () => resolve(0));
      },
    );
    r.once("timeout", () => r.destroy(new Error("timeout")));
    r.once("error", () => resolve(0));
    r.end(body);
  });
}

/**
 * Sends `total` requests made by `make(i)` to `baseUrl`, `perSecond` of them each second;
 * `perSecond` Infinity sends them all at once.
 */
export async function openLoop(
  baseUrl: string,
  total: number,
  perSecond: number,
  make: (i: number) => LoadRequest,
  timeoutMs = 30_000,
): Promise<LoadResult> {
  const url = new URL(baseUrl);
  const agent = new Agent({
    keepAlive: true,
    maxSockets: Number.isFinite(perSecond) ? 256 : Infinity,
  });
  const result: LoadResult = {
    sentAt: new Map(),
    accepted: [],
    answeredAt: new Map(),
    latenciesMs: [],
    statuses: {},
    errors: 0,
  };
  try {
    await paced(total, perSecond, async (i) => {
      const req = make(i);
      const at = now();
      result.sentAt.set(req.id, at);
      const status = await send(agent, url, req, timeoutMs);
      if (status === 0) result.errors++;
      else result.latenciesMs.push(now() - at);
      result.statuses[status] = (result.statuses[status] ?? 0) + 1;
      if (status >= 200 && status < 300) {
        result.accepted.push(req.id);
        result.answeredAt.set(req.id, now());
      }
    });
  } finally {
    agent.destroy();
  }
  return result;
}
