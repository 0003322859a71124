import type { Message } from "@google-cloud/pubsub";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { DEAD_LETTER_ATTRIBUTES as DL } from "../../handlers/runtime/dead-letter";
import { eventKey } from "../../handlers/runtime/idempotency";
import type { DeliveryProcessor } from "../../handlers/runtime/delivery";
import type { RunningRuntime } from "../../handlers/runtime/launcher";
import { createLogger } from "../../handlers/runtime/logger";
import { PullHost } from "../../handlers/runtime/pull-host";
import { provision } from "../../tools/local/provision";
import { useEmulators } from "../support/emulators";
import { launchLocalConsumer } from "../support/runtime";
import {
  codec,
  collect,
  countingPulls,
  publishRaw,
  shareRequested,
  subscriptionOf,
  waitFor,
} from "../support/pubsub";
import { applicationOrder, applied, concurrency } from "../support/test-handlers";

const emulators = useEmulators();
const system = eventTypesFor("local").system;
/** A tap on the funnel topic, to see what the handler published. */
const FUNNEL_TAP = "test-viral-funnel-tap";
let runtime: RunningRuntime;
/** The ordered funnel-projector consumer. */
let ordered: RunningRuntime;

async function appliedCount(eventId: string): Promise<number> {
  const snapshot = await applied.ref(emulators.firestore, eventId).get();
  return snapshot.data()?.count ?? 0;
}

async function metricValue(
  metric: {
    get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }>;
  },
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

function isDeadLetterOf(messageId: string) {
  return (m: Message) => m.attributes[DL.messageId] === messageId;
}

beforeAll(async () => {
  await provision(emulators.pubsub, system, {
    consumers: ["email-worker", "funnel-projector"],
    retry: { minBackoffSeconds: 0.1, maxBackoffSeconds: 0.5 },
  });
  await emulators.pubsub.topic("viral-funnel").createSubscription(FUNNEL_TAP);
}, 60_000);

beforeEach(() => concurrency.reset());

describe("provisioning a pull consumer", () => {
  it("provisions the consumer's subscription with a dead-letter policy, retry policy and filter, idempotently", async () => {
    const again = await provision(emulators.pubsub, system, { consumers: ["email-worker"] });
    expect(again.created).toEqual([]);
    const [metadata] = await emulators.pubsub
      .subscription(subscriptionOf("email-worker"))
      .getMetadata();
    expect(metadata.filter).toBe('attributes.ce-channel = "email"');
    expect(metadata.deadLetterPolicy?.deadLetterTopic).toBe(
      `projects/${emulators.projectId}/topics/email-worker-dlq`,
    );
    expect(metadata.deadLetterPolicy?.maxDeliveryAttempts).toBe(5);
    expect(metadata.ackDeadlineSeconds).toBe(600);
  });

  it("provisions every consumer of the declaration into the emulator", async () => {
    await provision(emulators.pubsub, system);
    const [subscriptions] = await emulators.pubsub.getSubscriptions();
    const names = subscriptions.map((sub) => sub.name.split("/").pop());
    for (const consumer of system.consumers)
      expect(names).toEqual(
        expect.arrayContaining([consumer.subscription, consumer.parkingSubscription]),
      );
  });
});

