/**
 * `npm start`'s traces: every span the process finishes, kept in memory by trace, and found
 * by trace id, event id or correlation id, for the dashboard's waterfall (`/api/traces`) and
 * `eventline trace`. It is an OpenTelemetry span processor, so it sees spans as they end,
 * with no exporter in between.
 *
 * Memory is bounded: at most `maxSpans` spans in all; past that the oldest traces are
 * forgotten whole (a trace half kept would show a wrong tree), and a trace that alone passes
 * the bound keeps its first spans and counts what it dropped.
 */
import type { Context } from "@opentelemetry/api";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ATTR } from "../../handlers/runtime/tracing";

/** One finished span, as the API serves it. Times in milliseconds since the epoch. */
export interface StoredSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** Who made it: `eventline` (the runtime), or a library's own (the Firestore client's). */
  scope: string;
  kind: "internal" | "server" | "client" | "producer" | "consumer";
  startMs: number;
  durationMs: number;
  status: "unset" | "ok" | "error";
  statusMessage?: string;
  attributes: Record<string, string | number | boolean>;
  events: { name: string; atMs: number; attributes: Record<string, string | number | boolean> }[];
  links: { traceId: string; spanId: string }[];
}

/** A trace's spans, in the order they ended. */
export interface StoredTrace {
  traceId: string;
  spans: StoredSpan[];
  /** Spans of this trace not kept because the store was full. */
  dropped: number;
}

/** One line of the recent traces' list. */
export interface TraceSummary {
  traceId: string;
  /** The root span's name, or the earliest span's when the root is not here. */
  name: string;
  startMs: number;
  durationMs: number;
  spans: number;
  errors: number;
  correlationIds: string[];
}

const kinds: Record<SpanKind, StoredSpan["kind"]> = {
  [SpanKind.INTERNAL]: "internal",
  [SpanKind.SERVER]: "server",
  [SpanKind.CLIENT]: "client",
  [SpanKind.PRODUCER]: "producer",
  [SpanKind.CONSUMER]: "consumer",
};

const toMs = ([seconds, nanos]: readonly [number, number]): number => seconds * 1000 + nanos / 1e6;

/** Attribute values as JSON scalars; arrays are joined (the runtime sets none). */
function plain(
  attributes: Readonly<Record<string, unknown>>,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    out[key] =
      typeof value === "string" || typeof value === "number" || typeof value === "boolean"
        ? value
        : Array.isArray(value)
          ? value.join(",")
          : String(value);
  }
  return out;
}

export function storedSpan(span: ReadableSpan): StoredSpan {
  const parent = span.parentSpanContext?.spanId;
  return {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    ...(parent !== undefined && { parentSpanId: parent }),
    name: span.name,
    scope: span.instrumentationScope.name,
    kind: kinds[span.kind],
    startMs: toMs(span.startTime),
    durationMs: toMs(span.duration),
    status:
      span.status.code === SpanStatusCode.ERROR
        ? "error"
        : span.status.code === SpanStatusCode.OK
          ? "ok"
          : "unset",
    ...(span.status.message !== undefined &&
      span.status.message !== "" && { statusMessage: span.status.message }),
    attributes: plain(span.attributes),
    events: span.events.map((event) => ({
      name: event.name,
      atMs: toMs(event.time),
      attributes: plain(event.attributes ?? {}),
    })),
    links: span.links.map((link) => ({
      traceId: link.context.traceId,
      spanId: link.context.spanId,
    })),
  };
}

export interface SpanStoreOptions {
  /** Spans kept at most, over all traces. Default 20 000 (a few MB). */
  maxSpans?: number;
}

export class SpanStore implements SpanProcessor {
  readonly maxSpans: number;
  /** By trace id, the oldest first (a Map keeps insertion order). */
  private readonly traces = new Map<string, StoredTrace>();
  /** Event ids and correlation ids → the traces that carry them. */
  private readonly byKey = new Map<string, Set<string>>();
  /** Each trace's keys, to unindex it when it is forgotten. */
  private readonly keysOf = new Map<string, Set<string>>();
  private count = 0;

