/**
 * The in-process replay's streaming path against the emulator: events of many flows run
 * concurrently in commit groups once the handlers show they read nothing, each flow's events
 * in the store's order across page boundaries, chained or not; and a replay stopped part way
 * resumes from its checkpoint without applying anything twice.
 */
import { spawn } from "node:child_process";
import { FieldValue, type Firestore } from "@google-cloud/firestore";
import { beforeAll, describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec } from "../../handlers/runtime/codec";
import { archiver, EventStore } from "../../handlers/runtime/event-store";
import { defineHandler, registryOf } from "../../handlers/runtime/handler";
import {
  CHECKPOINT_DOCUMENT,
  readCheckpoint,
  replayInProcess,
  ReplayError,
} from "../../tools/replay";
import { BIN, runCli } from "../cli/run-cli";
import { useDatabases } from "../support/databases";
import { useEmulators } from "../support/emulators";

const env = useEmulators({ pubsub: false });
const eventTypes = eventTypesFor("local");
const codec = new EventCodec(eventTypes);

const EVENTS = 300;
const FLOWS = 5;
const APPLIED = "replay-applied";
const ORDER = "replay-order";

/** Handler runs in flight at once, the most seen: above 1 shows the events ran concurrently. */
const inFlight = { now: 0, max: 0 };

/**
 * Read-free test implementations of the email-worker and the funnel-projector: each counts
 * every event it applies in `replay-applied/{event id}` and appends its id to its flow's order
 * (`replay-order/{correlation id}`), blind writes that go to commit groups.
 */
const emailSender = defineHandler({
  name: "email-sender",
  accepts: ["com.eventline.share.requested"],
  async handle(event, ctx) {
    inFlight.max = Math.max(inFlight.max, ++inFlight.now);
    try {
      // Every other event of a flow is slow: run side by side, the next would overtake it.
      const delayMs = Number(event.data.shareMetadata?.["delayMs"] ?? 0);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const docs = ctx.firestore;
      ctx.transaction.set(
        docs.collection(APPLIED).doc(event.meta.id),
        { count: FieldValue.increment(1) },
        { merge: true },
      );
      ctx.transaction.set(
        docs.collection(ORDER).doc(event.meta.correlationId),
        { requested: FieldValue.arrayUnion(event.meta.id) },
        { merge: true },
      );
      ctx.publish("com.eventline.share.completed", {
        invitationId: event.data.invitationId,
        messageId: `m-${event.meta.id}`,
        channel: event.data.channel,
        cardId: event.data.cardId,
        senderUserId: event.data.senderUserId,
      });
    } finally {
      inFlight.now--;
    }
  },
});