// Unary pulls are what runs against the emulator; the stream is what runs against Pub/Sub.
describe.each(["unary", "streaming"] as const)(
  "the pull host (%s pull)",
  { timeout: 60_000 },
  (transport) => {
    beforeAll(async () => {
      const start = (consumer: string): Promise<RunningRuntime> =>
        launchLocalConsumer(emulators, consumer, transport);
      [runtime, ordered] = await Promise.all([start("email-worker"), start("funnel-projector")]);
    }, 60_000);

    afterAll(async () => {
      await Promise.all([runtime?.stop(), ordered?.stop()]);
    }, 30_000);

    it("handles an event, records it once and publishes its derived event with correlation and causation", async () => {
      const message = shareRequested();
      const id = message.attributes["ce-id"]!;
      const tapped = collect(
        emulators.pubsub,
        FUNNEL_TAP,
        1,
        (m) => m.attributes["ce-causationid"] === id,
      );
      await publishRaw(emulators.pubsub, [message]);
      await waitFor(async () => (await appliedCount(id)) === 1, "the event to be applied");
      const [completed] = await tapped;
      const record = (await applied.ref(emulators.firestore, id).get()).data()!;
      expect(completed!.attributes).toMatchObject({
        "ce-type": "com.eventline.share.completed",
        "ce-id": record.completedEventId,
        "ce-correlationid": message.attributes["ce-correlationid"],
        "ce-causationid": id,
        "ce-source": "//eventline/email-worker",
      });
      expect(
        codec.decode({ data: completed!.data, attributes: completed!.attributes }).data,
      ).toMatchObject({ messageId: `smtp-${id}` });
      // Keyed by the event's identity: its source and its id.
      const processed = await emulators.firestore
        .doc(`consumers/email-worker/processed/${eventKey({ source: "//eventline/gateway", id })}`)
        .get();
      expect(processed.data()).toMatchObject({
        consumer: "email-worker",
        eventId: id,
        eventSource: "//eventline/gateway",
        type: "com.eventline.share.requested",
      });
      expect(processed.data()?.["outbox"]).toBeUndefined();
      expect(processed.data()?.["expireAt"].toMillis()).toBeGreaterThan(
        Date.now() + 7 * 86_400_000,
      );
    });

    it("applies a redelivered event once and counts the duplicate", async () => {
      const message = shareRequested();
      const id = message.attributes["ce-id"]!;
      await publishRaw(emulators.pubsub, [message]);
      await waitFor(async () => (await appliedCount(id)) === 1, "the first delivery to be applied");
      const before = await metricValue(runtime.metrics.duplicates, { consumer: "email-worker" });
      await publishRaw(emulators.pubsub, [message, message]);
      await waitFor(
        async () =>
          (await metricValue(runtime.metrics.duplicates, { consumer: "email-worker" })) >=
          before + 2,
        "two duplicates to be skipped",
      );
      expect(await appliedCount(id)).toBe(1);
    });

    it("acks a handler that throws twice and then succeeds, on delivery attempt 3", async () => {
      const message = shareRequested({ behaviour: "fail-before-attempt-3" });
      const id = message.attributes["ce-id"]!;
      await publishRaw(emulators.pubsub, [message]);
      await waitFor(async () => (await appliedCount(id)) === 1, "the third attempt to succeed");
      const record = (await applied.ref(emulators.firestore, id).get()).data()!;
      expect(record.attempt).toBe(3);
      expect(
        await metricValue(runtime.metrics.nacked, { consumer: "email-worker" }),
      ).toBeGreaterThanOrEqual(2);
    });

    it("dead-letters a poison message to the parking subscription with its reason after the maximum attempts", async () => {
      const message = shareRequested({ behaviour: "always-fail" });
      const [messageId] = await publishRaw(emulators.pubsub, [message]);
      const [dead] = await collect(
        emulators.pubsub,
        "email-worker-dlq-parking",
        1,
        isDeadLetterOf(messageId!),
        45_000,
      );
      expect(dead!.attributes).toMatchObject({
        ...message.attributes,
        [DL.reason]: "max-delivery-attempts",
        [DL.attempt]: "5",
        [DL.consumer]: "email-worker",
        [DL.topic]: "viral-shares",
      });
      expect(dead!.attributes[DL.error]).toContain("the provider adapter crashed");
      expect(Buffer.compare(dead!.data, message.data)).toBe(0);
      expect(await appliedCount(message.attributes["ce-id"]!)).toBe(0);
    });

    it("dead-letters a message that does not decode at once, on its first attempt", async () => {
      const garbage = {
        topic: "viral-shares",
        data: Buffer.from("not protobuf"),
        attributes: { "ce-channel": "email", "ce-id": "broken-1" },
      };
      const [messageId] = await publishRaw(emulators.pubsub, [garbage]);
      const [dead] = await collect(
        emulators.pubsub,
        "email-worker-dlq-parking",
        1,
        isDeadLetterOf(messageId!),
      );
      expect(dead!.attributes).toMatchObject({
        ...garbage.attributes,
        [DL.reason]: "missing-attribute",
        [DL.attempt]: "1",
      });
      expect(dead!.data.toString()).toBe("not protobuf");
    });

    it("dead-letters a PermanentError at once with the handler's reason", async () => {
      const message = shareRequested({ behaviour: "permanent" });
      const [messageId] = await publishRaw(emulators.pubsub, [message]);
      const [dead] = await collect(
        emulators.pubsub,
        "email-worker-dlq-parking",
        1,
        isDeadLetterOf(messageId!),
      );
      expect(dead!.attributes).toMatchObject({
        [DL.reason]: "recipient-rejected",
        [DL.attempt]: "1",
      });
    });

    it("acks a message outside the consumer's filter without handling it", async () => {
      const before = await metricValue(runtime.metrics.skipped, {
        consumer: "email-worker",
        reason: "filtered",
      });
      const message = shareRequested({}, { channel: "sms" });
      await publishRaw(emulators.pubsub, [message]);
      await waitFor(
        async () =>
          (await metricValue(runtime.metrics.skipped, {
            consumer: "email-worker",
            reason: "filtered",
          })) ===
          before + 1,
        "the message to be filtered",
      );
      expect(await appliedCount(message.attributes["ce-id"]!)).toBe(0);
    });

    it("keeps no more messages in flight than the consumer's maxMessages", async () => {
      const messages = Array.from({ length: 40 }, () => shareRequested({ delayMs: "100" }));
      await publishRaw(emulators.pubsub, messages);
      await waitFor(async () => {
        const counts = await Promise.all(messages.map((m) => appliedCount(m.attributes["ce-id"]!)));
        return counts.every((count) => count === 1);
      }, "all 40 events to be applied");
      expect(concurrency.max).toBeGreaterThan(0);
      expect(concurrency.max).toBeLessThanOrEqual(10);
    });

    it("applies an ordered consumer's events of one key one at a time, in order", async () => {
      const invitationId = `inv-${Date.now()}`;
      const messages = [300, 200, 100, 0].map((delay) =>
        codec.encode(
          "com.eventline.invitation.opened",
          {
            invitationId,
            cardId: "c",
            senderUserId: "s",
            channel: "email",
            userAgent: `delay:${delay}`,
          },
          { source: "//eventline/gateway" },
        ),
      );
      expect(messages[0]!.orderingKey).toBe(invitationId);
      await publishRaw(emulators.pubsub, messages);
      const sequence = await waitFor(async () => {
        const current = (
          await applicationOrder.ref(emulators.firestore, invitationId).get()
        ).data();
        return current !== undefined && current.eventIds.length === messages.length
          ? current
          : undefined;
      }, "the four events to be applied");
      expect(sequence.eventIds).toEqual(messages.map((m) => m.attributes["ce-id"]));
    });

    it("serves /healthz, /readyz and /metrics", async () => {
      const base = `http://127.0.0.1:${runtime.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain(
        'eventline_messages_received_total{consumer="email-worker",type="com.eventline.share.requested"}',
      );
      expect(metrics).toContain("events_published_total");
      expect(metrics).toContain("eventline_handler_duration_seconds_bucket");
    });
  },
);

describe("the pulls the host keeps waiting on an idle subscription (unary pull)", () => {
  /**
   * A host on consumer `name`'s subscription, with nothing to deliver: the processor is never
   * called, so only its consumer is given.
   */
  async function mostPullsAtOnce(name: string, draining: boolean): Promise<number> {
    const consumer = system.consumers.find((c) => c.name === name)!;
    const pulls = countingPulls(emulators.pubsub);
    const host = new PullHost({
      processor: { consumer } as DeliveryProcessor,
      pubsub: pulls.pubsub,
      logger: createLogger({ level: "silent" }),
      transport: "unary",
      draining,
    });
    host.start();
    try {
      await new Promise((done) => setTimeout(done, 300));
      return pulls.most();
    } finally {
      await host.stop();
    }
  }

  it("keeps two where order does not matter", async () => {
    expect(system.consumers.find((c) => c.name === "email-worker")!.ordering).toBe(false);
    expect(await mostPullsAtOnce("email-worker", false)).toBe(2);
  });

  it("keeps one on an ordered subscription, so a key's messages come in one answer after another", async () => {
    expect(system.consumers.find((c) => c.name === "funnel-projector")!.ordering).toBe(true);
    expect(await mostPullsAtOnce("funnel-projector", false)).toBe(1);
  });

  it("keeps one on a subscription being drained, which may be the ordered one a consumer leaves", async () => {
    expect(await mostPullsAtOnce("email-worker", true)).toBe(1);
  });
});
