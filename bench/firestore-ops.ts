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
 *   getAll, then each event's record and document committed with those of the others;
 * - committed first: the runtime's path once a handler has shown it neither reads nor calls
 *   out (idempotency.ts, applyCommittedFirst): the commit group without the lookup, the
 *   record's `create` refusing a duplicate;
 * - transaction, handler reads: apply-once for a handler that reads its document and writes
 *   it back (a projection), the record and the document read together;
 * - optimistic group: the same handler in commit groups (transaction.ts): the record looked up,
 *   the document read through the group's reader, written back on the condition that it is
 *   unchanged.
 * Each pattern is measured twice: 100 in flight (events/s), and one at a time (the latency
 * of one event's requests on an idle emulator, p50).
 * It explains the pipeline's ratio: the runtime's guarantee is paid in the emulator.
 */
import { FieldValue, type Firestore } from "@google-cloud/firestore";
import { CommitGroups } from "../handlers/runtime/commit-groups";
import { DeferredTransaction } from "../handlers/runtime/transaction";
import { begin, complete, inProject, type BenchContext } from "./support/context";
import type { BenchResult } from "./support/report";
import { formatSpread, quantile, ratio, sorted, spread } from "./support/stats";

const IN_FLIGHT = 100;
const PATTERNS = [
  "create",
  "transaction",
  "batch",
  "bulk create",
  "commit group",
  "committed first",
  "transaction, handler reads",
  "optimistic group",
] as const;
type Pattern = (typeof PATTERNS)[number];

/** What one measurement found: events per second, and the p50 of one operation in ms. */
interface Measured {
  perSecond: number;
  p50Ms: number;
}

async function pool(
  count: number,
  op: (i: number) => Promise<unknown>,
  inFlight: number,
): Promise<Measured> {
  let next = 0;
  const times: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const at = performance.now();
        await op(next++);
        times.push(performance.now() - at);
      }
    }),
  );
  return {
    perSecond: Math.round(count / ((performance.now() - started) / 1000)),
    p50Ms: Math.round(quantile(sorted(times), 0.5) * 100) / 100,
  };
}

