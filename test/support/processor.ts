/**
 * A consumer's delivery pipeline in the test's process, on the test's Firestore, with its
 * derived events captured, and the sizes of the commit groups it sent (commit-groups.ts).
 */
import { randomUUID } from "node:crypto";
import type { Firestore } from "@google-cloud/firestore";
import pino from "pino";
import { eventTypesFor } from "../../handlers/declared";
import { DeliveryProcessor } from "../../handlers/runtime/delivery";
import type { RegisteredHandler } from "../../handlers/runtime/handler";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { OutsideCalls } from "../../handlers/runtime/resilience";
import type { ResolvedConsumer } from "../../infra/model/types";
import { CapturingPublisher } from "../../handlers/testing/run-handler";
import { shareRequested } from "./pubsub";

/** A processor for `consumer` running `handler`, grouping its commits after `groupCommitsAfter` runs (false: never). */
export function testProcessor(options: {
  firestore: Firestore;
  consumer: ResolvedConsumer;
  handler: RegisteredHandler;
  groupCommitsAfter: number | false;
}) {
  const metrics = new RuntimeMetrics();
  const publisher = new CapturingPublisher();
  const logger = pino({ level: "silent" });
  const processor = new DeliveryProcessor({
    ...options,
    eventTypes: eventTypesFor("local"),
    publisher,
    metrics,
    logger,
    outsideCalls: new OutsideCalls(logger),
  });
  /** Commits sent by commit groups so far, and the events they carried. */
  const commits = async () => {
    const values = (await metrics.commitGroupEvents.get()).values;
    const sum =
      values.find((v) => v.metricName === "eventline_commit_group_events_sum")?.value ?? 0;
    const count =
      values.find((v) => v.metricName === "eventline_commit_group_events_count")?.value ?? 0;
    return { commits: count, events: sum };
  };
  return { processor, publisher, commits };
}

/** A first delivery of a new share.requested event (`id`: its event id), as a processor receives it. */
export function shareDelivery(metadata: Record<string, string> = {}, id = randomUUID()) {
  const message = shareRequested(metadata, { id });
  return {
    messageId: randomUUID(),
    data: message.data,
    attributes: message.attributes,
    deliveryAttempt: 1,
  };
}
