/**
 * The dashboard's side of the local server (the gateway's port): the page itself
 * (tools/local/dashboard/, served as-is) and the JSON it reads:
 *   GET  /api/topology                     the declaration's graph, and which consumers run here
 *   GET  /api/consumers                    per-consumer counters from the runtime's metrics
 *   GET  /api/stream                       Server-Sent Events: the event store's live feed
 *   GET  /api/dead-letters                 every consumer's parked dead letters, with reasons
 *   POST /api/dead-letters/:consumer/redrive  { ids?: string[] } (none = all)
 *   GET  /api/funnel                       the viral-sharing funnel per card (projections/funnel-cards) with its rates, and the total
 *   GET  /api/traces                       the most recent traces, newest first (span-store.ts)
 *   GET  /api/traces?id=<id>               the traces an event id, correlation id or trace id names
 *   GET  /api/traces/:traceId              one trace's spans
 */
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join } from "node:path";
import type { Firestore } from "@google-cloud/firestore";
import type { Logger } from "pino";
import type { RuntimeMetrics } from "../../handlers/runtime/metrics";
import type { MessagePublisher } from "../../handlers/runtime/publisher";
import { HttpError, readJson, sendJson } from "../../handlers/gateway/http";
import { PROJECTIONS_COLLECTION } from "../../handlers/runtime/projections";
import {
  EMPTY_FUNNEL,
  funnelRates,
  type FunnelCounts,
  type FunnelRates,
} from "../../handlers/viral/funnel";
import { cardFunnels, type FunnelTotals } from "../../handlers/viral/funnel-projector";
import { topologyOf } from "../catalog/topology";
import type { ResolvedSystem } from "../../infra/model/types";
import { consumerCounters } from "./counters";
import type { SpanStore } from "./span-store";
import type { DeadLetterBox } from "./dead-letters";
import { watchEvents, type FeedEvent } from "./event-feed";

/** The page's files, shipped as they are. */
export const DASHBOARD_DIR = join(__dirname, "dashboard");

/**
 * The page's own policy, in place of the API's `default-src 'none'`: its script, style and
 * stream come from this origin only, its favicon is an empty data: URL, nothing else loads.
 */
export const DASHBOARD_CSP =
  "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};
const staticFiles = new Set(["index.html", "app.js", "graph.js", "trace.js", "style.css"]);

/** Cards whose funnel the dashboard shows, the most sent first. */
const FUNNEL_CARDS = 20;

export interface DashboardOptions {
  system: ResolvedSystem;
  metrics: RuntimeMetrics;
  firestore: Firestore;
  deadLetters: DeadLetterBox;
  publisher: MessagePublisher;
  /** Consumer names hosted in this process. */
  hosted: readonly string[];
  logger: Logger;
  /** The process's spans, when it traces. Default: none, and /api/traces answers 404. */
  spans?: SpanStore;
}

/** Ids longer than this are no event's, correlation's or trace's: refused before any lookup. */
const MAX_TRACE_LOOKUP_ID = 512;
const TRACE_ID = /^[0-9a-f]{32}$/;

