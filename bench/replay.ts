/**
 * Replay (issue #23, item 1): `eventline replay`'s in-process path over a store of N events
 * (100 000; 2 000 in a smoke run) against a hand-written baseline measured in the same run on
 * the same store, runs alternating:
 * - baseline: page through `events/` (the replay's query: one type, by time, 300 a page) and
 *   create one document per event, a page's creates in flight at once, then the next page;
 * - Eventline: replayInProcess (tools/replay/in-process.ts), as the CLI calls it (progress on,
 *   so the count query too), through the email-worker with the bench handler (one blind write
 *   per event, bench/support/bench-handlers.ts): decoding each stored envelope, the delivery
 *   pipeline, a processed record per event, commit groups once the handler has shown it reads
 *   nothing, a checkpoint per page.
 * Both write into databases of their own, emptied before each run. Every run checks that each
 * event's document was written exactly once. The replay runs in this process, so its resident
 * set is this process's: sampled every 250 ms; flat means the peak of the second half of the
 * run is within 10 % of the first half's, so the replay's memory does not grow with the events
 * it has done (the store it reads is the same size throughout).
 */
import { FieldPath, type Firestore, type QueryDocumentSnapshot } from "@google-cloud/firestore";
import { eventTypesFor } from "../handlers/declared";
import { EVENTS_COLLECTION, toStoredEvent } from "../handlers/runtime/event-store";
import { clearFirestoreEmulator } from "../tools/local/emulators";
import { replayInProcess } from "../tools/replay/in-process";
import { DEFAULT_PAGE_SIZE } from "../tools/replay/selection";
import { APPLIED_COLLECTION, benchRegistry } from "./support/bench-handlers";
import { begin, complete, inProject, interleaved, type BenchContext } from "./support/context";
import type { BenchProject } from "./support/emulators";
import { codec, WORKER_CONSUMER } from "./support/events";
import type { BenchResult } from "./support/report";
import { formatSpread, ratio, round, spread } from "./support/stats";

const TARGET_RATIO = 0.8;
const SHARE_REQUESTED = "com.eventline.share.requested";
/** Flows the stored events belong to: a replay keeps each flow's order, so many flows let it run concurrently. */
const FLOWS = 1_000;
const BASELINE_DATABASE = "bench-baseline";
const REPLAY_DATABASE = "bench-replay";
/** A resident set within this much of the first half's peak in the second half counts as flat. */
const FLAT_MARGIN = 0.1;
const RSS_EVERY_MS = 250;

interface Run {
  seconds: number;
  eventsPerSecond: number;
  /** Events whose document is missing, and documents written more than once. */
  lost: number;
  appliedTwice: number;
}

interface ReplayRun extends Run {
  /** [seconds since start, MB]. */
  rss: [number, number][];
  firstHalfPeakMb: number;
  secondHalfPeakMb: number;
}

/** Stores `count` share.requested events, a millisecond apart, over {@link FLOWS} flows. */
async function seed(firestore: Firestore, count: number): Promise<void> {
  const eventTypes = eventTypesFor("local");
  const writer = firestore.bulkWriter({ throttling: false });
  const start = Date.parse("2026-12-01T00:00:00Z");
  for (let i = 0; i < count; i++) {
    const id = `share-${String(i).padStart(6, "0")}`;
    const message = codec.encode(
      SHARE_REQUESTED,
      {
        invitationId: id,
        senderUserId: "bench-sender",
        cardId: "bench-card",
        channel: "email",
        recipient: "friend@example.com",
        shareMetadata: { behaviour: "ok" },
      },
      {
        id,
        source: "//eventline/bench",
        time: new Date(start + i).toISOString(),
        correlationId: `flow-${i % FLOWS}`,
      },
    );
    const event = codec.decode(message);
    void writer.create(
      firestore.collection(EVENTS_COLLECTION).doc(id),
      toStoredEvent(event, eventTypes),
    );
    // Hand BulkWriter a bounded backlog.
    if (i % 5_000 === 4_999) await writer.flush();
  }
  await writer.close();
}

