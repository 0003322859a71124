/**
 * `eventline trace <event-id|correlation-id|trace-id>`: the trace of an event's flow, as the
 * running `npm start` recorded it (its /api/traces, tools/local/span-store.ts), printed as a
 * tree: the gateway's request, each publish, every consumer the event reached with its
 * attempt and outcome (retries, dead letters and their reasons), the handlers' runs, commits
 * and outside calls, each with its offset from the trace's start, its duration and its error.
 */
import { Command, Option } from "commander";
import { ATTR } from "../../handlers/runtime/tracing";
import type { StoredSpan, StoredTrace } from "../local/span-store";
import { clientSettings } from "../local/settings";
import { UserError } from "./errors";

interface TraceOptions {
  url?: string;
  all?: boolean;
  json?: boolean;
}

/** The scope of the runtime's own spans; others are libraries' (the Firestore client's). */
const RUNTIME_SCOPE = "eventline";

export function traceCommand(): Command {
  return new Command("trace")
    .description(
      "print the trace of an event's flow as the running npm start recorded it: consumers reached, retries, dead letters, durations and errors",
    )
    .argument("<id>", "an event id, a correlation id, or a trace id (32 hex digits)")
    .addOption(
      new Option(
        "--url <url>",
        "the local server to ask (default: the running npm start's, from .eventline/dev.json or PORT)",
      ),
    )
    .option("--all", "also show the spans the Google clients make (Firestore's commits and reads)")
    .option("--json", "print the traces' spans as JSON")
    .action(async (id: string, options: TraceOptions) => {
      const base = options.url ?? `http://127.0.0.1:${clientSettings().port}`;
      const traces = await fetchTraces(base, id);
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(traces, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        traces.map((trace) => renderTrace(trace, { all: options.all === true })).join("\n"),
      );
    });
}

async function fetchTraces(base: string, id: string): Promise<StoredTrace[]> {
  let url: URL;
  try {
    url = new URL("/api/traces", base);
  } catch {
    throw new UserError(
      `--url ${base} is not a URL; pass the local server's, e.g. http://127.0.0.1:8080`,
    );
  }
  url.searchParams.set("id", id);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new UserError(
      `nothing answers at ${url.origin} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}): start the system with npm start, or pass --url`,
    );
  }
  const body = (await response.json().catch(() => undefined)) as
    { traces?: StoredTrace[]; error?: string } | undefined;
  if (!response.ok || body?.traces === undefined)
    throw new UserError(
      body?.error ?? `${url.origin} answered ${response.status}; is it npm start's server?`,
    );
  return body.traces;
}

const ms = (value: number): string =>
  value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;

/** What a span says beyond its name and time, by kind. */
function details(span: StoredSpan): string {
  const a = span.attributes;
  const parts: string[] = [];
  if (span.kind === "consumer") {
    if (a[ATTR.deliveryAttempt] !== undefined) parts.push(`attempt ${a[ATTR.deliveryAttempt]}`);
    if (a[ATTR.outcome] !== undefined) parts.push(String(a[ATTR.outcome]));
    if (a[ATTR.deadLetterReason] !== undefined) parts.push(`reason ${a[ATTR.deadLetterReason]}`);
  }
  if (span.kind === "producer" && a[ATTR.eventType] !== undefined)
    parts.push(`${a[ATTR.eventType]} ${a[ATTR.eventId]}`);
  if (span.kind === "server" && a["http.response.status_code"] !== undefined)
    parts.push(String(a["http.response.status_code"]));
  if (a[ATTR.breakerState] !== undefined)
    parts.push(`breaker ${a[ATTR.breakerState]} → ${a[ATTR.breakerStateAfter] ?? "?"}`);
  if (a[ATTR.dbBatchSize] !== undefined) parts.push(`${a[ATTR.dbBatchSize]} events`);
  if (span.links.length > 0) parts.push(`linked to ${span.links.map((l) => l.spanId).join(", ")}`);
  if (span.status === "error") parts.push(`ERROR ${span.statusMessage ?? ""}`.trim());
  return parts.join(", ");
}

/** A trace as an indented tree, children in the order they started. */
export function renderTrace(trace: StoredTrace, options: { all?: boolean } = {}): string {
  const shown = trace.spans.filter((span) => options.all === true || span.scope === RUNTIME_SCOPE);
  const byId = new Map(trace.spans.map((span) => [span.spanId, span]));
  const shownIds = new Set(shown.map((span) => span.spanId));
  /** The nearest shown ancestor: a hidden library span's children hang from its parent. */
  const parentOf = (span: StoredSpan): string | undefined => {
    let at = span.parentSpanId;
    while (at !== undefined && !shownIds.has(at)) at = byId.get(at)?.parentSpanId;
    return at;
  };
  const children = new Map<string | undefined, StoredSpan[]>();
  for (const span of shown) {
    const parent = parentOf(span);
    const list = children.get(parent) ?? [];
    list.push(span);
    children.set(parent, list);
  }
  for (const list of children.values()) list.sort((a, b) => a.startMs - b.startMs);
  const start = Math.min(...trace.spans.map((span) => span.startMs));
  const end = Math.max(...trace.spans.map((span) => span.startMs + span.durationMs));
  const errors = trace.spans.filter((span) => span.status === "error").length;
  const lines = [
    `trace ${trace.traceId}  ${ms(end - start)}  ${trace.spans.length} spans${errors > 0 ? `, ${errors} with errors` : ""}${trace.dropped > 0 ? ` (${trace.dropped} not kept: the store was full)` : ""}`,
  ];
  const walk = (span: StoredSpan, prefix: string, last: boolean): void => {
    const extra = details(span);
    lines.push(
      `${prefix}${last ? "└─ " : "├─ "}${span.name}  +${ms(span.startMs - start)}  ${ms(span.durationMs)}${extra === "" ? "" : `  ${extra}`}`,
    );
    const next = children.get(span.spanId) ?? [];
    next.forEach((child, i) =>
      walk(child, `${prefix}${last ? "   " : "│  "}`, i === next.length - 1),
    );
  };
  // Roots: spans with no shown parent; one whose parent was never recorded here says so.
  const roots = children.get(undefined) ?? [];
  roots.forEach((root, i) => {
    if (root.parentSpanId !== undefined && !byId.has(root.parentSpanId))
      lines.push(`(continues ${root.parentSpanId}, a span made outside this process)`);
    walk(root, "", i === roots.length - 1);
  });
  return `${lines.join("\n")}\n`;
}
