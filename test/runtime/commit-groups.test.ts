import { randomUUID } from "node:crypto";
import { FieldValue } from "@google-cloud/firestore";
import { describe, expect, it, vi } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import {
  CommitGroups,
  CommitPolicy,
  type RunReport,
  GROUPS_IN_FLIGHT,
  LOOKUP_FIRST_AFTER_MISS,
  MAX_COMMIT_WRITES,
  packCommits,
  type CommitResult,
} from "../../handlers/runtime/commit-groups";
import { defineHandler } from "../../handlers/runtime/handler";
import { processedRef, type ProcessedRecord } from "../../handlers/runtime/idempotency";
import { DeferredTransaction } from "../../handlers/runtime/transaction";
import { useEmulators } from "../support/emulators";
import { shareDelivery, testProcessor } from "../support/processor";

const emulators = useEmulators({ pubsub: false });
const eventTypes = eventTypesFor("local");
const consumer = eventTypes.system.consumers.find((c) => c.name === "email-worker")!;

/** Handler runs by event id, across runs that were discarded and run again. */
const runs = new Map<string, number>();

/**
 * Writes `blind/{event id}` with an increment and no read, and publishes share.completed.
 * `shareMetadata.read` makes it read first; `shareMetadata.create` makes it create
 * `unique/{value}` (which fails when that document exists).
 */
const blindSender = defineHandler({
  name: "email-sender",
  accepts: ["com.eventline.share.requested"],
  async handle(event, ctx) {
    runs.set(event.meta.id, (runs.get(event.meta.id) ?? 0) + 1);
    const metadata = event.data.shareMetadata ?? {};
    if (metadata["read"] !== undefined)
      await ctx.transaction.get(ctx.firestore.collection("blind").doc("read-me"));
    if (metadata["create"] !== undefined)
      ctx.transaction.create(ctx.firestore.collection("unique").doc(metadata["create"]), {
        by: event.meta.id,
      });
    ctx.transaction.set(
      ctx.firestore.collection("blind").doc(event.meta.id),
      { count: FieldValue.increment(1) },
      { merge: true },
    );
    ctx.publish("com.eventline.share.completed", {
      invitationId: event.data.invitationId,
      messageId: "m",
      channel: "email",
      cardId: event.data.cardId,
      senderUserId: event.data.senderUserId,
    });
  },
});

const setUp = (groupCommitsAfter: number | false) =>
  testProcessor({
    firestore: emulators.firestore,
    consumer,
    handler: blindSender,
    groupCommitsAfter,
  });

const countOf = async (id: string) =>
  (await emulators.firestore.collection("blind").doc(id).get()).get("count") as number | undefined;
const recorded = async (id: string) =>
  (
    await processedRef(emulators.firestore, consumer.name, {
      source: "//eventline/gateway",
      id,
    }).get()
  ).exists;

