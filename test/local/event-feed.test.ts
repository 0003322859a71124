import { Firestore } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventType } from "../../handlers/runtime/event-types";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec } from "../../handlers/runtime/codec";
import { EventStore } from "../../handlers/runtime/event-store";
import { startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import { queryEvents, watchEvents, type FeedEvent } from "../../tools/local/event-feed";
import { samplePayloads } from "../../tools/samples/events";

const eventTypes = eventTypesFor("local");
const codec = new EventCodec(eventTypes);

let emulator: RunningEmulator;
let firestore: Firestore;
let store: EventStore;

/** Archives an event the way the archiver does. */
async function archive(
  type: EventType,
  id: string,
  time: string,
  correlationId = id,
): Promise<void> {
  const message = codec.encode(type, samplePayloads[type], {
    id,
    time,
    correlationId,
    source: "//test",
  });
  await store.append(codec.decode(message));
}

beforeAll(async () => {
  emulator = await startEmulator("firestore");
  firestore = new Firestore({ projectId: "feed-test", host: emulator.host, ssl: false });
  store = new EventStore(firestore, eventTypes, { throttling: false });
  await archive("com.skillancer.user.created", "e1", "2026-11-23T10:00:00Z", "flow-1");
  await archive("com.skillancer.project.created", "e2", "2026-11-23T11:00:00Z", "flow-1");
  await archive("com.skillancer.user.created", "e3", "2026-11-23T12:00:00Z");
});

afterAll(async () => {
  await store?.close();
  await firestore?.terminate();
  await emulator?.stop();
});

describe("the event store query", () => {
  it.each([
    ["every event, oldest first", {}, ["e1", "e2", "e3"]],
    ["one type", { type: "com.skillancer.user.created" }, ["e1", "e3"]],
    ["one flow", { correlationId: "flow-1" }, ["e1", "e2"]],
    [
      "a time range, from inclusive and to exclusive",
      { from: new Date("2026-11-23T11:00:00Z"), to: new Date("2026-11-23T12:00:00Z") },
      ["e2"],
    ],
  ])("finds %s", async (_case, filter, ids) => {
    expect((await queryEvents(firestore, filter)).map((e) => e.id)).toEqual(ids);
  });

  it("keeps the newest events when more match than the limit", async () => {
    expect((await queryEvents(firestore, {}, 2)).map((e) => e.id)).toEqual(["e2", "e3"]);
  });

  it("returns what people read: the time in RFC 3339 and the payload as proto3 JSON", async () => {
    const [event] = await queryEvents(firestore, {
      correlationId: "flow-1",
      type: "com.skillancer.user.created",
    });
    expect(event).toMatchObject({
      id: "e1",
      time: "2026-11-23T10:00:00.000Z",
      topic: "users",
      subject: "usr_123",
      payload: { userId: "usr_123", role: "USER_ROLE_FREELANCER" },
    });
  });
});

describe("the live feed", () => {
  it("first hands over what is stored, then each matching event as it is stored", async () => {
    const backlog: FeedEvent[][] = [];
    const live: FeedEvent[] = [];
    const stop = watchEvents(
      firestore,
      { type: "com.skillancer.user.created" },
      { onBacklog: (events) => backlog.push(events), onEvent: (event) => live.push(event) },
    );
    try {
      await expect.poll(() => backlog.length).toBe(1);
      expect(backlog[0]!.map((e) => e.id)).toEqual(["e1", "e3"]);
      await archive("com.skillancer.project.created", "e4", "2026-11-23T13:00:00Z");
      await archive("com.skillancer.user.created", "e5", "2026-11-23T13:00:01Z");
      await expect.poll(() => live.map((e) => e.id)).toEqual(["e5"]);
    } finally {
      stop();
    }
  });
});
