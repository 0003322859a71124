import { system } from "../../infra/system";
import { Timestamp } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventline } from "../../proto/gen";
import { eventTypesFor } from "../../handlers/declared";
import { fromEnvelope } from "../../handlers/runtime/envelope";
import { EVENTS_COLLECTION } from "../../handlers/runtime/event-store";
import { eventKey } from "../../handlers/runtime/idempotency";
import { launch, type RunningRuntime } from "../../handlers/runtime/launcher";
import { createLogger } from "../../handlers/runtime/logger";
import { provision } from "../../tools/local/provision";
import { useEmulators } from "../support/emulators";
import { codec, publishRaw, shareRequested, waitFor } from "../support/pubsub";

const emulators = useEmulators();
const eventTypes = eventTypesFor("local");
let runtime: RunningRuntime;

/** Where the archiver keeps the event `id` of the gateway's source. */
const storedRef = (id: string, source = "//eventline/gateway") =>
  emulators.firestore.collection(EVENTS_COLLECTION).doc(eventKey({ source, id }));

async function storedCount(ids: readonly string[]): Promise<number> {
  const snapshots = await emulators.firestore.getAll(...ids.map((id) => storedRef(id)));
  return snapshots.filter((s) => s.exists).length;
}

async function duplicates(): Promise<number> {
  const { values } = await runtime.metrics.duplicates.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

beforeAll(async () => {
  await provision(emulators.pubsub, eventTypes.system, {
    consumers: ["viral-shares-archiver"],
    retry: { minBackoffSeconds: 0.1, maxBackoffSeconds: 0.5 },
  });
  runtime = await launch({
    system,
    registry: { archiver: { kind: "archiver", name: "archiver" } },
    env: emulators.runtimeEnv({ HANDLER: "viral-shares-archiver", MODE: "local", PORT: "0" }),
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
  });
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
}, 30_000);

describe("the archiver", { timeout: 60_000 }, () => {
  it("appends every event once to events/, whatever the channel, and a redelivery is a no-op", async () => {
    const messages = Array.from({ length: 50 }, (_, i) =>
      shareRequested({}, { channel: ["email", "sms", "whatsapp"][i % 3]! }),
    );
    const ids = messages.map((m) => m.attributes["ce-id"]!);
    await publishRaw(emulators.pubsub, messages);
    await waitFor(
      async () => (await storedCount(ids)) === ids.length,
      "all 50 events to be stored",
    );
    const first = await storedRef(ids[0]!).get();

    await publishRaw(emulators.pubsub, messages.slice(0, 5));
    await waitFor(async () => (await duplicates()) >= 5, "five duplicates to be skipped");
    const again = await storedRef(ids[0]!).get();
    expect(again.updateTime?.isEqual(first.updateTime!)).toBe(true);
    const all = await emulators.firestore
      .collection(EVENTS_COLLECTION)
      .where("topic", "==", "viral-shares")
      .get();
    expect(all.size).toBe(50);
  });

  it("keeps two events with the same id from two sources as two events, and the same source and id twice as one", async () => {
    const id = `shared-${Date.now()}`;
    const payload = {
      invitationId: "inv-same-id",
      senderUserId: "u",
      cardId: "c",
      channel: "email",
      recipient: "a@example.com",
    };
    const fromA = codec.encode("com.eventline.share.requested", payload, {
      source: "//cards-app/a",
      id,
    });
    const fromB = codec.encode("com.eventline.share.requested", payload, {
      source: "//cards-app/b",
      id,
    });
    await publishRaw(emulators.pubsub, [fromA, fromB, fromA]);
    const stored = await waitFor(async () => {
      const [a, b] = await Promise.all([
        storedRef(id, "//cards-app/a").get(),
        storedRef(id, "//cards-app/b").get(),
      ]);
      return a.exists && b.exists ? [a, b] : undefined;
    }, "both events to be stored");
    expect(stored.map((doc) => doc.get("source"))).toEqual(["//cards-app/a", "//cards-app/b"]);
    const byId = await emulators.firestore
      .collection(EVENTS_COLLECTION)
      .where("id", "==", id)
      .get();
    await waitFor(async () => (await duplicates()) >= 6, "the repeat of the first to be skipped");
    expect(byId.size).toBe(2);
  });

  it("stores the event's context, its payload as a map and its envelope bytes, from which replay rebuilds it exactly", async () => {
    const message = codec.encode(
      "com.eventline.share.requested",
      {
        invitationId: "inv-42",
        senderUserId: "user-7",
        cardId: "card-9",
        channel: "email",
        recipient: "a@example.com",
        shareMetadata: { campaign: "spring" },
      },
      {
        source: "//eventline/gateway",
        time: "2026-03-01T12:34:56.789Z",
        correlationId: "flow-1",
        causationId: "cause-1",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      },
    );
    const id = message.attributes["ce-id"]!;
    await publishRaw(emulators.pubsub, [message]);
    const doc = await waitFor(async () => {
      const snapshot = await storedRef(id).get();
      return snapshot.exists ? snapshot : undefined;
    }, "the event to be stored");
    const stored = doc.data()!;
    expect(stored).toMatchObject({
      id,
      type: "com.eventline.share.requested",
      source: "//eventline/gateway",
      subject: "inv-42",
      correlationId: "flow-1",
      causationId: "cause-1",
      topic: "viral-shares",
      payload: {
        invitationId: "inv-42",
        senderUserId: "user-7",
        cardId: "card-9",
        channel: "email",
        recipient: "a@example.com",
        shareMetadata: { campaign: "spring" },
      },
    });
    expect(stored["time"]).toBeInstanceOf(Timestamp);
    expect(
      (stored["time"] as Timestamp).isEqual(
        new Timestamp(Date.parse("2026-03-01T12:34:56Z") / 1000, 789_000_000),
      ),
    ).toBe(true);

    const replayed = fromEnvelope(
      eventline.v1.EventEnvelope.decode(stored["raw"] as Buffer),
      eventTypes,
    );
    const original = codec.decode(message, "viral-shares");
    expect(replayed.meta).toEqual(original.meta);
    expect(replayed.data.toJSON()).toEqual(original.data.toJSON());
  });

  it("dead-letters a message that does not decode instead of storing it", async () => {
    const [messageId] = await publishRaw(emulators.pubsub, [
      { topic: "viral-shares", data: Buffer.from([0xff, 0x01]), attributes: { "ce-id": "junk" } },
    ]);
    await waitFor(async () => {
      const { values } = await runtime.metrics.deadLettered.get();
      return values.some((v) => v.labels["consumer"] === "viral-shares-archiver" && v.value >= 1);
    }, "the junk message to be dead-lettered");
    expect(messageId).toBeDefined();
    expect((await emulators.firestore.collection(EVENTS_COLLECTION).doc("junk").get()).exists).toBe(
      false,
    );
  });
});
