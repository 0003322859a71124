/**
 * Runs committed first (commit-groups.ts, idempotency.ts applyCommittedFirst): once a
 * consumer's runs are grouped and its handler has neither read nor called out, a run commits
 * its writes with its record created, without looking the record up. On the Firestore
 * emulator: no lookup while events are new, a duplicate still applied once, an outside call
 * never made for a duplicate, and processing epochs still told apart by the records' create times.
 */
import { randomUUID } from "node:crypto";
import { FieldValue, type Firestore } from "@google-cloud/firestore";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { defineHandler, type RegisteredHandler } from "../../handlers/runtime/handler";
import { processedRef } from "../../handlers/runtime/idempotency";
import { beginEpoch } from "../../handlers/runtime/processing-epoch";
import { useEmulators } from "../support/emulators";
import { shareDelivery, testProcessor } from "../support/processor";

const emulators = useEmulators({ pubsub: false });
const emailWorker = eventTypesFor("local").system.consumers.find((c) => c.name === "email-worker")!;

/** Calls made to the outside service, by event id. */
const outsideCalls = new Map<string, number>();

/**
 * Adds 1 to `applied/{event id}` blind (a merge, no read); an event whose `shareMetadata.callOut`
 * is set first calls an outside service through `ctx.breaker`.
 */
const blindWriter = defineHandler({
  name: "email-sender",
  accepts: ["com.eventline.share.requested"],
  async handle(event, ctx) {
    if (event.data.shareMetadata?.["callOut"] === "yes")
      await ctx.breaker("provider").execute(async () => {
        outsideCalls.set(event.meta.id, (outsideCalls.get(event.meta.id) ?? 0) + 1);
      });
    ctx.transaction.set(
      ctx.firestore.collection("applied").doc(event.meta.id),
      { count: FieldValue.increment(1) },
      { merge: true },
    );
  },
});

/** A pipeline for a consumer of its own (its records and epochs apart from other tests'), grouping after 2 runs. */
function pipeline(consumer: string, handler: RegisteredHandler = blindWriter) {
  return testProcessor({
    firestore: emulators.firestore,
    consumer: { ...emailWorker, name: consumer },
    handler,
    groupCommitsAfter: 2,
  }).processor;
}

const idOf = (d: ReturnType<typeof shareDelivery>) => d.attributes["ce-id"]!;

const countOf = async (firestore: Firestore, id: string) =>
  (await firestore.collection("applied").doc(id).get()).get("count") as number | undefined;

/** Counts `getAll` requests, the processed-record lookups among them. */
function countLookups(firestore: Firestore) {
  return vi.spyOn(firestore, "getAll");
}

afterEach(() => vi.restoreAllMocks());

describe("runs committed first", () => {
  it("commit new events without looking their records up, each once; their redeliveries are duplicates", async () => {
    const processor = pipeline(`first-${randomUUID()}`);
    // The first runs decide the policy, in transactions.
    for (const d of [shareDelivery(), shareDelivery()])
      expect((await processor.process(d)).result).toBe("handled");
    const lookups = countLookups(emulators.firestore);
    const batch = Array.from({ length: 40 }, () => shareDelivery());
    const outcomes = await Promise.all(batch.map((d) => processor.process(d)));
    expect(outcomes.map((o) => o.result)).toEqual(batch.map(() => "handled"));
    expect(lookups).not.toHaveBeenCalled();
    for (const d of batch) expect(await countOf(emulators.firestore, idOf(d))).toBe(1);

    const again = await Promise.all(
      batch.map((d) => processor.process({ ...d, messageId: randomUUID() })),
    );
    expect(again.map((o) => o.result)).toEqual(batch.map(() => "duplicate"));
    for (const d of batch) expect(await countOf(emulators.firestore, idOf(d))).toBe(1);
    // A duplicate committed first was refused and looked up; the runs after it looked up first.
    expect(lookups).toHaveBeenCalled();
  });

  it("never call an outside service for a duplicate: the run is stopped at ctx.breaker and looked up", async () => {
    const consumer = `first-${randomUUID()}`;
    const callingOut = shareDelivery({ callOut: "yes" });
    // Handled once by a process that has seen the handler call out (it never commits first).
    expect((await pipeline(consumer).process(callingOut)).result).toBe("handled");
    expect(outsideCalls.get(idOf(callingOut))).toBe(1);
    // A new process sees only read-free, call-free runs at first, and commits first.
    const fresh = pipeline(consumer);
    for (let i = 0; i < 5; i++)
      expect((await fresh.process(shareDelivery())).result).toBe("handled");
    const redelivered = await fresh.process({ ...callingOut, messageId: randomUUID() });
    expect(redelivered.result).toBe("duplicate");
    expect(outsideCalls.get(idOf(callingOut))).toBe(1);
    expect(await countOf(emulators.firestore, idOf(callingOut))).toBe(1);
    // A new event that calls out is handled, its call made once.
    const another = shareDelivery({ callOut: "yes" });
    expect((await fresh.process(another)).result).toBe("handled");
    expect(outsideCalls.get(idOf(another))).toBe(1);
  });

  it("keep epochs apart: a record committed first in an epoch holds in it, one from before is re-run once", async () => {
    const consumer = `first-${randomUUID()}`;
    const before = shareDelivery();
    const processor = pipeline(consumer);
    for (const d of [shareDelivery(), shareDelivery(), before])
      expect((await processor.process(d)).result).toBe("handled");
    await beginEpoch(emulators.firestore, consumer, null, "a test");
    // A process that does not know the epoch commits a new event first, with no epoch number.
    const after = shareDelivery();
    expect((await processor.process(after)).result).toBe("handled");
    const record = await processedRef(emulators.firestore, consumer, {
      source: after.attributes["ce-source"]!,
      id: idOf(after),
    }).get();
    expect(record.get("epoch")).toBeUndefined();
    // Delivered again: `after` counts in the new epoch, `before` is handled again, once.
    const again = async (d: ReturnType<typeof shareDelivery>) =>
      (await processor.process({ ...d, messageId: randomUUID() })).result;
    expect(await again(after)).toBe("duplicate");
    expect(await again(before)).toBe("handled");
    expect(await again(before)).toBe("duplicate");
    expect(await again(after)).toBe("duplicate");
    expect(await countOf(emulators.firestore, idOf(after))).toBe(1);
    expect(await countOf(emulators.firestore, idOf(before))).toBe(2);
  });
});
