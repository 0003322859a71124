/**
 * A message that can never decode is dead-lettered on its first attempt, with its reason,
 * through the real pull host against the emulator: never nacked, never redelivered in a loop.
 */
import type { Message } from "@google-cloud/pubsub";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec, type OutgoingMessage } from "../../handlers/runtime/codec";
import { DEAD_LETTER_ATTRIBUTES as DL } from "../../handlers/runtime/dead-letter";
import type { RunningRuntime } from "../../handlers/runtime/launcher";
import { provision } from "../../tools/local/provision";
import { useEmulators } from "../support/emulators";
import { launchLocalConsumer } from "../support/runtime";
import { codec, collect, publishRaw, shareRequested } from "../support/pubsub";

const emulators = useEmulators();
const DOCUMENTS_ARCHIVER = "documents-archiver";
let worker: RunningRuntime;
let archiver: RunningRuntime;

function isDeadLetterOf(messageId: string) {
  return (m: Message) => m.attributes[DL.messageId] === messageId;
}

/** A documents event (a JSON topic) whose body is `body`, published past the gateway. */
function documentWithBody(body: string): OutgoingMessage {
  const good = codec.encode(
    "com.dip.document.ingested",
    { documentId: "doc-1", text: "x" },
    { source: "/services/ingestion" },
  );
  return { topic: good.topic, data: Buffer.from(body), attributes: good.attributes };
}

beforeAll(async () => {
  await provision(emulators.pubsub, eventTypesFor("local").system, {
    consumers: ["email-worker", DOCUMENTS_ARCHIVER],
    retry: { minBackoffSeconds: 0.1, maxBackoffSeconds: 0.5 },
  });
  const start = (consumer: string): Promise<RunningRuntime> =>
    launchLocalConsumer(emulators, consumer);
  [worker, archiver] = await Promise.all([start("email-worker"), start(DOCUMENTS_ARCHIVER)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([worker?.stop(), archiver?.stop()]);
}, 30_000);

afterEach(() => vi.restoreAllMocks());

describe("a message that can never decode, through the pull host", { timeout: 60_000 }, () => {
  it.each([
    [
      "a CloudEvents 0.3 ce-schemaurl",
      "email-worker",
      (): OutgoingMessage => {
        const m = shareRequested();
        return {
          ...m,
          attributes: { ...m.attributes, "ce-schemaurl": "https://schemas.example.com/share" },
        };
      },
      "malformed-attribute",
      /ce-schemaurl is a CloudEvents 0\.3 attribute/,
    ],
    [
      "a nested __proto__ key in a JSON body",
      DOCUMENTS_ARCHIVER,
      () => documentWithBody('{"documentIngested":{"documentId":"d","__proto__":{"x":1}}}'),
      "unknown-field",
      /unknown field documentIngested\.__proto__/,
    ],
    [
      "a duplicate key in a JSON body",
      DOCUMENTS_ARCHIVER,
      () => documentWithBody('{"documentIngested":{"documentId":"d","documentId":"e"}}'),
      "duplicate-key",
      /duplicate key at documentIngested\.documentId/,
    ],
    [
      "a ce-time with the offset +25:00",
      "email-worker",
      (): OutgoingMessage => {
        const m = shareRequested();
        return { ...m, attributes: { ...m.attributes, "ce-time": "2026-01-01T00:00:00+25:00" } };
      },
      "malformed-attribute",
      /offset \+25:00/,
    ],
  ])(
    "dead-letters %s at its first attempt with its reason",
    async (_name, consumer, make, reason, error) => {
      const message = make();
      const [messageId] = await publishRaw(emulators.pubsub, [message]);
      const [dead] = await collect(
        emulators.pubsub,
        `${consumer}-dlq-parking`,
        1,
        isDeadLetterOf(messageId!),
      );
      expect(dead!.attributes).toMatchObject({
        [DL.reason]: reason,
        [DL.attempt]: "1",
        [DL.consumer]: consumer,
      });
      expect(dead!.attributes[DL.error]).toMatch(error);
      expect(Buffer.compare(dead!.data, message.data)).toBe(0);
    },
  );

  it("dead-letters a message on which the codec fails unforeseen, at its first attempt", async () => {
    const message = shareRequested({}, { id: "unforeseen-1" });
    const decode = EventCodec.prototype.decode;
    vi.spyOn(EventCodec.prototype, "decode").mockImplementation(function (
      this: EventCodec,
      incoming,
      fromTopic,
    ) {
      if (incoming.attributes["ce-id"] === "unforeseen-1")
        throw new TypeError("cannot set schemaurl on version 1.0 event");
      return decode.call(this, incoming, fromTopic);
    });
    const [messageId] = await publishRaw(emulators.pubsub, [message]);
    const [dead] = await collect(
      emulators.pubsub,
      "email-worker-dlq-parking",
      1,
      isDeadLetterOf(messageId!),
    );
    expect(dead!.attributes).toMatchObject({ [DL.reason]: "decode-failed", [DL.attempt]: "1" });
    expect(dead!.attributes[DL.error]).toMatch(/TypeError: cannot set schemaurl/);
  });
});
