/**
 * No stranded outbox: once a cause's writes are committed, its derived events are published,
 * whatever becomes of the delivery (a timeout, a failed publish, a dead letter), and its
 * effects still apply once. Against the Firestore emulator, with the runtime's DeliveryProcessor.
 */
import { randomUUID } from "node:crypto";
import { Timestamp } from "@google-cloud/firestore";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import type { OutgoingMessage } from "../../handlers/runtime/codec";
import { DeliveryProcessor } from "../../handlers/runtime/delivery";
import {
  derivedEventId,
  OUTBOX_SINCE_FIELD,
  processedRef,
  type ProcessedRecord,
} from "../../handlers/runtime/idempotency";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { MAX_ATTEMPTS_REASON } from "../../handlers/runtime/outcome";
import { OutboxRelay } from "../../handlers/runtime/outbox-relay";
import { OutsideCalls } from "../../handlers/runtime/resilience";
import { CapturingPublisher } from "../../handlers/testing/run-handler";
import { useEmulators } from "../support/emulators";
import { shareRequested } from "../support/pubsub";
import { applied, testEmailSender } from "../support/test-handlers";

const emulators = useEmulators({ pubsub: false });
const eventTypes = eventTypesFor("local");
const consumer = eventTypes.system.consumers.find((c) => c.name === "email-worker")!;
const LAST = consumer.maxDeliveryAttempts;
const logger = pino({ level: "silent" });

/** Captures what is published, except to the topics named in `failing`, where publishing throws. */
class FailingTopicsPublisher extends CapturingPublisher {
  readonly failing = new Set<string>();
  override async publish(messages: readonly OutgoingMessage[]): Promise<string[]> {
    const refused = messages.find((m) => this.failing.has(m.topic));
    if (refused !== undefined) throw new Error(`Pub/Sub refused the publish to ${refused.topic}`);
    return super.publish(messages);
  }
}

function processorWith(publisher: CapturingPublisher, handlerTimeoutMs?: number) {
  return new DeliveryProcessor({
    consumer,
    handler: testEmailSender,
    eventTypes,
    firestore: emulators.firestore,
    publisher,
    metrics: new RuntimeMetrics(),
    logger,
    outsideCalls: new OutsideCalls(logger),
    groupCommitsAfter: false,
    ...(handlerTimeoutMs !== undefined && { handlerTimeoutMs }),
  });
}

function delivery(metadata: Record<string, string>, deliveryAttempt: number, id = randomUUID()) {
  const message = shareRequested(metadata, { id });
  return {
    messageId: randomUUID(),
    data: message.data,
    attributes: message.attributes,
    deliveryAttempt,
  };
}

/** The id of the share.completed the email sender derives from event `id`. */
const completedId = (id: string) =>
  derivedEventId(consumer.name, { source: "//eventline/gateway", id }, 0);

const publishedIds = (publisher: CapturingPublisher) =>
  publisher.messages
    .filter((m) => m.topic !== consumer.deadLetterTopic)
    .map((m) => m.attributes["ce-id"]);

async function record(id: string): Promise<ProcessedRecord | undefined> {
  return (
    await processedRef(emulators.firestore, consumer.name, {
      source: "//eventline/gateway",
      id,
    }).get()
  ).data() as ProcessedRecord | undefined;
}

const appliedCount = async (id: string) =>
  (await applied.ref(emulators.firestore, id).get()).data()?.count;

