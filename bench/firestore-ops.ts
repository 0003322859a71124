/**
 * What one event costs the Firestore emulator, by write pattern, 100 operations in flight:
 * - create: one document, the hand-written baseline's write (the ratio's base);
 * - transaction: the runtime's apply-once (read the processed record, create it, write the
 *   handler's document, commit), two round trips and the emulator's transaction bookkeeping;
 * - batch: the same two writes committed as one batch without the read, the processed
 *   record's `create` making a second apply fail as a whole (a read-free alternative, for
 *   handlers that do not read);
 * - bulk create: the archiver's BulkWriter (throttling off, as locally);
 * - commit group: the runtime's path for handlers that read nothing (CommitGroups, as the
 *   delivery pipeline drives it): the processed records of concurrent events checked in one
 *   getAll, then each event's record and document committed with those of the others.
 * It explains the pipeline's ratio: the runtime's guarantee is paid in the emulator.
 */
import { FieldValue, type Firestore } from "@google-cloud/firestore";
import { CommitGroups } from "../handlers/runtime/commit-groups";
import { DeferredTransaction } from "../handlers/runtime/transaction";
import { begin, complete, inProject, type BenchContext } from "./support/context";
import type { BenchResult } from "./support/report";
import { formatSpread, ratio, spread } from "./support/stats";

const IN_FLIGHT = 100;
const PATTERNS = ["create", "transaction", "batch", "bulk create", "commit group"] as const;
type Pattern = (typeof PATTERNS)[number];

async function pool(count: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) await op(next++);
    }),
  );
  return Math.round(count / ((performance.now() - started) / 1000));
}

async function measure(
  firestore: Firestore,
  pattern: Pattern,
  count: number,
  prefix = "ops",
): Promise<number> {
  const docs = firestore.collection(`${prefix}-${pattern.replace(" ", "-")}`);
  // Where processed records live, so the commit group's lookup reads the consumer's epoch too.
  const records = firestore
    .collection("consumers")
    .doc(`${prefix}-${pattern.replace(" ", "-")}`)
    .collection("processed");
  switch (pattern) {
    case "create":
      return pool(count, (i) => docs.doc(`d${i}`).create({ count: 1, i }));
    case "transaction":
      return pool(count, (i) =>
        firestore.runTransaction(async (tx) => {
          const record = records.doc(`d${i}`);
          if ((await tx.get(record)).exists) return;
          tx.create(record, { processedAt: Date.now() });
          tx.set(docs.doc(`d${i}`), { count: FieldValue.increment(1), i }, { merge: true });
        }),
      );
    case "batch":
      return pool(count, (i) =>
        firestore
          .batch()
          .create(records.doc(`d${i}`), { processedAt: Date.now() })
          .set(docs.doc(`d${i}`), { count: FieldValue.increment(1), i }, { merge: true })
          .commit(),
      );
    case "bulk create": {
      const writer = firestore.bulkWriter({ throttling: false });
      const rate = await pool(count, (i) => {
        const write = writer.create(docs.doc(`d${i}`), { count: 1, i });
        if (i % 20 === 19) void writer.flush();
        return write;
      });
      await writer.close();
      return rate;
    }
    case "commit group": {
      const groups = new CommitGroups(firestore);
      return pool(count, async (i) => {
        const record = records.doc(`d${i}`);
        if ((await groups.lookup(record)).snapshot.exists) return;
        const writes = new DeferredTransaction(undefined).set(
          docs.doc(`d${i}`),
          { count: FieldValue.increment(1), i },
          { merge: true },
        );
        await groups.commit({ record, recordData: { processedAt: Date.now() }, writes });
      });
    }
  }
}

export async function firestoreOpsBenchmark(ctx: BenchContext): Promise<BenchResult> {
  const started = begin();
  const count = ctx.smoke ? 500 : 5000;
  const runs = new Map<Pattern, number[]>(PATTERNS.map((p) => [p, []]));
  for (let run = 0; run < ctx.runs; run++) {
    ctx.say(`firestore-ops: run ${run + 1}/${ctx.runs}, ${count} operations per pattern…`);
    await inProject(ctx, "ops", async (project) => {
      // A pass the JIT and the emulator's indexes warm up on, off the record.
      await measure(project.firestore, "create", ctx.smoke ? 200 : 2000, "warm-up");
      for (const pattern of PATTERNS)
        runs.get(pattern)!.push(await measure(project.firestore, pattern, count));
    });
  }
  const base = spread(runs.get("create")!, 0).median;
  return complete(ctx, started, {
    benchmark: "firestore-ops",
    title: `Firestore emulator: events/s by write pattern (${IN_FLIGHT} in flight, ${count} each)`,
    settings: { count, inFlight: IN_FLIGHT, runs: ctx.runs },
    table: {
      columns: ["pattern", "ops/s min/med/max", "× create"],
      rows: PATTERNS.map((pattern) => {
        const s = spread(runs.get(pattern)!, 0);
        return [pattern, formatSpread(s), ratio(s.median, base).toFixed(2)];
      }),
    },
    targets: [],
    notes: [
      "Measured from the driver process with one client; the pipeline's consumer pays these plus decoding, Pub/Sub and the archive on the same 2 cores.",
    ],
    runs: PATTERNS.map((pattern) => ({ pattern, opsPerSecond: runs.get(pattern) })),
  });
}
