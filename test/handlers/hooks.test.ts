/**
 * A hook is a consumer like any other: the declared optimization agents' hook, run by the
 * runtime's DeliveryProcessor against the Firestore emulator, POSTs to a local receiver that
 * checks each delivery's Standard Webhooks signature with the `standardwebhooks` package. It
 * covers a reply event published as the hook's own, retries on a 503 and a dead hook, dead
 * letters for a refusal and for a bad reply, the same webhook-id on every redelivery, and a
 * redelivered event applied once.
 */
import { randomUUID } from "node:crypto";
import pino from "pino";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Firestore } from "@google-cloud/firestore";
import { recordOnlyAdapters } from "../../handlers/adapters/environment";
import { hookHandler, signedDelivery } from "../../handlers/adapters/hook";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec } from "../../handlers/runtime/codec";
import { DeliveryProcessor } from "../../handlers/runtime/delivery";
import type { EventType } from "../../handlers/runtime/event-types";
import { eventKey } from "../../handlers/runtime/idempotency";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { MAX_ATTEMPTS_REASON } from "../../handlers/runtime/outcome";
import { OutsideCalls } from "../../handlers/runtime/resilience";
import { CapturingPublisher } from "../../handlers/testing/run-handler";
import { startHookReceiver, type HookReceiver } from "../../tools/hooks/receiver";
import { useEmulators } from "../support/emulators";

const emulators = useEmulators({ pubsub: false });
const eventTypes = eventTypesFor("local");
const codec = new EventCodec(eventTypes);
const consumer = eventTypes.system.consumers.find((c) => c.name === "optimization-agents")!;
const logger = pino({ level: "silent" });
const SECRET = `whsec_${Buffer.from("a-test-secret-of-thirty-two-byte").toString("base64")}`;
const REQUIRED = "com.eventline.campaign.optimization_required";
const OPTIMIZED = "com.eventline.campaign.optimized";

let receiver: HookReceiver;
let url = "";
beforeAll(async () => {
  receiver = await startHookReceiver({ secret: SECRET });
  url = `${receiver.url}/optimization-agents`;
});
afterAll(async () => receiver.close());

function processor(publisher: CapturingPublisher, target = () => url) {
  return new DeliveryProcessor({
    consumer,
    handler: hookHandler(consumer.name, consumer.contract.accepts as [EventType], {
      eventTypes,
      url: target,
      secret: () => SECRET,
      timeoutMs: 2_000,
    }),
    eventTypes,
    firestore: emulators.firestore,
    publisher,
    metrics: new RuntimeMetrics(),
    logger,
    outsideCalls: new OutsideCalls(logger),
    groupCommitsAfter: false,
  });
}

function optimizationRequired(id: string = randomUUID(), deliveryAttempt = 1) {
  const message = codec.encode(
    REQUIRED,
    { campaignId: "c-7", reason: "CPA above target" },
    { source: "//eventline/campaign-processor", id },
  );
  return {
    id,
    delivery: {
      messageId: randomUUID(),
      data: message.data,
      attributes: message.attributes,
      deliveryAttempt,
    },
  };
}

/** What the agent received of the event `id` from the campaign-processor: webhook-id is its source and id. */
const webhookIdOf = (id: string) => eventKey({ source: "//eventline/campaign-processor", id });
const deliveriesOf = (id: string) =>
  receiver.deliveries.filter((d) => d.webhookId === webhookIdOf(id));

