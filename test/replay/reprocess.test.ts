/**
 * `eventline seek --reprocess`: after a seek, what a consumer had handled is handled again,
 * once, in the consumer's next processing epoch; a seek without it is a no-op, as before.
 * A real consumer (the test email-sender, pulled) on both emulators; the seek through the CLI.
 */
import { system as declaration } from "../../infra/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capabilityChecks } from "../../handlers/adapters/environment";
import { eventTypesFor } from "../../handlers/declared";
import { PROCESSED_COLLECTION_GROUP } from "../../handlers/runtime/idempotency";
import { launch, type RunningRuntime } from "../../handlers/runtime/launcher";
import { createLogger } from "../../handlers/runtime/logger";
import { Timestamp } from "@google-cloud/firestore";
import { beginEpoch, consumerDocument, recordHolds } from "../../handlers/runtime/processing-epoch";
import { provision } from "../../tools/local/provision";
import { createSnapshot, declaredConsumer } from "../../tools/replay";
import { runCli } from "../cli/run-cli";
import { useEmulators } from "../support/emulators";
import { publishRaw, shareRequested, waitFor } from "../support/pubsub";
import { applied, testRegistry } from "../support/test-handlers";

const emulators = useEmulators();
const system = eventTypesFor("local").system;
const consumer = declaredConsumer("email-worker");
/** More than the runs a consumer takes in transactions before it commits in groups: both paths replace records. */
const EVENTS = 30;
const ids: string[] = [];
let runtime: RunningRuntime | undefined;

function start(): Promise<RunningRuntime> {
  return launch({
    system: declaration,
    capabilityChecks,
    registry: testRegistry,
    env: emulators.runtimeEnv({ HANDLER: consumer.name, MODE: "local", STACK: "local", PORT: "0" }),
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
  });
}

async function counts(): Promise<number[]> {
  return Promise.all(
    ids.map(async (id) => (await applied.ref(emulators.firestore, id).get()).data()?.count ?? 0),
  );
}

async function duplicatesSkipped(running: RunningRuntime): Promise<number> {
  const { values } = await running.metrics.duplicates.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

function seek(...args: string[]) {
  return runCli(["seek", consumer.name, ...args], {
    env: emulators.runtimeEnv(),
    timeoutMs: 60_000,
  });
}

beforeAll(async () => {
  await provision(emulators.pubsub, system, {
    consumers: [consumer.name],
    retry: { minBackoffSeconds: 0.1, maxBackoffSeconds: 0.5 },
  });
  await createSnapshot(emulators.pubsub, consumer, "before-the-shares");
  runtime = await start();
  const messages = Array.from({ length: EVENTS }, () => shareRequested());
  ids.push(...messages.map((m) => m.attributes["ce-id"]!));
  await publishRaw(emulators.pubsub, messages);
  await waitFor(async () => (await counts()).every((n) => n === 1), "every share to be applied");
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
}, 30_000);

describe("seek --reprocess", () => {
  it("refuses --reprocess without --to, saying what to add", async () => {
    const result = await seek("--reprocess");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "--reprocess re-runs what a seek delivers again: say where to seek with --to <time | snapshot:name>",
    );
  });

  it("without --reprocess, what comes back finds its processed records and is handled no more", async () => {
    const before = await duplicatesSkipped(runtime!);
    const result = await seek("--to", "snapshot:before-the-shares");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("(--reprocess handles it again)");
    await waitFor(
      async () => (await duplicatesSkipped(runtime!)) - before >= EVENTS,
      "the redelivered shares to be skipped as duplicates",
    );
    expect(await counts()).toEqual(ids.map(() => 1));
  });

  it("with --reprocess, handles each again exactly once, in transactions and in commit groups", async () => {
    // A new process decides afresh: its first runs are transactions, the later ones grouped.
    await runtime!.stop();
    runtime = await start();
    const result = await seek("--to", "snapshot:before-the-shares", "--reprocess");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      "in processing epoch 1: what it handled before is handled again, once",
    );
    await waitFor(
      async () => (await counts()).every((n) => n >= 2),
      "every share to be applied again",
    );
    expect((await consumerDocument(emulators.firestore, consumer.name).get()).data()).toMatchObject(
      {
        epoch: 1,
        since: null,
      },
    );
    // A second seek without --reprocess: the records of epoch 1 hold, nothing runs a third time.
    const before = await duplicatesSkipped(runtime!);
    expect((await seek("--to", "snapshot:before-the-shares")).code).toBe(0);
    await waitFor(
      async () => (await duplicatesSkipped(runtime!)) - before >= EVENTS,
      "the second redelivery to be skipped as duplicates",
    );
    expect(await counts()).toEqual(ids.map(() => 2));
    // Every record was rewritten in epoch 1, with no outbox left to publish.
    const records = await consumerDocument(emulators.firestore, consumer.name)
      .collection(PROCESSED_COLLECTION_GROUP)
      .get();
    expect(records.size).toBe(EVENTS);
    expect(records.docs.map((d) => [d.data()["epoch"], d.data()["outbox"]])).toEqual(
      ids.map(() => [1, undefined]),
    );
  });

  it("keeps each epoch's record: who re-ran what, and from when", async () => {
    const epochs = await consumerDocument(emulators.firestore, consumer.name)
      .collection("epochs")
      .get();
    expect(epochs.docs.map((d) => d.data()["reason"])).toEqual([
      "eventline seek email-worker --to snapshot:before-the-shares --reprocess",
    ]);
  });
});

describe("a processing epoch from a time", () => {
  it("re-runs records written at or after its time, and keeps those written before it", async () => {
    const firestore = emulators.firestore;
    const since = new Date("2026-12-01T10:00:00Z");
    const records = consumerDocument(firestore, "epoch-from-a-time").collection("processed");
    await records.doc("before").set({ processedAt: Timestamp.fromMillis(since.getTime() - 1) });
    await records.doc("at").set({ processedAt: Timestamp.fromDate(since) });
    await records.doc("in-epoch-1").set({ processedAt: Timestamp.now(), epoch: 1 });
    const epoch = await beginEpoch(firestore, "epoch-from-a-time", since, "a test");
    expect(epoch).toMatchObject({ epoch: 1, since: Timestamp.fromDate(since) });
    expect(epoch.began).toBeInstanceOf(Timestamp);
    const holds = async (id: string) => recordHolds(await records.doc(id).get(), epoch);
    expect(await holds("before")).toBe(true);
    expect(await holds("at")).toBe(false);
    expect(await holds("in-epoch-1")).toBe(true);
    expect(await holds("never-written")).toBe(false);
  });
});