describe("no stranded outbox", { timeout: 30_000 }, () => {
  it("publishes the derived events of a run that commits after its time limit, though the delivery was dead-lettered", async () => {
    const publisher = new CapturingPublisher();
    const id = randomUUID();
    const outcome = await processorWith(publisher, 100).process(
      delivery({ delayMs: "400" }, LAST, id),
    );
    expect(outcome).toMatchObject({
      action: "ack",
      result: "dead-lettered",
      reason: MAX_ATTEMPTS_REASON,
    });
    await expect
      .poll(() => publishedIds(publisher), { timeout: 10_000 })
      .toContain(completedId(id));
    await expect.poll(async () => (await record(id))?.outbox, { timeout: 5_000 }).toBeUndefined();
    expect(await appliedCount(id)).toBe(1);
  });

  it("counts an event handled when its writes committed but publishing failed on the last attempt, and the relay publishes its events", async () => {
    const publisher = new FailingTopicsPublisher();
    publisher.failing.add("viral-funnel");
    const id = randomUUID();
    const outcome = await processorWith(publisher).process(delivery({}, LAST, id));
    expect(outcome).toEqual({ action: "ack", result: "handled" });
    expect(publisher.messages.filter((m) => m.topic === consumer.deadLetterTopic)).toEqual([]);
    const left = await record(id);
    expect(left?.outbox).toHaveLength(1);
    expect(left?.[OUTBOX_SINCE_FIELD as "outboxSince"]).toBeDefined();

    publisher.failing.clear();
    const relay = new OutboxRelay({
      firestore: emulators.firestore,
      publisher,
      consumer: consumer.name,
      logger,
      graceMs: 60_000,
    });
    // Within the grace period the outbox is still the delivery's to publish.
    expect(await relay.sweep()).toBe(0);
    expect(publishedIds(publisher)).not.toContain(completedId(id));
    const later = new Date(Date.now() + 61_000);
    expect(await relay.sweep(later)).toBeGreaterThanOrEqual(1);
    expect(publishedIds(publisher)).toContain(completedId(id));
    expect((await record(id))?.outbox).toBeUndefined();
    expect((await record(id))?.[OUTBOX_SINCE_FIELD as "outboxSince"]).toBeUndefined();
    const before = publisher.messages.length;
    expect(await relay.sweep(later)).toBe(0);
    expect(publisher.messages.length).toBe(before);
    expect(await appliedCount(id)).toBe(1);
  });

  it("nacks a failed publish before the last attempt, and the redelivery publishes without running the handler again", async () => {
    const publisher = new FailingTopicsPublisher();
    publisher.failing.add("viral-funnel");
    const processor = processorWith(publisher);
    const id = randomUUID();
    expect((await processor.process(delivery({}, 1, id))).action).toBe("nack");
    publisher.failing.clear();
    expect(await processor.process(delivery({}, 2, id))).toEqual({
      action: "ack",
      result: "duplicate",
    });
    expect(publishedIds(publisher)).toEqual([completedId(id)]);
    expect((await record(id))?.outbox).toBeUndefined();
    expect(await appliedCount(id)).toBe(1);
  });

  it("runs the relay after deliveries, in the background, when the processor hosts the consumer", async () => {
    const publisher = new FailingTopicsPublisher();
    publisher.failing.add("viral-funnel");
    const stranded = randomUUID();
    await processorWith(publisher).process(delivery({}, LAST, stranded));
    publisher.failing.clear();
    // Left a day ago: past any delivery's time to publish it (the ack deadline is at most 10 min).
    await processedRef(emulators.firestore, consumer.name, {
      source: "//eventline/gateway",
      id: stranded,
    }).update({ [OUTBOX_SINCE_FIELD]: Timestamp.fromMillis(Date.now() - 86_400_000) });
    const hosting = new DeliveryProcessor({
      consumer,
      handler: testEmailSender,
      eventTypes,
      firestore: emulators.firestore,
      publisher,
      metrics: new RuntimeMetrics(),
      logger,
      outsideCalls: new OutsideCalls(logger),
      relayOutboxes: true,
    });
    expect(hosting.outboxRelay).toBeDefined();
    await hosting.process(delivery({}, 1));
    await expect
      .poll(() => publishedIds(publisher), { timeout: 10_000 })
      .toContain(completedId(stranded));
    await hosting.outboxRelay!.stop();
  });
});