  constructor(options: SpanStoreOptions = {}) {
    this.maxSpans = options.maxSpans ?? 20_000;
  }

  /** Spans held now. */
  get size(): number {
    return this.count;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    const stored = storedSpan(span);
    let trace = this.traces.get(stored.traceId);
    if (trace === undefined) {
      trace = { traceId: stored.traceId, spans: [], dropped: 0 };
      this.traces.set(stored.traceId, trace);
    }
    while (this.count >= this.maxSpans && this.evictOldestBut(stored.traceId));
    if (this.count >= this.maxSpans) {
      trace.dropped++;
      return;
    }
    trace.spans.push(stored);
    this.count++;
    for (const name of [ATTR.eventId, ATTR.correlationId]) {
      const key = stored.attributes[name];
      if (typeof key === "string") this.index(key, stored.traceId);
    }
  }

  /** A trace by its id. */
  trace(traceId: string): StoredTrace | undefined {
    return this.traces.get(traceId);
  }

  /** The traces an id names: a trace id, or an event id or correlation id some span carries. */
  find(id: string): StoredTrace[] {
    const direct = this.traces.get(id);
    if (direct !== undefined) return [direct];
    return [...(this.byKey.get(id) ?? [])]
      .map((traceId) => this.traces.get(traceId))
      .filter((trace): trace is StoredTrace => trace !== undefined)
      .sort((a, b) => startOf(a) - startOf(b));
  }

  /** The most recent traces first, at most `limit`. */
  recent(limit = 50): TraceSummary[] {
    return [...this.traces.values()]
      .filter((trace) => trace.spans.length > 0)
      .slice(-limit)
      .reverse()
      .map(summaryOf);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  private index(key: string, traceId: string): void {
    let traces = this.byKey.get(key);
    if (traces === undefined) this.byKey.set(key, (traces = new Set()));
    traces.add(traceId);
    let keys = this.keysOf.get(traceId);
    if (keys === undefined) this.keysOf.set(traceId, (keys = new Set()));
    keys.add(key);
  }

  /** Forgets the oldest trace other than `keep`; false when there is none. */
  private evictOldestBut(keep: string): boolean {
    for (const [traceId, trace] of this.traces) {
      if (traceId === keep) continue;
      this.traces.delete(traceId);
      this.count -= trace.spans.length;
      for (const key of this.keysOf.get(traceId) ?? []) {
        const traces = this.byKey.get(key);
        traces?.delete(traceId);
        if (traces?.size === 0) this.byKey.delete(key);
      }
      this.keysOf.delete(traceId);
      return true;
    }
    return false;
  }
}

function startOf(trace: StoredTrace): number {
  return Math.min(...trace.spans.map((span) => span.startMs));
}

export function summaryOf(trace: StoredTrace): TraceSummary {
  const ids = new Set(trace.spans.map((span) => span.spanId));
  const first = [...trace.spans].sort((a, b) => a.startMs - b.startMs)[0]!;
  const root =
    trace.spans.find((span) => span.parentSpanId === undefined) ??
    trace.spans.find((span) => !ids.has(span.parentSpanId!)) ??
    first;
  const start = first.startMs;
  const end = Math.max(...trace.spans.map((span) => span.startMs + span.durationMs));
  const correlationIds = new Set<string>();
  for (const span of trace.spans) {
    const id = span.attributes[ATTR.correlationId];
    if (typeof id === "string") correlationIds.add(id);
  }
  return {
    traceId: trace.traceId,
    name: root.name,
    startMs: start,
    durationMs: end - start,
    spans: trace.spans.length,
    errors: trace.spans.filter((span) => span.status === "error").length,
    correlationIds: [...correlationIds],
  };
}
