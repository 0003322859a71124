/**
 * The runtime's Prometheus metrics (prom-client), served on `/metrics` by both hosts: what
 * each consumer received, acked, nacked, dead-lettered and skipped, by event type; handler
 * latency; messages in flight; and `events_published` by type (docs/requirements.md, VS-13).
 * Each runtime has its own registry, so several consumers (the local host, tests) never share
 * counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The event-type label of a message that is not a declared event (undecodable, unknown type). */
export const UNKNOWN_TYPE = "unknown";

export class RuntimeMetrics {
  readonly registry = new Registry();

  readonly received = new Counter({
    name: "eventline_messages_received_total",
    help: "Messages delivered to a consumer, redeliveries included.",
    labelNames: ["consumer", "type"] as const,
    registers: [this.registry],
  });

  readonly acked = new Counter({
    name: "eventline_messages_acked_total",
    help: "Messages acked: handled, duplicates, skipped and dead-lettered ones.",
    labelNames: ["consumer", "type"] as const,
    registers: [this.registry],
  });

  readonly nacked = new Counter({
    name: "eventline_messages_nacked_total",
    help: "Messages nacked for redelivery after a retryable or unknown error.",
    labelNames: ["consumer", "type"] as const,
    registers: [this.registry],
  });

  readonly deadLettered = new Counter({
    name: "eventline_messages_dead_lettered_total",
    help: "Messages the runtime published to the consumer's dead-letter topic, by reason.",
    labelNames: ["consumer", "type", "reason"] as const,
    registers: [this.registry],
  });

  readonly duplicates = new Counter({
    name: "eventline_duplicates_skipped_total",
    help: "Redelivered events acked without running the handler again (already recorded as processed).",
    labelNames: ["consumer", "type"] as const,
    registers: [this.registry],
  });

  readonly skipped = new Counter({
    name: "eventline_messages_skipped_total",
    help: "Messages acked unhandled: outside the consumer's filter, or of a type its handler does not accept.",
    labelNames: ["consumer", "type", "reason"] as const,
    registers: [this.registry],
  });

  readonly handlerSeconds = new Histogram({
    name: "eventline_handler_duration_seconds",
    help: "Time from receipt to outcome of one message, handler and its transaction included.",
    labelNames: ["consumer", "type", "outcome"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600],
    registers: [this.registry],
  });

  readonly commitGroupEvents = new Histogram({
    name: "eventline_commit_group_events",
    help: "Handler runs committed together in one Firestore commit (runs a plain batch can commit; commit-groups.ts).",
    labelNames: ["consumer"] as const,
    buckets: [1, 2, 5, 10, 20, 50, 100],
    registers: [this.registry],
  });

  readonly inFlight = new Gauge({
    name: "eventline_messages_in_flight",
    help: "Messages being processed right now.",
    labelNames: ["consumer"] as const,
    registers: [this.registry],
  });

  readonly published = new Counter({
    name: "events_published_total",
    help: "Events published, by type and topic.",
    labelNames: ["type", "topic"] as const,
    registers: [this.registry],
  });

  readonly handlerCounts = new Counter({
    name: "eventline_handler_count_total",
    help: "Counts a handler reports through ctx.metrics.increment, by name.",
    labelNames: ["consumer", "name"] as const,
    registers: [this.registry],
  });

  readonly handlerObservations = new Histogram({
    name: "eventline_handler_observation_seconds",
    help: "Durations a handler reports through ctx.metrics.observe (e.g. an outside call), by name.",
    labelNames: ["consumer", "name"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  /** Adds Node's process metrics (CPU, memory, event-loop lag); once per process, by main.ts. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }
}

/** What a handler may record: its own counts and durations, labelled with its consumer. */
export interface HandlerMetrics {
  /** Adds `by` (default 1) to the count called `name`, e.g. `increment("email_sent")`. */
  increment(name: string, by?: number): void;
  /** Records a duration in seconds under `name`, e.g. `observe("smtp_send", 0.42)`. */
  observe(name: string, seconds: number): void;
}

export function handlerMetrics(metrics: RuntimeMetrics, consumer: string): HandlerMetrics {
  return {
    increment: (name, by = 1) => metrics.handlerCounts.inc({ consumer, name }, by),
    observe: (name, seconds) => metrics.handlerObservations.observe({ consumer, name }, seconds),
  };
}