export class Dashboard {
  private readonly clients = new Set<ServerResponse>();
  private readonly recent: FeedEvent[] = [];
  private stopFeed: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: DashboardOptions) {}

  /** Starts the one event-store watch every browser shares. */
  start(): void {
    this.stopFeed = watchEvents(
      this.options.firestore,
      {},
      {
        onBacklog: (events) => this.recent.push(...events),
        onEvent: (event) => this.broadcast(event),
        onError: (err) => this.options.logger.error({ err }, "the dashboard's event feed stopped"),
      },
    );
    // Proxies and browsers drop an idle stream; a comment line every 15 s keeps it open.
    this.heartbeat = setInterval(() => {
      for (const client of this.clients) client.write(": ping\n\n");
    }, 15_000);
    this.heartbeat.unref();
  }

  stop(): void {
    this.stopFeed?.();
    clearInterval(this.heartbeat);
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  /** Serves dashboard requests; false for paths it does not own. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname;
    const get = request.method === "GET" || request.method === "HEAD";
    if (get && (path === "/" || path.startsWith("/dashboard/")))
      return this.serveFile(
        response,
        path === "/" ? "index.html" : path.slice("/dashboard/".length),
      );
    if (get && path === "/api/topology") {
      const unimplemented = this.options.system.consumers
        .filter((c) => !this.options.hosted.includes(c.name))
        .map((c) => c.name);
      const eventTypes = this.options.system.topics.flatMap((topic) =>
        topic.events.map((event) => event.type),
      );
      sendJson(response, 200, {
        ...topologyOf(this.options.system),
        hosted: this.options.hosted,
        unimplemented,
        eventTypes,
      });
      return true;
    }
    if (get && path === "/api/consumers") {
      sendJson(
        response,
        200,
        await consumerCounters(this.options.system, this.options.metrics, this.options.hosted),
      );
      return true;
    }
    if (get && path === "/api/stream") return this.stream(request, response);
    if (get && path === "/api/dead-letters") {
      sendJson(response, 200, await this.deadLetters());
      return true;
    }
    const redrive = /^\/api\/dead-letters\/([^/]+)\/redrive$/.exec(path);
    if (request.method === "POST" && redrive !== null) {
      const consumer = this.options.system.consumers.find(
        (c) => c.name === decodeURIComponent(redrive[1]!),
      );
      if (consumer === undefined) throw new HttpError(404, `no consumer ${redrive[1]}`);
      const body = (await readJson(request)) as { ids?: unknown } | null;
      const ids = body?.ids;
      if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== "string")))
        throw new HttpError(400, "ids must be an array of strings");
      const result = await this.options.deadLetters.redrive(
        consumer,
        this.options.publisher,
        ids as string[] | undefined,
      );
      this.options.logger.info(
        { consumer: consumer.name, redriven: result.redriven.length, failed: result.failed.length },
        "dead letters redriven from the dashboard",
      );
      sendJson(response, 200, result);
      return true;
    }
    if (get && (path === "/api/traces" || path.startsWith("/api/traces/")))
      return this.traces(response, url);
    if (get && path === "/api/funnel") {
      sendJson(response, 200, await this.funnel());
      return true;
    }
    return false;
  }

  /** The trace routes (see the file comment). */
  private traces(response: ServerResponse, url: URL): boolean {
    const { spans } = this.options;
    if (spans === undefined)
      throw new HttpError(404, "tracing is off in this process", {}, "tracing-off");
    if (url.pathname === "/api/traces") {
      const id = url.searchParams.get("id");
      if (id === null) {
        sendJson(response, 200, { traces: spans.recent() });
        return true;
      }
      if (id === "" || id.length > MAX_TRACE_LOOKUP_ID)
        throw new HttpError(
          400,
          `id must be an event id, a correlation id or a trace id of 1 to ${MAX_TRACE_LOOKUP_ID} characters`,
          {},
          "bad-id",
        );
      const traces = spans.find(id);
      if (traces.length === 0)
        throw new HttpError(
          404,
          `no trace of ${id} is held here: it names no event, correlation or trace seen since npm start started (the last ${spans.maxSpans} spans are kept)`,
          {},
          "no-trace",
        );
      sendJson(response, 200, { id, traces });
      return true;
    }
    const traceId = decodeURIComponent(url.pathname.slice("/api/traces/".length));
    if (!TRACE_ID.test(traceId))
      throw new HttpError(400, "a trace id is 32 lowercase hex digits", {}, "bad-id");
    const trace = spans.trace(traceId);
    if (trace === undefined)
      throw new HttpError(404, `no trace ${traceId} is held here`, {}, "no-trace");
    sendJson(response, 200, trace);
    return true;
  }

  private async serveFile(response: ServerResponse, name: string): Promise<boolean> {
    if (!staticFiles.has(name)) return false;
    const body = await readFile(join(DASHBOARD_DIR, name));
    response.writeHead(200, {
      "content-type": contentTypes[extname(name)] ?? "application/octet-stream",
      "content-length": body.length,
      "cache-control": "no-cache",
      "content-security-policy": DASHBOARD_CSP,
    });
    response.end(body);
    return true;
  }

  private stream(request: IncomingMessage, response: ServerResponse): boolean {
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    response.write("retry: 2000\n\n");
    for (const event of this.recent) response.write(`data: ${JSON.stringify(event)}\n\n`);
    this.clients.add(response);
    request.on("close", () => this.clients.delete(response));
    return true;
  }

  private broadcast(event: FeedEvent): void {
    this.recent.push(event);
    // The page shows the newest events; a new browser gets the last 200 at once.
    if (this.recent.length > 200) this.recent.splice(0, this.recent.length - 200);
    const line = `data: ${JSON.stringify(event)}\n\n`;
    for (const client of this.clients) client.write(line);
  }

  /** The viral-sharing funnel (docs/requirements.md, VS-11): every card's counts from the funnel-projector's projection with their rates, and the total. */
  private async funnel(): Promise<{
    total: (FunnelCounts & FunnelRates) | null;
    cards: (FunnelTotals & FunnelRates)[];
  }> {
    const items = this.options.firestore
      .collection(PROJECTIONS_COLLECTION)
      .doc(cardFunnels.name)
      .collection("items");
    const stored = (await items.orderBy("sent", "desc").limit(FUNNEL_CARDS).get()).docs.map(
      (doc) => doc.data() as FunnelTotals,
    );
    if (stored.length === 0) return { total: null, cards: [] };
    const counts = Object.keys(EMPTY_FUNNEL) as (keyof FunnelCounts)[];
    const total = Object.fromEntries(
      counts.map((count) => [
        count,
        stored.reduce((sum, card) => sum + (Number(card[count]) || 0), 0),
      ]),
    ) as unknown as FunnelCounts;
    return {
      total: { ...total, ...funnelRates(total) },
      cards: stored.map((card) => ({ ...card, ...funnelRates(card) })),
    };
  }

  private async deadLetters() {
    const consumers = this.options.system.consumers;
    const lists = await Promise.all(
      consumers.map((consumer) => this.options.deadLetters.list(consumer)),
    );
    return consumers
      .map((consumer, i) => ({
        consumer: consumer.name,
        letters: lists[i]!.map(({ data: _data, attributes: _attributes, ...letter }) => letter),
      }))
      .filter((entry) => entry.letters.length > 0);
  }
}