/** How many events have no document, and how many documents say they were written more than once. */
async function check(
  target: Firestore,
  count: number,
): Promise<{ lost: number; appliedTwice: number }> {
  let documents = 0;
  let appliedTwice = 0;
  let last: string | undefined;
  for (;;) {
    let query = target
      .collection(APPLIED_COLLECTION)
      .orderBy(FieldPath.documentId())
      .select("count")
      .limit(5_000);
    if (last !== undefined) query = query.startAfter(last);
    const page = await query.get();
    for (const doc of page.docs) {
      documents++;
      if ((doc.get("count") as number) !== 1) appliedTwice++;
    }
    if (page.size < 5_000) break;
    last = page.docs[page.size - 1]!.id;
  }
  return { lost: count - documents, appliedTwice };
}

/** The hand-written replay: page through the store, one create per event. */
async function baseline(source: Firestore, target: Firestore): Promise<number> {
  const query = source
    .collection(EVENTS_COLLECTION)
    .where("type", "==", SHARE_REQUESTED)
    .orderBy("time")
    .orderBy(FieldPath.documentId())
    .select("time", "raw");
  let cursor: QueryDocumentSnapshot | undefined;
  let written = 0;
  for (;;) {
    const page = await (cursor === undefined ? query : query.startAfter(cursor))
      .limit(DEFAULT_PAGE_SIZE)
      .get();
    await Promise.all(
      page.docs.map((doc) =>
        target.collection(APPLIED_COLLECTION).doc(doc.id).create({ count: 1, eventId: doc.id }),
      ),
    );
    written += page.size;
    if (page.size < DEFAULT_PAGE_SIZE) return written;
    cursor = page.docs[page.size - 1];
  }
}

function halves(rss: readonly [number, number][]): { first: number; second: number } {
  const end = rss.at(-1)?.[0] ?? 0;
  const peak = (from: number, to: number): number =>
    Math.max(...rss.filter(([t]) => t >= from && t <= to).map(([, mb]) => mb));
  return { first: peak(0, end / 2), second: peak(end / 2, end) };
}

async function measureBaseline(project: BenchProject, host: string, count: number): Promise<Run> {
  const target = project.database(BASELINE_DATABASE);
  await clearFirestoreEmulator(host, project.projectId, BASELINE_DATABASE);
  const started = performance.now();
  const written = await baseline(project.firestore, target);
  const seconds = (performance.now() - started) / 1000;
  if (written !== count) throw new Error(`the baseline read ${written} of ${count} stored events`);
  return { seconds, eventsPerSecond: count / seconds, ...(await check(target, count)) };
}

async function measureReplay(
  project: BenchProject,
  host: string,
  count: number,
): Promise<ReplayRun> {
  const target = project.database(REPLAY_DATABASE);
  await clearFirestoreEmulator(host, project.projectId, REPLAY_DATABASE);
  const rss: [number, number][] = [];
  const started = performance.now();
  const sample = (): void => {
    rss.push([
      round((performance.now() - started) / 1000, 2),
      round(process.memoryUsage().rss / 2 ** 20, 0),
    ]);
  };
  sample();
  const sampler = setInterval(sample, RSS_EVERY_MS);
  let result;
  try {
    result = await replayInProcess({
      source: project.firestore,
      target,
      handlers: [WORKER_CONSUMER],
      registry: benchRegistry,
      onProgress: () => undefined,
    });
  } finally {
    clearInterval(sampler);
  }
  sample();
  const seconds = (performance.now() - started) / 1000;
  if (result.replayed !== count || result.failures.length > 0)
    throw new Error(
      `the replay delivered ${result.replayed} of ${count} stored events, ${result.failures.length} failed`,
    );
  const { first, second } = halves(rss);
  return {
    seconds,
    eventsPerSecond: count / seconds,
    ...(await check(target, count)),
    rss,
    firstHalfPeakMb: first,
    secondHalfPeakMb: second,
  };
}