describe("commit groups", () => {
  it("commit a handler that reads nothing in groups once it has gone the set number of runs that fit a group", async () => {
    const { processor, publisher, commits } = setUp(3);
    for (let i = 0; i < 3; i++)
      expect((await processor.process(shareDelivery())).result).toBe("handled");
    expect(await commits()).toEqual({ commits: 0, events: 0 });

    const batch = Array.from({ length: 60 }, () => shareDelivery());
    const outcomes = await Promise.all(batch.map((d) => processor.process(d)));
    expect(outcomes.every((o) => o.result === "handled")).toBe(true);
    const { commits: sent, events } = await commits();
    expect(events).toBe(60);
    expect(sent).toBeLessThan(10);
    for (const d of batch) {
      const id = d.attributes["ce-id"]!;
      expect(await countOf(id)).toBe(1);
      const record = (
        await processedRef(emulators.firestore, consumer.name, {
          source: "//eventline/gateway",
          id,
        }).get()
      ).data() as ProcessedRecord;
      // Published after the commit, then cleared from the record.
      expect(record.outbox).toBeUndefined();
    }
    expect(
      publisher.messages.filter((m) => m.attributes["ce-type"] === "com.eventline.share.completed"),
    ).toHaveLength(63);
  });

  it("apply an event once when it comes again, later or in the same group", async () => {
    const { processor } = setUp(0);
    const first = shareDelivery();
    expect((await processor.process(first)).result).toBe("handled");
    expect((await processor.process(first)).result).toBe("duplicate");

    const twice = shareDelivery();
    const outcomes = await Promise.all([
      processor.process(twice),
      processor.process({ ...twice, messageId: randomUUID() }),
      processor.process(shareDelivery()),
    ]);
    expect(outcomes.map((o) => o.result).sort()).toEqual(["duplicate", "handled", "handled"]);
    expect(await countOf(first.attributes["ce-id"]!)).toBe(1);
    expect(await countOf(twice.attributes["ce-id"]!)).toBe(1);
  });

  it("run a handler that reads a document it does not write again in a transaction, and keep the consumer on transactions after", async () => {
    const { processor, commits } = setUp(0);
    expect((await processor.process(shareDelivery())).result).toBe("handled");
    expect((await commits()).commits).toBe(1);

    const reading = shareDelivery({ read: "yes" });
    const id = reading.attributes["ce-id"]!;
    expect((await processor.process(reading)).result).toBe("handled");
    expect(runs.get(id)).toBe(2);
    expect(await countOf(id)).toBe(1);
    expect(await recorded(id)).toBe(true);

    const after = shareDelivery();
    expect((await processor.process(after)).result).toBe("handled");
    expect(runs.get(after.attributes["ce-id"]!)).toBe(1);
    expect((await commits()).commits).toBe(1);
  });

  it("fail only the run whose own write is refused, and commit the rest of its group", async () => {
    await emulators.firestore.collection("unique").doc("taken").set({ by: "someone" });
    const { processor, commits } = setUp(0);
    const refused = shareDelivery({ create: "taken" });
    const others = Array.from({ length: 9 }, (_, i) =>
      shareDelivery({ create: `free-${randomUUID()}-${i}` }),
    );
    const outcomes = await Promise.all([refused, ...others].map((d) => processor.process(d)));
    expect(outcomes[0]).toMatchObject({ action: "nack", result: "retry" });
    expect(outcomes.slice(1).every((o) => o.result === "handled")).toBe(true);
    expect(await recorded(refused.attributes["ce-id"]!)).toBe(false);
    expect(await countOf(refused.attributes["ce-id"]!)).toBeUndefined();
    for (const d of others) expect(await countOf(d.attributes["ce-id"]!)).toBe(1);
    expect((await commits()).events).toBe(9);
  });

  it("stay on transactions when grouping is turned off", async () => {
    const { processor, commits } = setUp(false);
    await Promise.all(Array.from({ length: 5 }, () => processor.process(shareDelivery())));
    expect(await commits()).toEqual({ commits: 0, events: 0 });
  });
});

