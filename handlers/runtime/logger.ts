/**
 * Logs as Cloud Logging reads them from stdout: one JSON object per line, `severity` instead
 * of pino's level numbers, `message` for the text, `time` in RFC 3339, and the trace of the
 * event being handled in `logging.googleapis.com/trace` (with `spanId` and `trace_sampled`),
 * so the Logs Explorer groups a flow's lines with its trace and shows them under the span of
 * the delivery that wrote them (tracing.ts). Every line about an event
 * carries its id, correlation id and causation id.
 */
import {
  destination,
  pino,
  stdTimeFunctions,
  type DestinationStream,
  type Logger,
  type LevelWithSilent,
} from "pino";
import type { SpanContext } from "@opentelemetry/api";
import type { EventMeta } from "./codec";
import { logTraceFields } from "./tracing";

export type { Logger } from "pino";

/** pino level → Cloud Logging LogSeverity. */
const SEVERITY: Readonly<Record<string, string>> = {
  trace: "DEBUG",
  debug: "DEBUG",
  info: "INFO",
  warn: "WARNING",
  error: "ERROR",
  fatal: "CRITICAL",
};

export interface LoggerOptions {
  /** Minimum level written. Default `"info"` (LOG_LEVEL in main.ts). */
  level?: LevelWithSilent;
  /**
   * The Google Cloud project, needed to turn a traceparent into the
   * `projects/<project>/traces/<trace id>` form Cloud Logging links to Cloud Trace.
   * Default: none, and lines carry no trace field.
   */
  projectId?: string;
  /** Fields on every line, e.g. `{ consumer: "email-worker" }`. Default: none. */
  base?: Record<string, unknown>;
  /** Where lines go. Default: stdout, written synchronously so no line is lost when the process exits. */
  destination?: DestinationStream;
}

/** A logger writing Cloud Logging structured JSON. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      messageKey: "message",
      timestamp: stdTimeFunctions.isoTime,
      // pid and hostname are noise on Cloud Run and GKE, where the resource labels say where a line came from.
      base: { ...options.base },
      formatters: { level: (label) => ({ severity: SEVERITY[label] ?? "DEFAULT" }) },
    },
    options.destination ?? destination({ dest: 1, sync: true }),
  );
}

/** W3C traceparent: version-traceid-parentid-flags. */
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The Cloud Logging trace fields for a traceparent, or none when it is absent or malformed. */
export function traceFields(
  traceparent: string | undefined,
  projectId: string | undefined,
): Record<string, string | boolean> {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (match === null || projectId === undefined) return {};
  return {
    "logging.googleapis.com/trace": `projects/${projectId}/traces/${match[1]}`,
    "logging.googleapis.com/spanId": match[2]!,
    "logging.googleapis.com/trace_sampled": (parseInt(match[3]!, 16) & 1) === 1,
  };
}

/**
 * The logger for one event: every line carries the event's ids and trace: the span handling it
 * when there is one (a valid `span`), else the trace context the event arrived with.
 */
export function eventLogger(
  logger: Logger,
  meta: EventMeta,
  projectId: string | undefined,
  fields: Record<string, unknown> = {},
  span?: SpanContext,
): Logger {
  const trace = logTraceFields(span, projectId);
  return logger.child({
    eventId: meta.id,
    eventType: meta.type,
    correlationId: meta.correlationId,
    causationId: meta.causationId ?? null,
    ...fields,
    ...(Object.keys(trace).length > 0 ? trace : traceFields(meta.traceparent, projectId)),
  });
}
