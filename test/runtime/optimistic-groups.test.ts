/**
 * Handlers that read, committed in groups with optimistic reads (commit-groups.ts,
 * transaction.ts): what a batch with preconditions must do as the transaction would, on the
 * Firestore emulator.
 */
import { randomUUID } from "node:crypto";
import { FieldValue, type DocumentReference } from "@google-cloud/firestore";
import { describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { defineHandler, type RegisteredHandler } from "../../handlers/runtime/handler";
import { processedRef } from "../../handlers/runtime/idempotency";
import { DeferredTransaction } from "../../handlers/runtime/transaction";
import { funnelProjector, cardFunnels, invitations } from "../../handlers/viral/funnel-projector";
import { useEmulators } from "../support/emulators";
import { shareDelivery, testProcessor } from "../support/processor";
import { EventCodec } from "../../handlers/runtime/codec";

const emulators = useEmulators({ pubsub: false });
const eventTypes = eventTypesFor("local");
const emailWorker = eventTypes.system.consumers.find((c) => c.name === "email-worker")!;

/** Handler runs by event id, counting runs discarded and run again. */
const runs = new Map<string, number>();

/**
 * Reads `counters/{shareMetadata.counter}` and writes it back with its count plus one (a
 * whole replacement), the read-modify-write of a projection.
 */
const counting = defineHandler({
  name: "email-sender",
  accepts: ["com.eventline.share.requested"],
  async handle(event, ctx) {
    runs.set(event.meta.id, (runs.get(event.meta.id) ?? 0) + 1);
    const ref = ctx.firestore.collection("counters").doc(event.data.shareMetadata!["counter"]!);
    const current = await ctx.transaction.get(ref);
    const count = ((current.data()?.["count"] as number | undefined) ?? 0) + 1;
    ctx.transaction.set(ref, { count, last: event.meta.id });
  },
});

/** A processor that groups from its first run, and the events it committed in groups so far. */
function processorOf(handler: RegisteredHandler, consumer = emailWorker) {
  const { processor, commits } = testProcessor({
    firestore: emulators.firestore,
    consumer,
    handler,
    groupCommitsAfter: 0,
  });
  return { processor, grouped: async () => (await commits()).events };
}

/** A delivery of a new event counting on `counters/{counter}`. */
const counterDelivery = (counter: string) => shareDelivery({ counter });

const countOf = async (counter: string) =>
  (await emulators.firestore.collection("counters").doc(counter).get()).get("count") as
    number | undefined;

describe("handlers that read, in commit groups", () => {
  it("commit read-modify-write runs on different documents in groups, each run once", async () => {
    const { processor, grouped } = processorOf(counting);
    const prefix = randomUUID();
    const batch = Array.from({ length: 60 }, (_, i) => counterDelivery(`${prefix}-${i}`));
    const outcomes = await Promise.all(batch.map((d) => processor.process(d)));
    expect(outcomes.every((o) => o.result === "handled")).toBe(true);
    expect(await grouped()).toBe(60);
    for (const [i, d] of batch.entries()) {
      expect(await countOf(`${prefix}-${i}`)).toBe(1);
      expect(runs.get(d.attributes["ce-id"]!)).toBe(1);
    }
  });

  it("count exactly 60 events at once on one document: the conflicts run again, one after another", async () => {
    const { processor, grouped } = processorOf(counting);
    const counter = randomUUID();
    const batch = Array.from({ length: 60 }, () => counterDelivery(counter));
    // The conflicts' transactions queue on the document's lock; on a loaded emulator one may
    // give up and the event is retried, as Pub/Sub would redeliver it.
    let pending = batch;
    for (let attempt = 1; pending.length > 0 && attempt <= 5; attempt++) {
      const outcomes = await Promise.all(
        pending.map((d) => processor.process({ ...d, deliveryAttempt: attempt })),
      );
      expect(outcomes.every((o) => o.result === "handled" || o.result === "retry")).toBe(true);
      pending = pending.filter((_, i) => outcomes[i]!.result === "retry");
    }
    expect(pending).toHaveLength(0);
    expect(await countOf(counter)).toBe(60);
    for (const d of batch) {
      const record = await processedRef(emulators.firestore, emailWorker.name, {
        source: "//eventline/gateway",
        id: d.attributes["ce-id"]!,
      }).get();
      expect(record.exists).toBe(true);
    }
    // The ones a group's commit overtook ran again in a group, one after another, each
    // reading what the one before wrote: none needed a transaction.
    expect(await grouped()).toBe(60);
    expect(batch.some((d) => runs.get(d.attributes["ce-id"]!)! > 1)).toBe(true);
    // And a redelivery of each is a duplicate, in a group too.
    const again = await Promise.all(
      batch.map((d) => processor.process({ ...d, messageId: randomUUID() })),
    );
    expect(again.every((o) => o.result === "duplicate")).toBe(true);
    expect(await countOf(counter)).toBe(60);
  });

  it("keep the funnel exact over a burst of one card's completions and opens, grouped", async () => {
    const funnelConsumer = eventTypes.system.consumers.find(
      (c) => c.handler === funnelProjector.name,
    )!;
    const { processor, grouped } = processorOf(funnelProjector, funnelConsumer);
    const codec = new EventCodec(eventTypes);
    const card = `card-${randomUUID()}`;
    const completed = Array.from({ length: 60 }, (_, i) =>
      codec.encode(
        "com.eventline.share.completed",
        {
          invitationId: `${card}-inv-${i}`,
          messageId: `m${i}`,
          cardId: card,
          senderUserId: `sender-${i % 3}`,
          channel: "email",
        },
        { source: "//eventline/test" },
      ),
    );
    const opened = Array.from({ length: 60 }, (_, i) =>
      codec.encode(
        "com.eventline.invitation.opened",
        { invitationId: `${card}-inv-${i}`, cardId: card, senderUserId: `sender-${i % 3}` },
        { source: "//eventline/test" },
      ),
    );
    const deliver = (m: { data: Buffer; attributes: Record<string, string> }) =>
      processor.process({
        messageId: randomUUID(),
        data: m.data,
        attributes: m.attributes,
        deliveryAttempt: 1,
      });
    const outcomes = await Promise.all([...completed, ...opened, ...opened].map(deliver));
    // Every event handled once; the repeated opens are duplicates.
    expect(outcomes.filter((o) => o.result === "handled")).toHaveLength(120);
    expect(outcomes.filter((o) => o.result === "duplicate")).toHaveLength(60);
    const counts = (await cardFunnels.ref(emulators.firestore, card).get()).data();
    expect(counts).toMatchObject({ sent: 60, opened: 60, clicked: 0, converted: 0, failed: 0 });
    const invitation = (await invitations.ref(emulators.firestore, `${card}-inv-7`).get()).data();
    expect(invitation?.steps).toEqual(["sent", "opened"]);
    expect(await grouped()).toBeGreaterThan(0);
  });
});

describe("a run's writes guarded by what it read", () => {
  const firestore = () => emulators.firestore;
  const doc = () => firestore().collection("guarded").doc(randomUUID());
  const reader = (ref: DocumentReference) => ref.get();

  async function commit(run: DeferredTransaction): Promise<void> {
    const batch = firestore().batch();
    run.commitWrites(batch);
    await batch.commit();
  }

  it("replace a read document whole, dropping the fields the new value does not have", async () => {
    const ref = doc();
    await ref.set({ a: 1, b: 2, "x.y": 3 });
    const run = new DeferredTransaction(reader);
    await run.get(ref);
    run.set(ref, { a: 5, "x.y": 4 });
    expect(run.fitsGroup).toBe(true);
    await commit(run);
    expect((await ref.get()).data()).toEqual({ a: 5, "x.y": 4 });
  });

  it("merge into a read document field by field, nested maps kept", async () => {
    const ref = doc();
    await ref.set({ n: { keep: 1, bump: 1 }, total: 1 });
    const run = new DeferredTransaction(reader);
    await run.get(ref);
    run.set(ref, { n: { bump: FieldValue.increment(1) }, total: 2 }, { merge: true });
    await commit(run);
    expect((await ref.get()).data()).toEqual({ n: { keep: 1, bump: 2 }, total: 2 });
  });

  it("create a document read as absent, and update or delete one read as present", async () => {
    const absent = doc();
    const present = doc();
    const doomed = doc();
    await present.set({ v: 1 });
    await doomed.set({ v: 1 });
    const run = new DeferredTransaction(reader);
    await run.getAll(absent, present, doomed);
    run.set(absent, { v: 1 });
    run.update(present, { v: 2 });
    run.delete(doomed);
    expect(run.fitsGroup).toBe(true);
    await commit(run);
    expect((await absent.get()).data()).toEqual({ v: 1 });
    expect((await present.get()).data()).toEqual({ v: 2 });
    expect((await doomed.get()).exists).toBe(false);
  });

  it.each([
    ["changed", (ref: DocumentReference) => ref.update({ v: 9 }), true],
    ["created", (ref: DocumentReference) => ref.set({ v: 9 }), false],
    ["deleted", (ref: DocumentReference) => ref.delete(), true],
  ] as const)(
    "refuse the commit when the document read was %s before it, writing nothing",
    async (_what, overtake, existsFirst) => {
      const ref = doc();
      const other = doc();
      if (existsFirst) await ref.set({ v: 1 });
      const run = new DeferredTransaction(reader);
      await run.get(ref);
      run.set(ref, { v: 2 });
      run.set(other, { written: true });
      await overtake(ref);
      await expect(commit(run)).rejects.toMatchObject({ code: expect.any(Number) });
      expect((await other.get()).exists).toBe(false);
    },
  );

  it("does not fit a group when it read what it does not write, read a query or through a converter, or read two documents and wrote nothing", async () => {
    const [a, b] = [doc(), doc()];
    const readOnly = new DeferredTransaction(reader);
    await readOnly.get(a);
    expect(readOnly.fitsGroup).toBe(true);
    await readOnly.get(b);
    expect(readOnly.fitsGroup).toBe(false);

    const unwritten = new DeferredTransaction(reader);
    await unwritten.get(a);
    unwritten.set(b, { v: 1 });
    expect(unwritten.fitsGroup).toBe(false);

    const queried = new DeferredTransaction(reader);
    await expect(queried.get(firestore().collection("guarded").limit(1))).rejects.toThrow(
      /no transaction/,
    );
    queried.set(a, { v: 1 });
    expect(queried.fitsGroup).toBe(false);

    const converted = new DeferredTransaction(reader);
    const withConverter = a.withConverter({
      toFirestore: (value: { v: number }) => value,
      fromFirestore: (snapshot) => snapshot.data() as { v: number },
    });
    await expect(converted.get(withConverter)).rejects.toThrow(/no transaction/);
    expect(converted.fitsGroup).toBe(false);

    const blind = new DeferredTransaction(reader);
    blind.set(a, { v: FieldValue.increment(1) }, { merge: true });
    expect(blind.fitsGroup).toBe(true);
  });
});

describe("a grouped run's commit refused because a document exists", () => {
  /**
   * Counts on `counters/{counter}` as `counting` does, and creates `marks/{mark}`: without
   * reading it when `blind` is set, else after reading it absent. On its first run with
   * `overtake` set, another writer creates the mark between the run's read and its commit.
   */
  const marking = defineHandler({
    name: "email-sender",
    accepts: ["com.eventline.share.requested"],
    async handle(event, ctx) {
      const first = !runs.has(event.meta.id);
      runs.set(event.meta.id, (runs.get(event.meta.id) ?? 0) + 1);
      const metadata = event.data.shareMetadata!;
      const mark = ctx.firestore.collection("marks").doc(metadata["mark"]!);
      if (metadata["blind"] === "yes") {
        const counter = ctx.firestore.collection("counters").doc(metadata["counter"]!);
        const current = await ctx.transaction.get(counter);
        ctx.transaction.set(counter, { count: ((current.get("count") as number) ?? 0) + 1 });
        ctx.transaction.create(mark, { by: event.meta.id });
        return;
      }
      const existing = await ctx.transaction.get(mark);
      if (first && metadata["overtake"] === "yes") await mark.create({ by: "another writer" });
      if (existing.exists) ctx.transaction.set(mark, { seenBy: event.meta.id }, { merge: true });
      else ctx.transaction.create(mark, { by: event.meta.id });
    },
  });
  const marks = () => emulators.firestore.collection("marks");

  it("fails a run whose blind create meets an existing document once, without running it again", async () => {
    const { processor } = processorOf(marking);
    const mark = randomUUID();
    const counter = randomUUID();
    await marks().doc(mark).create({ by: "earlier" });
    // The counter is read present: only the mark can be what exists.
    await emulators.firestore.collection("counters").doc(counter).create({ count: 7 });
    const delivery = shareDelivery({ mark, counter, blind: "yes" });
    const outcome = await processor.process(delivery);
    expect(outcome.result).not.toBe("handled");
    expect(runs.get(delivery.attributes["ce-id"]!)).toBe(1);
    expect(await countOf(counter)).toBe(7);
    expect((await marks().doc(mark).get()).get("by")).toBe("earlier");
  });

  it("runs again a run that read a document absent which another writer then created, and the second run sees it", async () => {
    const { processor } = processorOf(marking);
    const mark = randomUUID();
    const delivery = shareDelivery({ mark, overtake: "yes" });
    const outcome = await processor.process(delivery);
    expect(outcome.result).toBe("handled");
    expect(runs.get(delivery.attributes["ce-id"]!)).toBe(2);
    const stored = (await marks().doc(mark).get()).data();
    expect(stored).toEqual({ by: "another writer", seenBy: delivery.attributes["ce-id"] });
  });
});