describe("CommitGroups", () => {
  it("settles runs of one event in one group as one commit and duplicates, whichever commit lands first", async () => {
    const groups = new CommitGroups(emulators.firestore);
    const record = emulators.firestore.collection("records").doc(randomUUID());
    const run = (n: number) => ({
      record,
      recordData: { n },
      writes: new DeferredTransaction(undefined).set(
        emulators.firestore.collection("blind").doc(`${record.id}-${n}`),
        { n },
      ),
    });
    const results = await Promise.all([
      groups.commit(run(1)),
      groups.commit(run(2)),
      groups.commit(run(3)),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(["committed", "duplicate", "duplicate"]);
    // Only the committed run's write was applied.
    const written = await Promise.all(
      [1, 2, 3].map(
        async (n) =>
          (await emulators.firestore.collection("blind").doc(`${record.id}-${n}`).get()).exists,
      ),
    );
    expect(written.filter(Boolean)).toHaveLength(1);
    expect(written[((await record.get()).get("n") as number) - 1]).toBe(true);
  });

  it("sends a lone lookup and a lone commit at once, waiting for no window", async () => {
    const groups = new CommitGroups(emulators.firestore);
    const getAll = vi.spyOn(emulators.firestore, "getAll");
    const batch = vi.spyOn(emulators.firestore, "batch");
    try {
      const record = processedRef(emulators.firestore, "lone-lookup", {
        source: "//test",
        id: randomUUID(),
      });
      const looked = groups.lookup(record);
      // The turn after this one: a timer, even of 1 ms, has not fired yet.
      await new Promise((resolve) => setImmediate(resolve));
      expect(getAll).toHaveBeenCalledTimes(1);
      expect((await looked).snapshot.exists).toBe(false);

      const committed = groups.commit({
        record,
        recordData: { n: 1 },
        writes: new DeferredTransaction(undefined),
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(batch).toHaveBeenCalledTimes(1);
      expect((await committed).status).toBe("committed");
    } finally {
      getAll.mockRestore();
      batch.mockRestore();
    }
  });

  it(`keeps at most ${GROUPS_IN_FLIGHT} commits in flight, and gathers what arrives meanwhile into the next`, async () => {
    const events: number[] = [];
    let inFlight = 0;
    let most = 0;
    const groups = new CommitGroups(emulators.firestore, (n) => events.push(n));
    const batch = emulators.firestore.batch.bind(emulators.firestore);
    const spy = vi.spyOn(emulators.firestore, "batch").mockImplementation(() => {
      const created = batch();
      const commit = created.commit.bind(created);
      created.commit = async () => {
        most = Math.max(most, ++inFlight);
        try {
          return await commit();
        } finally {
          inFlight--;
        }
      };
      return created;
    });
    try {
      // 300 runs, each in a turn of its own, as deliveries arrive.
      const results: Promise<CommitResult>[] = [];
      for (let i = 0; i < 300; i++) {
        const record = emulators.firestore.collection("records").doc(randomUUID());
        results.push(
          groups.commit({ record, recordData: { i }, writes: new DeferredTransaction(undefined) }),
        );
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect((await Promise.all(results)).every((r) => r.status === "committed")).toBe(true);
      expect(events.reduce((a, b) => a + b, 0)).toBe(300);
      expect(most).toBeLessThanOrEqual(GROUPS_IN_FLIGHT);
      // One commit per run would be 300.
      expect(events.length).toBeLessThan(150);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("packCommits", () => {
  const ref = (id: string) => emulators.firestore.collection("r").doc(id);
  /** A run's writes to `count` documents of its own, or to `shared` ones too. */
  const withWrites = (count: number, ...shared: string[]) => {
    const writes = new DeferredTransaction(undefined);
    const own = randomUUID();
    for (let i = 0; i < count; i++) writes.set(ref(`${own}-${i}`), { i });
    for (const id of shared) writes.set(ref(id), { shared: true }, { merge: true });
    return writes;
  };

  it("puts two runs writing one document in different commits", () => {
    expect(
      packCommits([
        { record: ref("a"), writes: withWrites(1, "card") },
        { record: ref("b"), writes: withWrites(1, "card") },
        { record: ref("c"), writes: withWrites(1) },
      ]),
    ).toEqual([[0, 2], [1]]);
  });

  it("puts two runs of one event in different commits", () => {
    expect(
      packCommits([
        { record: ref("a"), writes: withWrites(1) },
        { record: ref("b"), writes: withWrites(1) },
        { record: ref("a"), writes: withWrites(1) },
      ]),
    ).toEqual([[0, 1], [2]]);
  });

  it(`keeps each commit within ${MAX_COMMIT_WRITES} writes, a run's writes never split`, () => {
    const commits = packCommits([
      { record: ref("a"), writes: withWrites(300) },
      { record: ref("b"), writes: withWrites(300) },
      { record: ref("c"), writes: withWrites(100) },
      { record: ref("d"), writes: withWrites(700) },
    ]);
    expect(commits).toEqual([[0, 2], [1], [3]]);
  });
});

describe("CommitPolicy", () => {
  /** A run's report: one that read nothing fits a group; `fits: false` stands for one that read what a batch cannot check. */
  const ran = (reads: number, fitsGroup = reads === 0, outsideCalls = 0): RunReport => ({
    reads,
    fitsGroup,
    outsideCalls,
  });
  const run = async (policy: CommitPolicy, report: RunReport | undefined) => {
    const turn = await policy.begin();
    turn.end(report);
    return turn.grouped;
  };

  it("groups after the set number of read-free runs, and never again once a run reads", async () => {
    const changes: string[] = [];
    const policy = new CommitPolicy(2, (mode) => changes.push(mode));
    const turn = await policy.begin();
    turn.end(ran(0));
    expect(await run(policy, ran(0))).toBe(false);
    expect(policy.grouped).toBe(true);
    expect(changes).toEqual(["grouping"]);
    const reading = await policy.begin();
    expect(reading.grouped).toBe(true);
    reading.end(ran(1, false));
    expect(changes).toEqual(["grouping", "transactions"]);
    for (let i = 0; i < 5; i++) expect(await run(policy, ran(0))).toBe(false);
  });

  it("never groups a handler that reads before it has decided", async () => {
    const policy = new CommitPolicy(2);
    expect(await run(policy, ran(1, false))).toBe(false);
    for (let i = 0; i < 5; i++) expect(await run(policy, ran(0))).toBe(false);
    expect(policy.decided).toBe(true);
  });

  it("lets only the runs it still needs start before it has decided; the others wait for the decision", async () => {
    const policy = new CommitPolicy(2);
    const first = await policy.begin();
    const second = await policy.begin();
    let thirdStarted = false;
    const third = policy.begin().then((turn) => ((thirdStarted = true), turn));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(thirdStarted).toBe(false);
    // A run whose handler did not run (a duplicate) frees its place without counting.
    first.end(undefined);
    const fourth = await policy.begin();
    expect(thirdStarted).toBe(false);
    second.end(ran(0));
    fourth.end(ran(0));
    expect((await third).grouped).toBe(true);
  });

  it("commits grouped runs first while none has read or called out", async () => {
    const policy = new CommitPolicy(2);
    const trial = await policy.begin();
    expect(trial.commitFirst).toBe(false);
    trial.end(ran(0));
    await run(policy, ran(0));
    const turn = await policy.begin();
    expect([turn.grouped, turn.commitFirst]).toEqual([true, true]);
    turn.end({ ...ran(0), committedFirst: true });
    const reading = await policy.begin();
    expect(reading.commitFirst).toBe(true);
    // A grouped run that read (a document it also wrote): grouped still, never committed first again.
    reading.end({ ...ran(1, true), committedFirst: false });
    for (let i = 0; i < LOOKUP_FIRST_AFTER_MISS + 5; i++) {
      const next = await policy.begin();
      expect([next.grouped, next.commitFirst]).toEqual([true, false]);
      next.end(ran(0));
    }
  });

  it("never commits first a handler that called an outside service, even in a transaction", async () => {
    const policy = new CommitPolicy(2);
    await run(policy, ran(0, true, 1));
    for (let i = 0; i < 5; i++) {
      const turn = await policy.begin();
      expect(turn.commitFirst).toBe(false);
      turn.end(ran(0));
    }
    expect(policy.grouped).toBe(true);
  });

  it(`looks the next ${LOOKUP_FIRST_AFTER_MISS} runs up first after a run committed first was a duplicate`, async () => {
    const policy = new CommitPolicy(1);
    await run(policy, ran(0));
    const missed = await policy.begin();
    expect(missed.commitFirst).toBe(true);
    missed.end({ ...ran(0), committedFirst: false });
    const modes: boolean[] = [];
    for (let i = 0; i < LOOKUP_FIRST_AFTER_MISS + 2; i++) {
      const turn = await policy.begin();
      modes.push(turn.commitFirst);
      turn.end(ran(0));
    }
    expect(modes.filter((first) => !first)).toHaveLength(LOOKUP_FIRST_AFTER_MISS);
    expect(modes.slice(-2)).toEqual([true, true]);
  });
});
