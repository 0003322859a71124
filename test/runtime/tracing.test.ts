import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { MAX_EVENT_ATTRIBUTES } from "../../handlers/runtime/limits";
import { eventLogger, createLogger } from "../../handlers/runtime/logger";
import { OutsideCall } from "../../handlers/runtime/resilience";
import {
  ATTR,
  contextFromAttributes,
  contextFromHeaders,
  inSpan,
  injectIntoAttributes,
  logTraceFields,
  startTracing,
  trace,
  tracer,
  type Tracing,
} from "../../handlers/runtime/tracing";
import { Writable } from "node:stream";

const exporter = new InMemorySpanExporter();
let tracing: Tracing;

beforeAll(() => {
  tracing = startTracing({
    serviceName: "tracing-test",
    processors: [new SimpleSpanProcessor(exporter)],
  });
});
afterAll(() => tracing.shutdown());
beforeEach(() => exporter.reset());

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";

describe("trace context in event attributes", () => {
  it("reads ce-traceparent and ce-tracestate as the parent of a new span, and writes the new span's context back", () => {
    const parent = contextFromAttributes({
      "ce-traceparent": `00-${TRACE_ID}-${PARENT_ID}-01`,
      "ce-tracestate": "vendor=abc",
    });
    const span = tracer().startSpan("child", {}, parent);
    const attributes: Record<string, string> = {
      "ce-traceparent": `00-${TRACE_ID}-${PARENT_ID}-01`,
    };
    expect(injectIntoAttributes(span, attributes)).toBe(true);
    span.end();
    const [finished] = exporter.getFinishedSpans();
    expect(finished!.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(attributes["ce-traceparent"]).toBe(
      `00-${TRACE_ID}-${finished!.spanContext().spanId}-01`,
    );
    // The trace state travels with the trace.
    expect(attributes["ce-tracestate"]).toBe("vendor=abc");
  });

  it("never adds an attribute past the event limit, but still replaces one the event has", () => {
    const full: Record<string, string> = {};
    for (let i = 0; i < MAX_EVENT_ATTRIBUTES; i++) full[`ce-x${i}`] = "v";
    const span = tracer().startSpan("full");
    expect(injectIntoAttributes(span, full)).toBe(false);
    expect(Object.keys(full)).toHaveLength(MAX_EVENT_ATTRIBUTES);
    const withParent = { ...full };
    delete withParent["ce-x0"];
    withParent["ce-traceparent"] = `00-${TRACE_ID}-${PARENT_ID}-01`;
    expect(injectIntoAttributes(span, withParent)).toBe(true);
    expect(withParent["ce-traceparent"]).toContain(span.spanContext().spanId);
    span.end();
  });

  it("ignores a malformed traceparent: the span starts a trace of its own", () => {
    const parent = contextFromAttributes({ "ce-traceparent": "00-zz-yy-01" });
    expect(trace.getSpanContext(parent)).toBeUndefined();
    const headers = contextFromHeaders({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    expect(trace.getSpanContext(headers)?.traceId).toBe(TRACE_ID);
  });
});

describe("spans", () => {
  it("nests spans made inside inSpan and records a failure", async () => {
    await expect(
      inSpan("outer", {}, () => inSpan("inner", {}, () => Promise.reject(new Error("boom")))),
    ).rejects.toThrow("boom");
    const spans = exporter.getFinishedSpans();
    const inner = spans.find((s) => s.name === "inner")!;
    const outer = spans.find((s) => s.name === "outer")!;
    expect(inner.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(inner.status.code).toBe(2);
    expect(inner.events[0]?.name).toBe("exception");
  });

  it("gives an outside call a client span with its breaker's state before and after", async () => {
    const call = new OutsideCall("smtp", { breakAfter: 1, retries: 0, halfOpenAfterMs: 60_000 });
    await expect(call.execute(() => Promise.reject(new Error("refused")))).rejects.toThrow();
    await expect(call.execute(() => Promise.resolve(1))).rejects.toThrow(/circuit is open/);
    const [first, second] = exporter.getFinishedSpans();
    expect(first!.name).toBe("call smtp");
    expect(first!.attributes[ATTR.breakerState]).toBe("closed");
    expect(first!.attributes[ATTR.breakerStateAfter]).toBe("open");
    expect(second!.attributes[ATTR.breakerState]).toBe("open");
    expect(second!.status.code).toBe(2);
  });
});

describe("log lines join their span", () => {
  it("carries the span's trace, id and sampled flag in Cloud Logging's fields", () => {
    const lines: string[] = [];
    const logger = createLogger({
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }) as never,
    });
    const span = tracer().startSpan("delivery");
    const meta = {
      id: "e1",
      type: "t",
      source: "//s",
      specversion: "1.0",
      time: "2026-01-01T00:00:00Z",
      correlationId: "c1",
      traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
      datacontenttype: "application/json",
      extensions: {},
    };
    eventLogger(logger, meta, "proj", {}, span.spanContext()).info("hello");
    span.end();
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    const { traceId, spanId } = span.spanContext();
    expect(line["logging.googleapis.com/trace"]).toBe(`projects/proj/traces/${traceId}`);
    expect(line["logging.googleapis.com/spanId"]).toBe(spanId);
    expect(line["logging.googleapis.com/trace_sampled"]).toBe(true);
    expect(logTraceFields(span.spanContext(), undefined)).toEqual({});
  });
});