describe("a hook", () => {
  it("POSTs a binary-mode CloudEvent signed per Standard Webhooks, and publishes its reply event as its own", async () => {
    const { id, delivery } = optimizationRequired();
    receiver.reply = () => ({
      status: 200,
      headers: {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "agent-decision-1",
        "ce-source": "//agents/optimizer",
        "ce-type": OPTIMIZED,
      },
      body: JSON.stringify({ campaignId: "c-7", reasoning: "bid lower", agentId: "optimizer-1" }),
    });
    const publisher = new CapturingPublisher();
    expect(await processor(publisher).process(delivery)).toEqual({
      action: "ack",
      result: "handled",
    });

    const [sent] = deliveriesOf(id);
    expect(sent?.verdict).toEqual({ accepted: true });
    expect(sent?.attributes).toMatchObject({
      id,
      type: REQUIRED,
      source: "//eventline/campaign-processor",
      specversion: "1.0",
    });
    expect(JSON.parse(sent!.body)).toMatchObject({ campaignId: "c-7", reason: "CPA above target" });
    // The library verifies what the receiver verified, and refuses it with another secret.
    const other = new Webhook(
      `whsec_${Buffer.from("another-secret-of-32-bytes-long!").toString("base64")}`,
    );
    const signed = fetchSigned(id);
    expect(() => new Webhook(SECRET).verify(signed.body, signed.headers)).not.toThrow();
    expect(() => other.verify(signed.body, signed.headers)).toThrow(/signature/i);

    const reply = publisher.messages.filter((m) => m.attributes["ce-type"] === OPTIMIZED);
    expect(reply).toHaveLength(1);
    expect(reply[0]!.topic).toBe("campaigns");
    expect(reply[0]!.attributes).toMatchObject({
      "ce-source": "//eventline/optimization-agents",
      "ce-causationid": id,
      "ce-hookeventid": "agent-decision-1",
    });
    const decoded = codec.decode(
      { data: reply[0]!.data, attributes: reply[0]!.attributes },
      "campaigns",
    );
    expect(decoded.data).toMatchObject({ campaignId: "c-7", agentId: "optimizer-1" });

    // Redelivered: the processed record answers, the agent is not called again.
    expect(
      await processor(new CapturingPublisher()).process({ ...delivery, deliveryAttempt: 2 }),
    ).toEqual({
      action: "ack",
      result: "duplicate",
    });
    expect(deliveriesOf(id)).toHaveLength(1);
  });

  it("is retried with the same webhook-id while the agent answers 503, and delivered when it recovers", async () => {
    const { id, delivery } = optimizationRequired();
    let calls = 0;
    receiver.reply = () => (++calls < 3 ? { status: 503 } : { status: 204 });
    const hook = processor(new CapturingPublisher());
    expect((await hook.process({ ...delivery, deliveryAttempt: 1 })).action).toBe("nack");
    expect((await hook.process({ ...delivery, deliveryAttempt: 2 })).action).toBe("nack");
    expect(await hook.process({ ...delivery, deliveryAttempt: 3 })).toEqual({
      action: "ack",
      result: "handled",
    });
    expect(deliveriesOf(id).map((d) => d.webhookId)).toEqual([
      webhookIdOf(id),
      webhookIdOf(id),
      webhookIdOf(id),
    ]);
    expect(webhookIdOf(id)).toBe(`%2F%2Feventline%2Fcampaign-processor:${id}`);
  });

  it("dead-letters what the agent refuses, and a reply that is not a declared event, with the reason", async () => {
    const refused = optimizationRequired();
    receiver.reply = () => ({ status: 422, body: "no" });
    const publisher = new CapturingPublisher();
    expect(await processor(publisher).process(refused.delivery)).toMatchObject({
      action: "ack",
      result: "dead-lettered",
      reason: "hook-refused",
    });
    const dead = publisher.messages.find((m) => m.topic === consumer.deadLetterTopic);
    expect(dead?.attributes["eventline-reason"]).toBe("hook-refused");

    // A reply of a type the hook does not declare it emits.
    const wrongType = optimizationRequired();
    receiver.reply = () => ({
      status: 200,
      headers: {
        "ce-specversion": "1.0",
        "ce-id": "x",
        "ce-source": "//agents",
        "ce-type": "com.eventline.campaign.created",
        "content-type": "application/json",
      },
      body: JSON.stringify({ campaignId: "c-7" }),
    });
    expect(await processor(new CapturingPublisher()).process(wrongType.delivery)).toMatchObject({
      result: "dead-lettered",
      reason: "undeclared-emit",
    });

    // A reply whose data has a field the message does not.
    const badData = optimizationRequired();
    receiver.reply = () => ({
      status: 200,
      headers: {
        "ce-specversion": "1.0",
        "ce-id": "y",
        "ce-source": "//agents",
        "ce-type": OPTIMIZED,
        "content-type": "application/json",
      },
      body: JSON.stringify({ campaignId: "c-7", bogus: 1 }),
    });
    expect(await processor(new CapturingPublisher()).process(badData.delivery)).toMatchObject({
      result: "dead-lettered",
      reason: "hook-reply-invalid",
    });
  });

  it("is retried while nothing answers, and dead-lettered on the last attempt", async () => {
    const { delivery } = optimizationRequired();
    // A port nothing listens on: the receiver's, once closed.
    const gone = await startHookReceiver({ secret: SECRET });
    const deadUrl = `${gone.url}/optimization-agents`;
    await gone.close();
    const hook = processor(new CapturingPublisher(), () => deadUrl);
    for (let attempt = 1; attempt < consumer.maxDeliveryAttempts; attempt++)
      expect((await hook.process({ ...delivery, deliveryAttempt: attempt })).action).toBe("nack");
    const publisher = new CapturingPublisher();
    const last = processor(publisher, () => deadUrl);
    expect(
      await last.process({ ...delivery, deliveryAttempt: consumer.maxDeliveryAttempts }),
    ).toMatchObject({
      action: "ack",
      result: "dead-lettered",
      reason: MAX_ATTEMPTS_REASON,
    });
    expect(publisher.messages.some((m) => m.topic === consumer.deadLetterTopic)).toBe(true);
  });
});