async function measure(
  firestore: Firestore,
  pattern: Pattern,
  count: number,
  prefix = "ops",
  inFlight = IN_FLIGHT,
): Promise<Measured> {
  const pool_ = (op: (i: number) => Promise<unknown>) => pool(count, op, inFlight);
  const docs = firestore.collection(`${prefix}-${pattern.replace(" ", "-")}`);
  // Where processed records live, so the commit group's lookup reads the consumer's epoch too.
  const records = firestore
    .collection("consumers")
    .doc(`${prefix}-${pattern.replace(" ", "-")}`)
    .collection("processed");
  switch (pattern) {
    case "create":
      return pool_((i) => docs.doc(`d${i}`).create({ count: 1, i }));
    case "transaction":
      return pool_((i) =>
        firestore.runTransaction(async (tx) => {
          const record = records.doc(`d${i}`);
          if ((await tx.get(record)).exists) return;
          tx.create(record, { processedAt: Date.now() });
          tx.set(docs.doc(`d${i}`), { count: FieldValue.increment(1), i }, { merge: true });
        }),
      );
    case "batch":
      return pool_((i) =>
        firestore
          .batch()
          .create(records.doc(`d${i}`), { processedAt: Date.now() })
          .set(docs.doc(`d${i}`), { count: FieldValue.increment(1), i }, { merge: true })
          .commit(),
      );
    case "bulk create": {
      const writer = firestore.bulkWriter({ throttling: false });
      const rate = await pool_((i) => {
        const write = writer.create(docs.doc(`d${i}`), { count: 1, i });
        // One at a time, nothing else would fill the batch: send each at once.
        if (inFlight === 1 || i % 20 === 19) void writer.flush();
        return write;
      });
      await writer.close();
      return rate;
    }
    case "commit group": {
      const groups = new CommitGroups(firestore);
      return pool_(async (i) => {
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
    case "committed first": {
      const groups = new CommitGroups(firestore);
      return pool_((i) =>
        groups.commit({
          record: records.doc(`d${i}`),
          recordData: { processedAt: Date.now() },
          writes: new DeferredTransaction(undefined).set(
            docs.doc(`d${i}`),
            { count: FieldValue.increment(1), i },
            { merge: true },
          ),
          lookUpWhenRefused: false,
        }),
      );
    }
    case "transaction, handler reads":
      return pool_((i) =>
        firestore.runTransaction(async (tx) => {
          const [record, doc] = await tx.getAll(records.doc(`d${i}`), docs.doc(`d${i}`));
          if (record!.exists) return;
          tx.create(record!.ref, { processedAt: Date.now() });
          tx.set(docs.doc(`d${i}`), { count: ((doc!.get("count") as number) ?? 0) + 1, i });
        }),
      );
    case "optimistic group": {
      const groups = new CommitGroups(firestore);
      return pool_(async (i) => {
        const record = records.doc(`d${i}`);
        if ((await groups.lookup(record)).snapshot.exists) return;
        const writes = new DeferredTransaction(groups.read);
        const doc = await writes.get(docs.doc(`d${i}`));
        writes.set(docs.doc(`d${i}`), { count: ((doc.get("count") as number) ?? 0) + 1, i });
        await groups.commit({ record, recordData: { processedAt: Date.now() }, writes });
      });
    }
  }
}

export async function firestoreOpsBenchmark(ctx: BenchContext): Promise<BenchResult> {
  const started = begin();
  const count = ctx.smoke ? 500 : 5000;
  const alone = ctx.smoke ? 50 : 500;
  const runs = new Map<Pattern, number[]>(PATTERNS.map((p) => [p, []]));
  const latencies = new Map<Pattern, number[]>(PATTERNS.map((p) => [p, []]));
  for (let run = 0; run < ctx.runs; run++) {
    ctx.say(`firestore-ops: run ${run + 1}/${ctx.runs}, ${count} operations per pattern…`);
    await inProject(ctx, "ops", async (project) => {
      // A pass the JIT and the emulator's indexes warm up on, off the record.
      await measure(project.firestore, "create", ctx.smoke ? 200 : 2000, "warm-up");
      for (const pattern of PATTERNS) {
        runs.get(pattern)!.push((await measure(project.firestore, pattern, count)).perSecond);
        const lone = await measure(project.firestore, pattern, alone, "alone", 1);
        latencies.get(pattern)!.push(lone.p50Ms);
      }
    });
  }
  const base = spread(runs.get("create")!, 0).median;
  const baseLatency = spread(latencies.get("create")!, 2).median;
  return complete(ctx, started, {
    benchmark: "firestore-ops",
    title: `Firestore emulator: events/s by write pattern (${IN_FLIGHT} in flight, ${count} each)`,
    settings: { count, inFlight: IN_FLIGHT, runs: ctx.runs },
    table: {
      columns: [
        "pattern",
        "ops/s min/med/max",
        "× create",
        "one at a time: p50 ms min/med/max",
        "× create's p50",
      ],
      rows: PATTERNS.map((pattern) => {
        const s = spread(runs.get(pattern)!, 0);
        const l = spread(latencies.get(pattern)!, 2);
        return [
          pattern,
          formatSpread(s),
          ratio(s.median, base).toFixed(2),
          formatSpread(l),
          ratio(l.median, baseLatency).toFixed(2),
        ];
      }),
    },
    targets: [],
    notes: [
      "Measured from the driver process with one client; the pipeline's consumer pays these plus decoding, Pub/Sub and the archive on the same 2 cores.",
    ],
    runs: PATTERNS.map((pattern) => ({
      pattern,
      opsPerSecond: runs.get(pattern),
      aloneP50Ms: latencies.get(pattern),
    })),
  });
}
