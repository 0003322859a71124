/**
 * Per-consumer counters for the dashboard, summed over event types from the runtime's
 * Prometheus counters (handlers/runtime/metrics.ts): received, acked, retried (nacked for
 * redelivery) and dead-lettered. They count since this `npm start`; the dead letters
 * themselves outlive it in the parking subscriptions.
 */
import type { Counter } from "prom-client";
import type { RuntimeMetrics } from "../../handlers/runtime/metrics";
import type { ResolvedSystem } from "../../infra/model/types";

export interface ConsumerCounters {
  consumer: string;
  topic: string;
  delivery: "push" | "pull";
  builtIn: boolean;
  /** For a hook: where it POSTs its events; its counts are its deliveries and their outcomes. */
  hook?: string;
  hosted: boolean;
  received: number;
  acked: number;
  retried: number;
  deadLettered: number;
}

async function byConsumer(counter: Counter<string>): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const { labels, value } of (await counter.get()).values) {
    const consumer = String(labels["consumer"] ?? "");
    totals.set(consumer, (totals.get(consumer) ?? 0) + value);
  }
  return totals;
}

export async function consumerCounters(
  system: ResolvedSystem,
  metrics: RuntimeMetrics,
  hosted: readonly string[],
): Promise<ConsumerCounters[]> {
  const [received, acked, retried, deadLettered] = await Promise.all(
    [metrics.received, metrics.acked, metrics.nacked, metrics.deadLettered].map((counter) =>
      byConsumer(counter as Counter<string>),
    ),
  );
  return system.consumers.map((consumer) => ({
    consumer: consumer.name,
    topic: consumer.topic,
    delivery: consumer.delivery,
    builtIn: consumer.builtIn,
    ...(consumer.hook !== undefined && { hook: consumer.hook.url }),
    hosted: hosted.includes(consumer.name),
    received: received!.get(consumer.name) ?? 0,
    acked: acked!.get(consumer.name) ?? 0,
    retried: retried!.get(consumer.name) ?? 0,
    deadLettered: deadLettered!.get(consumer.name) ?? 0,
  }));
}