export async function replayBenchmark(ctx: BenchContext): Promise<BenchResult> {
  const started = begin();
  const count = ctx.smoke ? 2_000 : 100_000;
  const host = ctx.emulators.firestoreHost;
  const runs = await inProject(ctx, "replay", async (project) => {
    ctx.say(`replay: storing ${count} events…`);
    await seed(project.firestore, count);
    try {
      return await interleaved(
        ctx.runs,
        async (run) => {
          ctx.say(`replay: run ${run + 1}/${ctx.runs}, baseline…`);
          return measureBaseline(project, host, count);
        },
        async (run) => {
          ctx.say(`replay: run ${run + 1}/${ctx.runs}, eventline replay…`);
          return measureReplay(project, host, count);
        },
      );
    } finally {
      for (const database of [BASELINE_DATABASE, REPLAY_DATABASE])
        await clearFirestoreEmulator(host, project.projectId, database).catch(() => undefined);
    }
  });
  const base = spread(
    runs.baseline.map((r) => r.eventsPerSecond),
    0,
  );
  const ours = spread(
    runs.candidate.map((r) => r.eventsPerSecond),
    0,
  );
  const lost = Math.max(...[...runs.baseline, ...runs.candidate].map((r) => r.lost));
  const twice = Math.max(...runs.candidate.map((r) => r.appliedTwice));
  const growth = Math.max(...runs.candidate.map((r) => r.secondHalfPeakMb / r.firstHalfPeakMb - 1));
  return complete(ctx, started, {
    benchmark: "replay",
    title: `Replay: ${count} stored events through one handler writing one document each, against a hand-written replay`,
    settings: {
      events: count,
      flows: FLOWS,
      pageSize: DEFAULT_PAGE_SIZE,
      runs: ctx.runs,
      consumer: `${WORKER_CONSUMER} (bench handler), in the benchmark's process`,
    },
    table: {
      columns: [
        "replay",
        "events/s min/med/max",
        "× baseline",
        "s (median)",
        "RSS MB 1st half / 2nd half peak (median)",
        "lost",
        "applied twice",
      ],
      rows: [
        [
          "baseline: page through events/, create one document each",
          formatSpread(base),
          "1.00",
          spread(runs.baseline.map((r) => r.seconds)).median,
          "",
          Math.max(...runs.baseline.map((r) => r.lost)),
          Math.max(...runs.baseline.map((r) => r.appliedTwice)),
        ],
        [
          "eventline replay (in-process, commit groups, checkpoints)",
          formatSpread(ours),
          ratio(ours.median, base.median).toFixed(2),
          spread(runs.candidate.map((r) => r.seconds)).median,
          `${
            spread(
              runs.candidate.map((r) => r.firstHalfPeakMb),
              0,
            ).median
          } / ${
            spread(
              runs.candidate.map((r) => r.secondHalfPeakMb),
              0,
            ).median
          }`,
          Math.max(...runs.candidate.map((r) => r.lost)),
          twice,
        ],
      ],
    },
    targets: [
      {
        target: `throughput at least ${TARGET_RATIO}× the baseline's`,
        measured: `${ours.median} vs ${base.median} events/s (median): ${ratio(ours.median, base.median)}×`,
        met: ours.median >= TARGET_RATIO * base.median,
      },
      {
        target: `RSS flat: the second half's peak within ${FLAT_MARGIN * 100} % of the first half's`,
        measured: `${round(growth * 100, 1)} % (most in any run)`,
        met: growth <= FLAT_MARGIN,
      },
      {
        target: "nothing lost",
        measured: `${lost} (most in any run)`,
        met: lost === 0,
        correctness: true,
      },
      {
        target: "nothing applied twice",
        measured: `${twice} (most in any run)`,
        met: twice === 0,
        correctness: true,
      },
    ],
    notes: [
      "events/s: the stored events over the wall time of one replay, from the call to its return (the replay's count query, its checkpoints and emptying an empty target included).",
      "The bench handler reads nothing and calls nothing outside, so after its first 20 runs (in transactions, one at a time) the replay runs events of different flows concurrently and commits them in groups of up to 100 events, without looking their records up first; a handler that reads is replayed one event at a time.",
      "The baseline decodes nothing, keeps no processed record and no checkpoint: the floor of what one document per stored event costs. The replay writes two documents per event (the handler's and the processed record); its records are read only in its first runs and for an event already replayed.",
    ],
    runs: [
      ...runs.baseline.map((r) => ({ replay: "baseline", ...r })),
      ...runs.candidate.map((r) => ({ replay: "eventline", ...r })),
    ],
  });
}
