import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { ATTR } from "../../handlers/runtime/tracing";
import { SpanStore } from "../../tools/local/span-store";

function setUp(maxSpans: number) {
  const store = new SpanStore({ maxSpans });
  const provider = new BasicTracerProvider({ spanProcessors: [store] });
  return { store, tracer: provider.getTracer("test") };
}

describe("the local span store", () => {
  it("finds a trace by its id, an event id or a correlation id", () => {
    const { store, tracer } = setUp(100);
    const root = tracer.startSpan("root", {
      attributes: { [ATTR.eventId]: "e1", [ATTR.correlationId]: "flow-1" },
    });
    root.end();
    const { traceId } = root.spanContext();
    expect(store.trace(traceId)!.spans.map((s) => s.name)).toEqual(["root"]);
    expect(store.find("e1").map((t) => t.traceId)).toEqual([traceId]);
    expect(store.find("flow-1").map((t) => t.traceId)).toEqual([traceId]);
    expect(store.find(traceId).map((t) => t.traceId)).toEqual([traceId]);
    expect(store.find("nothing")).toEqual([]);
    expect(store.recent()[0]).toMatchObject({ traceId, name: "root", spans: 1, errors: 0 });
  });

  it("holds at most maxSpans, forgetting the oldest traces whole and unindexing them", () => {
    const { store, tracer } = setUp(4);
    const traces: string[] = [];
    for (let i = 0; i < 4; i++) {
      const span = tracer.startSpan(`t${i}`, { attributes: { [ATTR.eventId]: `e${i}` } });
      span.end();
      traces.push(span.spanContext().traceId);
    }
    const late = tracer.startSpan("t4", { attributes: { [ATTR.eventId]: "e4" } });
    late.end();
    expect(store.size).toBe(4);
    expect(store.trace(traces[0]!)).toBeUndefined();
    expect(store.find("e0")).toEqual([]);
    expect(store.find("e4")).toHaveLength(1);
  });

  it("keeps a trace's first spans when it alone passes the bound, and counts what it dropped", () => {
    const { store, tracer } = setUp(3);
    const root = tracer.startSpan("root");
    const parent = trace.setSpan(ROOT_CONTEXT, root);
    for (let i = 0; i < 5; i++) tracer.startSpan(`child${i}`, {}, parent).end();
    root.end();
    const kept = store.trace(root.spanContext().traceId)!;
    expect(kept.spans.map((s) => s.name)).toEqual(["child0", "child1", "child2"]);
    expect(kept.dropped).toBe(3);
    expect(store.size).toBe(3);
  });
});
