/**
 * A compatible schema change under a live backlog, on the emulators, through the real pull host:
 * the documents topic (JSON bodies) holds messages from producers on the deployed definition and
 * from producers already on a newer one, which adds fields this code does not know, while more
 * arrive. The consumer not yet updated skips the fields it does not know (as protobuf binary
 * does), so nothing is dead-lettered and every event is stored once. An event type the
 * consumer's code does not declare yet is given back until the subscription's last attempt, in
 * case its update declares it, and only then dead-lettered with its reason.
 */
import { v1 } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import type { OutgoingMessage } from "../../handlers/runtime/codec";
import { EVENTS_COLLECTION } from "../../handlers/runtime/event-store";
import { eventKey } from "../../handlers/runtime/idempotency";
import type { RunningRuntime } from "../../handlers/runtime/launcher";
import { provision } from "../../tools/local/provision";
import { useEmulators } from "../support/emulators";
import { launchLocalConsumer } from "../support/runtime";
import { codec, collect, publishRaw, waitFor } from "../support/pubsub";
import { DEAD_LETTER_ATTRIBUTES as DL } from "../../handlers/runtime/dead-letter";

const emulators = useEmulators();
const CONSUMER = "documents-archiver";
const SOURCE = "/services/ingestion";
let archiver: RunningRuntime;

/** A document.ingested as a producer on the deployed definition sends it. */
function deployedFormat(i: number): OutgoingMessage {
  return codec.encode(
    "com.dip.document.ingested",
    { documentId: `doc-${i}`, text: `text ${i}` },
    { source: SOURCE, id: `evolution-${i}` },
  );
}

/** The same event from a producer on a newer compatible definition: fields added to the event and the wrapper. */
function newerFormat(i: number): OutgoingMessage {
  const message = deployedFormat(i);
  const body = JSON.parse(message.data.toString()) as {
    documentIngested: Record<string, unknown>;
  };
  body.documentIngested["pageCount"] = i;
  body.documentIngested["language"] = { code: "en", confidence: 0.9 };
  return { ...message, data: Buffer.from(JSON.stringify({ ...body, revision: 2 })) };
}

beforeAll(async () => {
  await provision(emulators.pubsub, eventTypesFor("local").system, {
    consumers: [CONSUMER],
    retry: { minBackoffSeconds: 0.1, maxBackoffSeconds: 0.5 },
  });
  archiver = await launchLocalConsumer(emulators, CONSUMER);
}, 60_000);

afterAll(async () => {
  await archiver?.stop();
}, 30_000);

describe("a compatible schema change under a live backlog", { timeout: 90_000 }, () => {
  it("dead-letters nothing and stores every event once, in either format", async () => {
    const { pubsub, firestore } = emulators;
    // A backlog in both formats, then more arriving while it is worked off.
    const backlog = Array.from({ length: 40 }, (_, i) =>
      (i % 2 === 0 ? deployedFormat : newerFormat)(i),
    );
    await publishRaw(pubsub, backlog);
    const arriving: OutgoingMessage[] = [];
    for (let i = 40; i < 80; i++) {
      const message = (i % 3 === 0 ? deployedFormat : newerFormat)(i);
      arriving.push(message);
      await publishRaw(pubsub, [message]);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const all = [...backlog, ...arriving];
    const refs = all.map((m) =>
      firestore
        .collection(EVENTS_COLLECTION)
        .doc(eventKey({ source: SOURCE, id: m.attributes["ce-id"]! })),
    );
    await waitFor(
      async () => (await firestore.getAll(...refs)).every((snapshot) => snapshot.exists),
      `all ${all.length} events stored`,
      60_000,
    );

    const stored = await firestore.getAll(...refs);
    expect(stored.filter((snapshot) => snapshot.exists)).toHaveLength(all.length);
    // Nothing was parked: a pull of the dead-letter parking subscription finds nothing.
    const subscriber = new v1.SubscriberClient(
      (pubsub as unknown as { options: ConstructorParameters<typeof v1.SubscriberClient>[0] })
        .options,
    );
    try {
      const [parked] = await subscriber.pull({
        subscription: pubsub.subscription(`${CONSUMER}-dlq-parking`).name,
        maxMessages: 10,
        returnImmediately: true,
      });
      expect(parked.receivedMessages ?? []).toEqual([]);
    } finally {
      await subscriber.close();
    }
  });

  it("gives back an event type it does not declare yet, and dead-letters it on the last attempt", async () => {
    const { pubsub } = emulators;
    const newer = deployedFormat(1000);
    const message: OutgoingMessage = {
      ...newer,
      attributes: {
        ...newer.attributes,
        "ce-type": "com.dip.document.summarized",
        "ce-id": "summarized-1",
      },
    };
    const [messageId] = await publishRaw(pubsub, [message]);
    const [dead] = await collect(
      pubsub,
      `${CONSUMER}-dlq-parking`,
      1,
      (m) => m.attributes[DL.messageId] === messageId,
      60_000,
    );
    const consumer = eventTypesFor("local").system.consumers.find((c) => c.name === CONSUMER)!;
    expect(dead!.attributes).toMatchObject({
      [DL.reason]: "unknown-type",
      [DL.attempt]: String(consumer.maxDeliveryAttempts),
    });
  });
});
