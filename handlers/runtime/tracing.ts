/**
 * OpenTelemetry traces of the event flow. Spans are made through `@opentelemetry/api` only:
 * until a process sets up a tracer provider ({@link startTracing}, called by handlers/main.ts
 * and by `npm start`), every span is the API's no-op and costs next to nothing, and importing
 * this module changes nothing global.
 *
 * The trace context of an event travels in its `ce-traceparent` and `ce-tracestate`
 * attributes (the CloudEvents distributed-tracing extension, in the Pub/Sub binding), so one
 * trace follows a flow across topics: the gateway's request span is the parent of the publish
 * span of each event it sends, a publish span the parent of every delivery of its message,
 * and a delivery's span the parent of the publish spans of the events its handler emits.
 *
 * Attribute names follow OpenTelemetry's messaging, database and CloudEvents conventions. The
 * messaging ones are still "incubating" in `@opentelemetry/semantic-conventions`, whose
 * maintainers ask users to copy such names rather than import the incubating entry point
 * (its names may change between minor releases): hence the constants below.
 */
import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { MAX_EVENT_ATTRIBUTES } from "./limits";

/** The instrumentation scope of every span the runtime makes. */
export const TRACER_NAME = "eventline";

/** Attribute names (see the file comment for why they are copied here). */
export const ATTR = {
  messagingSystem: "messaging.system",
  destination: "messaging.destination.name",
  subscription: "messaging.destination.subscription.name",
  operationType: "messaging.operation.type",
  operationName: "messaging.operation.name",
  messageId: "messaging.message.id",
  batchCount: "messaging.batch.message_count",
  deliveryAttempt: "messaging.gcp_pubsub.message.delivery_attempt",
  orderingKey: "messaging.gcp_pubsub.message.ordering_key",
  eventId: "cloudevents.event_id",
  eventSource: "cloudevents.event_source",
  eventType: "cloudevents.event_type",
  eventSubject: "cloudevents.event_subject",
  dbSystem: "db.system.name",
  dbOperation: "db.operation.name",
  dbBatchSize: "db.operation.batch.size",
  errorType: "error.type",
  /** Eventline's own: the flow an event belongs to, and what caused it. */
  correlationId: "eventline.correlation_id",
  causationId: "eventline.causation_id",
  consumer: "eventline.consumer",
  outcome: "eventline.outcome",
  action: "eventline.action",
  deadLetterReason: "eventline.dead_letter.reason",
  outsideCall: "eventline.outside_call",
  breakerState: "eventline.breaker.state",
  breakerStateAfter: "eventline.breaker.state_after",
  commitMode: "eventline.commit.mode",
} as const;

export const MESSAGING_SYSTEM = "gcp_pubsub";
export const FIRESTORE_SYSTEM = "gcp.firestore";

/** The runtime's tracer: the no-op one until a provider is registered. */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

const w3c = new W3CTraceContextPropagator();

/** Reads `traceparent`/`tracestate` from `ce-traceparent`/`ce-tracestate` message attributes. */
const attributeGetter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[`ce-${key}`],
};

/** Reads them from HTTP headers: the W3C `traceparent` header, or a binary CloudEvent's `ce-traceparent`. */
const headerGetter: TextMapGetter<Readonly<Record<string, string | string[] | undefined>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key] ?? carrier[`ce-${key}`],
};

/** The trace context an event's attributes carry, as the parent of what handles it. */
export function contextFromAttributes(attributes: Readonly<Record<string, string>>): Context {
  return w3c.extract(ROOT_CONTEXT, attributes, attributeGetter);
}

/** The trace context an HTTP request carries (a malformed header is ignored: the request starts a trace). */
export function contextFromHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Context {
  return w3c.extract(ROOT_CONTEXT, headers, headerGetter);
}

/**
 * Writes the span's context into a message's `ce-traceparent` (and `ce-tracestate` when it has
 * one), replacing what the message carried. An attribute the message lacks is added only while
 * it stays within {@link MAX_EVENT_ATTRIBUTES}, so that tracing never makes an event too big
 * for its dead letter. Returns whether the message now carries the span's context.
 */
