import { PubSub, v1 } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec } from "../../handlers/runtime/codec";
import { deadLetterMessage } from "../../handlers/runtime/dead-letter";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { PubSubPublisher, type MessagePublisher } from "../../handlers/runtime/publisher";
import { REDRIVE_FOR_ATTRIBUTE } from "../../handlers/runtime/dead-letter";
import { DeadLetterBox, REDRIVE_COUNT_ATTRIBUTE } from "../../tools/local/dead-letters";
import { startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import { provision } from "../../tools/local/provision";
import { samplePayloads } from "../../tools/samples/events";
import { probeTopics, type Probe } from "./pubsub-probe";

const eventTypes = eventTypesFor("local");
const codec = new EventCodec(eventTypes);
const consumer = eventTypes.system.consumers.find((c) => c.name === "notify-user-created")!;

let emulator: RunningEmulator;
let pubsub: PubSub;
let box: DeadLetterBox;
let publisher: PubSubPublisher;
let probe: Probe;

/** Parks one dead letter the way the runtime does, for the event `id`. */
async function park(id: string, reason: string): Promise<void> {
  const original = codec.encode(
    "com.skillancer.user.created",
    samplePayloads["com.skillancer.user.created"],
    { id, source: "//user-service", correlationId: `corr-${id}` },
  );
  const letter = deadLetterMessage(
    consumer,
    {
      messageId: `m-${id}`,
      data: original.data,
      attributes: original.attributes,
      deliveryAttempt: 1,
    },
    reason,
    `PermanentError: ${reason} happened`,
  );
  await publisher.publish([letter]);
}

beforeAll(async () => {
  emulator = await startEmulator("pubsub");
  pubsub = new PubSub({ projectId: "dlq-test", apiEndpoint: emulator.host, emulatorMode: true });
  await provision(pubsub, eventTypes.system, { consumers: [consumer.name] });
  box = new DeadLetterBox(pubsub);
  publisher = new PubSubPublisher(pubsub, eventTypes, new RuntimeMetrics());
  probe = await probeTopics(pubsub, ["users"]);
  await park("evt-a", "rejected-recipient");
  await park("evt-b", "max-delivery-attempts");
});

afterAll(async () => {
  await probe?.close();
  await box?.close();
  await pubsub?.close();
  await emulator?.stop();
});

describe("a consumer's dead letters", () => {
  it("are listed with their reasons, errors and source topic, and stay parked after listing", async () => {
    const first = await box.list(consumer);
    expect(first.map((l) => [l.eventId, l.reason, l.topic, l.attempt])).toEqual([
      ["evt-a", "rejected-recipient", "users", "1"],
      ["evt-b", "max-delivery-attempts", "users", "1"],
    ]);
    expect(first[0]!.error).toBe("PermanentError: rejected-recipient happened");
    expect((await box.list(consumer)).map((l) => l.eventId)).toEqual(["evt-a", "evt-b"]);
  });

  it("are redriven by id to their source topic with the original attributes, a redrive count and their consumer, and only that one leaves parking", async () => {
    const result = await box.redrive(consumer, publisher, ["evt-a"]);
    expect(result.redriven.map((r) => r.eventId)).toEqual(["evt-a"]);
    const message = await probe.waitFor((m) => m.attributes["ce-id"] === "evt-a");
    expect(message.attributes).toMatchObject({
      "ce-type": "com.skillancer.user.created",
      "ce-correlationid": "corr-evt-a",
      [REDRIVE_COUNT_ATTRIBUTE]: "1",
      [REDRIVE_FOR_ATTRIBUTE]: consumer.name,
    });
    // The dead-letter bookkeeping does not travel back: only the redrive's own two attributes.
    expect(
      Object.keys(message.attributes)
        .filter((key) => key.startsWith("eventline-"))
        .sort(),
    ).toEqual([REDRIVE_COUNT_ATTRIBUTE, REDRIVE_FOR_ATTRIBUTE].sort());
    expect(
      codec.decode({ data: message.data, attributes: message.attributes }, "users").meta.id,
    ).toBe("evt-a");
    expect((await box.list(consumer)).map((l) => l.eventId)).toEqual(["evt-b"]);
  });

  it("stay parked when the republish fails, and the failure is reported", async () => {
    const failing: MessagePublisher = {
      publish: async () => Promise.reject(new Error("topic unavailable")),
      flush: async () => {},
    };
    const result = await box.redrive(consumer, failing, undefined);
    expect(result.failed).toEqual([{ messageId: expect.any(String), error: "topic unavailable" }]);
    expect((await box.list(consumer)).map((l) => l.eventId)).toEqual(["evt-b"]);
  });

  it("are redriven by id while another reader holds them for a moment, as a dashboard refresh does", async () => {
    await park("evt-held", "rejected-recipient");
    // Another reader (another process's box) pulls everything and keeps it leased for a second.
    const other = new v1.SubscriberClient(
      (pubsub as unknown as { options: ConstructorParameters<typeof v1.SubscriberClient>[0] })
        .options,
    );
    const subscription = pubsub.subscription(consumer.parkingSubscription).name;
    try {
      const held: string[] = [];
      for (let tries = 0; tries < 20 && held.length < 2; tries++) {
        const [response] = await other.pull({
          subscription,
          maxMessages: 10,
          returnImmediately: true,
        });
        held.push(...(response.receivedMessages ?? []).map((r) => r.ackId!));
      }
      expect(held).toHaveLength(2);
      await other.modifyAckDeadline({ subscription, ackIds: held, ackDeadlineSeconds: 60 });
      const release = setTimeout(
        () => void other.modifyAckDeadline({ subscription, ackIds: held, ackDeadlineSeconds: 0 }),
        1_000,
      );
      const result = await box.redrive(consumer, publisher, ["evt-held"]);
      clearTimeout(release);
      expect(result.redriven.map((r) => r.eventId)).toEqual(["evt-held"]);
      expect((await box.list(consumer)).map((l) => l.eventId)).toEqual(["evt-b"]);
    } finally {
      await other.close();
    }
  });

  it("take turns within one box: a list running beside a redrive does not hide the letter from it", async () => {
    await park("evt-turns", "rejected-recipient");
    const [listed, result] = await Promise.all([
      box.list(consumer),
      box.redrive(consumer, publisher, ["evt-turns"]),
    ]);
    expect(listed.map((l) => l.eventId)).toEqual(["evt-b", "evt-turns"]);
    expect(result.redriven.map((r) => r.eventId)).toEqual(["evt-turns"]);
  });

  it("report ids that no dead letter has, after looking again for a while", async () => {
    const result = await box.redrive(consumer, publisher, ["evt-zzz"]);
    expect(result).toEqual({ redriven: [], failed: [], notFound: ["evt-zzz"] });
    expect(await box.list(consumer)).toHaveLength(1);
  });
  it("are dropped only once confirmed, after being recorded whole, and the others stay", async () => {
    await park("evt-drop-1", "recipient-rejected");
    await park("evt-drop-2", "recipient-rejected");
    const declined = await box.drop(
      consumer,
      ["evt-drop-1"],
      async () => false,
      () => expect.unreachable("nothing is recorded when the drop is declined"),
    );
    expect(declined).toEqual({ dropped: [], notFound: [], confirmed: false });
    expect((await box.list(consumer)).map((l) => l.eventId)).toContain("evt-drop-1");

    const shown: string[] = [];
    const recorded: string[] = [];
    const result = await box.drop(
      consumer,
      ["evt-drop-1", "evt-none"],
      async (letters) => {
        shown.push(...letters.map((l) => l.eventId!));
        return true;
      },
      (letters) => recorded.push(...letters.map((l) => `${l.eventId}:${l.data.length > 0}`)),
    );
    expect(shown).toEqual(["evt-drop-1"]);
    expect(recorded).toEqual(["evt-drop-1:true"]);
    expect(result.dropped.map((l) => l.eventId)).toEqual(["evt-drop-1"]);
    expect(result.notFound).toEqual(["evt-none"]);
    const left = (await box.list(consumer)).map((l) => l.eventId);
    expect(left).not.toContain("evt-drop-1");
    expect(left).toContain("evt-drop-2");
  });
});