describe("a hook under replay", () => {
  it("is not called where outside calls are recorded only, as replay runs handlers", async () => {
    const { id, delivery } = optimizationRequired();
    const isolated = new Firestore({
      projectId: emulators.projectId,
      host: emulators.firestoreHost,
      ssl: false,
      databaseId: `replay-${randomUUID().slice(0, 8)}`,
    });
    recordOnlyAdapters(isolated);
    const hook = new DeliveryProcessor({
      consumer,
      handler: hookHandler(consumer.name, consumer.contract.accepts as [EventType], {
        eventTypes,
        url: () => url,
        secret: () => SECRET,
      }),
      eventTypes,
      firestore: isolated,
      publisher: new CapturingPublisher(),
      metrics: new RuntimeMetrics(),
      logger,
      outsideCalls: new OutsideCalls(logger),
      groupCommitsAfter: false,
    });
    expect(await hook.process(delivery)).toEqual({ action: "ack", result: "handled" });
    expect(deliveriesOf(id)).toHaveLength(0);
    await isolated.terminate();
  });
});

describe("a hook's circuit breaker", () => {
  it("opens after five failures in a row: the next event is retried later without calling the agent", async () => {
    receiver.reply = () => ({ status: 503 });
    const hook = processor(new CapturingPublisher());
    const events = Array.from({ length: 6 }, () => optimizationRequired());
    for (const { delivery } of events.slice(0, 5))
      expect((await hook.process(delivery)).action).toBe("nack");
    expect(events.slice(0, 5).every(({ id }) => deliveriesOf(id).length === 1)).toBe(true);
    expect((await hook.process(events[5]!.delivery)).action).toBe("nack");
    expect(deliveriesOf(events[5]!.id)).toHaveLength(0);
  });
});

/** Signs a delivery as the hook does and returns it, to check with the library directly. */
function fetchSigned(id: string): { body: string; headers: Record<string, string> } {
  const decoded = codec.decode(optimizationRequired(id).delivery, "campaigns");
  const { headers, body } = signedDelivery(decoded as never, eventTypes, new Webhook(SECRET));
  return { body, headers };
}