export function injectIntoAttributes(span: Span, attributes: Record<string, string>): boolean {
  if (!trace.isSpanContextValid(span.spanContext())) return false;
  const written: Record<string, string> = {};
  w3c.inject(trace.setSpan(ROOT_CONTEXT, span), written, {
    set: (carrier, key, value) => (carrier[key] = value),
  } satisfies TextMapSetter<Record<string, string>>);
  let count = Object.keys(attributes).length;
  let carried = true;
  for (const [key, value] of Object.entries(written)) {
    const name = `ce-${key}`;
    if (attributes[name] === undefined) {
      if (count >= MAX_EVENT_ATTRIBUTES) {
        carried = false;
        continue;
      }
      count++;
    }
    attributes[name] = value;
  }
  return carried && written["traceparent"] !== undefined;
}

/** The span attributes that say which event a span is about. */
export function eventAttributes(attributes: Readonly<Record<string, string>>): Attributes {
  const out: Attributes = {};
  const put = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== "") out[name] = value;
  };
  put(ATTR.eventId, attributes["ce-id"]);
  put(ATTR.eventType, attributes["ce-type"]);
  put(ATTR.eventSource, attributes["ce-source"]);
  put(ATTR.eventSubject, attributes["ce-subject"]);
  put(ATTR.correlationId, attributes["ce-correlationid"] ?? attributes["ce-id"]);
  put(ATTR.causationId, attributes["ce-causationid"]);
  return out;
}

/** Marks a span failed by `err`, recording it as an exception event. */
export function recordFailure(span: Span, err: unknown, message?: string): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setAttribute(ATTR.errorType, error.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: message ?? error.message });
}

/**
 * Runs `work` in a span that is the active one while it runs, ends the span when `work`
 * settles, and records a failure. Spans made inside take it as parent.
 */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes !== undefined && { attributes: options.attributes }),
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (err) {
    recordFailure(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** The Cloud Logging fields that join a log line to its span, or none without a project or a valid span. */
export function logTraceFields(
  spanContext: SpanContext | undefined,
  projectId: string | undefined,
): Record<string, string | boolean> {
  if (projectId === undefined || spanContext === undefined) return {};
  if (!trace.isSpanContextValid(spanContext)) return {};
  return {
    "logging.googleapis.com/trace": `projects/${projectId}/traces/${spanContext.traceId}`,
    "logging.googleapis.com/spanId": spanContext.spanId,
    "logging.googleapis.com/trace_sampled": (spanContext.traceFlags & 1) === 1,
  };
}

export interface TracingOptions {
  /** `service.name` of every span: the consumer, `gateway`, `tracker`, or `eventline-local`. */
  serviceName: string;
  /**
   * The share of new traces kept, 0 to 1; a trace that arrives sampled (or not) stays so
   * (parent-based). Default 1.
   */
  sampleRatio?: number;
  /** Where finished spans go, each through a batching processor. Default: none. */
  exporters?: readonly SpanExporter[];
  /** Processors that see every finished span as it ends (the local span store). Default: none. */
  processors?: readonly SpanProcessor[];
}

export interface Tracing {
  readonly provider: NodeTracerProvider;
  /** Sends what is batched, and unregisters the provider; spans after it are no-ops again. */
  shutdown(): Promise<void>;
}

/**
 * Sets up this process's tracer provider and makes it the global one, with the async-hooks
 * context manager (so the active span follows awaits) and W3C trace-context propagation.
 * Call once per process, before any span is made.
 */
export function startTracing(options: TracingOptions): Tracing {
  const ratio = options.sampleRatio ?? 1;
  if (!(ratio >= 0 && ratio <= 1))
    throw new RangeError(`the trace sampling ratio must be between 0 and 1, not ${ratio}`);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
    spanProcessors: [
      ...(options.processors ?? []),
      ...(options.exporters ?? []).map((exporter) => new BatchSpanProcessor(exporter)),
    ],
  });
  provider.register();
  return {
    provider,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}

export { SpanKind, SpanStatusCode, context, trace };
export type { Span, Context };