const funnelProjector = defineHandler({
  name: "funnel-projector",
  accepts: ["com.eventline.share.completed"],
  handle(event, ctx) {
    ctx.transaction.set(
      ctx.firestore.collection(APPLIED).doc(event.meta.id),
      { count: FieldValue.increment(1) },
      { merge: true },
    );
    ctx.transaction.set(
      ctx.firestore.collection(ORDER).doc(event.meta.correlationId),
      { completed: FieldValue.arrayUnion(event.data.invitationId) },
      { merge: true },
    );
  },
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const registry = registryOf(emailSender, funnelProjector, archiver);

/** The stored events' ids by flow, in the store's order (the order they were appended in, by time). */
const flows = new Map<string, string[]>();

const database = useDatabases(env);

beforeAll(async () => {
  const store = new EventStore(env.firestore, eventTypes, { throttling: false });
  const start = Date.parse("2026-12-01T00:00:00Z");
  await Promise.all(
    Array.from({ length: EVENTS }, (_, i) => {
      const id = `share-${String(i).padStart(4, "0")}`;
      // Each flow's events are spread over the whole store, so every page holds parts of many flows.
      const correlationId = `flow-${i % FLOWS}`;
      flows.set(correlationId, [...(flows.get(correlationId) ?? []), id]);
      const message = codec.encode(
        "com.eventline.share.requested",
        {
          invitationId: id,
          senderUserId: "u-1",
          cardId: "card-1",
          channel: "email",
          recipient: `r${i}@example.com`,
          // A flow's events are 5 apart, so every other one in each flow is slow.
          shareMetadata: { delayMs: i % 2 === 0 ? "30" : "0" },
        },
        {
          id,
          source: "//eventline/gateway",
          time: new Date(start + i * 1000).toISOString(),
          correlationId,
        },
      );
      return store.append(codec.decode(message));
    }),
  );
  await store.close();
}, 60_000);

async function appliedCounts(target: Firestore): Promise<number[]> {
  const docs = await target.collection(APPLIED).get();
  return docs.docs.map((doc) => doc.get("count") as number);
}

async function orders(target: Firestore, field: "requested" | "completed") {
  const docs = await target.collection(ORDER).get();
  return new Map(docs.docs.map((doc) => [doc.id, doc.get(field) as string[]]));
}

describe("the in-process replay", () => {
  it("runs a chained replay's flows concurrently, each flow's events and their consequences in the store's order across page boundaries", async () => {
    inFlight.max = 0;
    const target = database("replay-chained");
    const result = await replayInProcess({
      source: env.firestore,
      target,
      handlers: ["email-worker"],
      registry,
      chain: true,
      // 7 events a page: every flow's 60 events span many pages.
      pageSize: 7,
    });
    expect(result).toMatchObject({
      read: EVENTS,
      replayed: EVENTS,
      interrupted: false,
      outcomes: { handled: 2 * EVENTS },
      publishedByType: { "com.eventline.share.completed": EVENTS },
      failures: [],
    });
    expect(inFlight.max).toBeGreaterThan(1);
    const counts = await appliedCounts(target);
    expect(counts).toHaveLength(2 * EVENTS);
    expect(counts.every((count) => count === 1)).toBe(true);
    expect(await orders(target, "requested")).toEqual(flows);
    expect(await orders(target, "completed")).toEqual(flows);
    expect(await readCheckpoint(target)).toMatchObject({ complete: true });
  });

  it("stopped part way, leaves a checkpoint, and resumed from it applies every event exactly once", async () => {
    const target = database("replay-resumed");
    const stop = new AbortController();
    const options = {
      source: env.firestore,
      target,
      handlers: ["email-worker"],
      registry,
      pageSize: 50,
    };
    const first = await replayInProcess({
      ...options,
      // A small window, so the replay has not read the whole store by the time it is stopped.
      eventsInFlight: 20,
      signal: stop.signal,
      onProgress: (read) => {
        if (read >= 120) stop.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    expect(first.replayed).toBeGreaterThanOrEqual(120);
    expect(first.replayed).toBeLessThan(EVENTS);
    const checkpoint = await readCheckpoint(target);
    expect(checkpoint).toMatchObject({ complete: false, position: first.last });
    expect(checkpoint!.tally.replayed).toBe(first.replayed);

    await expect(
      replayInProcess({ ...options, handlers: ["email-worker", "sms-worker"], resume: true }),
    ).rejects.toThrow(ReplayError);

    const resumed = await replayInProcess({ ...options, resume: true });
    expect(resumed).toMatchObject({
      read: EVENTS,
      replayed: EVENTS,
      interrupted: false,
      resumedFrom: { after: first.last, read: first.read },
    });
    // Events applied past the checkpoint before the stop come back as duplicates, not applied again.
    expect((resumed.outcomes["handled"] ?? 0) + (resumed.outcomes["duplicate"] ?? 0)).toBe(EVENTS);
    const counts = await appliedCounts(target);
    expect(counts).toHaveLength(EVENTS);
    expect(counts.every((count) => count === 1)).toBe(true);
    expect(await orders(target, "requested")).toEqual(flows);
    expect((await target.doc(CHECKPOINT_DOCUMENT).get()).get("complete")).toBe(true);
  });

  it("from the CLI, stops on Ctrl-C with the checkpoint written and says how to go on; --resume finishes, each event applied once", async () => {
    // The live funnel-projector, which reads (a transaction per event, one at a time): slow
    // enough that the replay is still running when its first checkpoint (300 events) appears.
    const completed = 1_500;
    const store = new EventStore(env.firestore, eventTypes, { throttling: false });
    await Promise.all(
      Array.from({ length: completed }, (_, i) =>
        store.append(
          codec.decode(
            codec.encode(
              "com.eventline.share.completed",
              {
                invitationId: `inv-${i}`,
                messageId: `m-${i}`,
                channel: "email",
                cardId: "card-cli",
                senderUserId: "u-cli",
              },
              {
                id: `sent-${String(i).padStart(4, "0")}`,
                source: "//eventline/email-worker",
                time: new Date(Date.parse("2026-12-02T00:00:00Z") + i).toISOString(),
                correlationId: `cli-flow-${i % 50}`,
              },
            ),
          ),
        ),
      ),
    );
    await store.close();
    const target = database("replay-cli-stopped");
    const args = ["replay", "--handler", "funnel-projector", "--database", target.databaseId];
    const cliEnv = {
      FIRESTORE_EMULATOR_HOST: env.firestoreHost,
      GOOGLE_CLOUD_PROJECT: env.projectId,
    };
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, METADATA_SERVER_DETECTION: "none", ...cliEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      // Interrupted once the first page's worth is applied (and checkpointed).
      while ((await readCheckpoint(target)) === undefined) await pause(50);
      child.kill("SIGINT");
      expect(await exited).toBe(130);
    } finally {
      child.kill("SIGKILL");
    }
    expect(stderr).toMatch(
      /^eventline: interrupted; finishing the events in flight and writing the checkpoint \(Ctrl-C again to quit at once\)\neventline: replay interrupted after \d+ stored events \(\d+ replayed\); the checkpoint in database replay-cli-stopped is after \S+; run the same command with --resume to continue\n$/,
    );
    const stopped = await readCheckpoint(target);
    expect(stopped?.complete).toBe(false);
    expect(stopped!.tally.replayed).toBeLessThan(completed);

    const resumed = await runCli([...args, "--resume"], { env: cliEnv, timeoutMs: 120_000 });
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`resumed from the checkpoint after stored event`);
    expect(resumed.stdout).toContain(`replayed ${completed} of ${completed} stored events`);
    // The card's count is incremented blind: it says how many times events were applied.
    const card = await target.doc("projections/funnel-cards/items/card-cli").get();
    expect(card.get("sent")).toBe(completed);
    expect(await readCheckpoint(target)).toMatchObject({ complete: true });
  }, 240_000);

  it("says, from the CLI, that there is nothing to resume where no replay left a checkpoint", async () => {
    const result = await runCli(
      ["replay", "--handler", "email-worker", "--database", "replay-cli-never-run", "--resume"],
      {
        env: {
          FIRESTORE_EMULATOR_HOST: env.firestoreHost,
          GOOGLE_CLOUD_PROJECT: env.projectId,
        },
        timeoutMs: 60_000,
      },
    );
    expect(result.stderr).toBe(
      "eventline: database replay-cli-never-run holds no replay checkpoint to resume from; run the replay without resuming to start one\n",
    );
    expect(result.code).toBe(1);
  });

  it("refuses to resume where no replay left a checkpoint", async () => {
    await expect(
      replayInProcess({
        source: env.firestore,
        target: database("replay-never-run"),
        handlers: ["email-worker"],
        registry,
        resume: true,
      }),
    ).rejects.toThrow(/holds no replay checkpoint to resume from/);
  });
});
