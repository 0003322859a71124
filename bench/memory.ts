/**
 * Benchmark 4, memory: the worker's resident set while it works through a 100 000-message
 * backlog, sampled four times a second for a fixed window, against the hand-written
 * consumer with the client's default flow control. Bounded means: the peak does not follow
 * the backlog, and stays under the pod's memory limit.
 *
 * The emulator ignores a stream's maxOutstandingMessages and keeps streaming, so a streaming
 * subscriber holds the backlog in memory (bench/README.md, "What the emulators do"; the
 * baseline here shows it). Eventline's worker pulls the emulator with
 * unary pulls that ask only for free slots (handlers/runtime/unary-pull.ts), so it holds at
 * most maxMessages. The third pass caps the worker's heap as its Deployment does
 * (infra/k8s/pull-worker.ts, 160 MB for 256Mi): that is the pod's memory; uncapped, V8 sizes
 * its heap from the machine's 24 GB and collects late, so that RSS is reported, not judged.
 */
import { heapCapMb } from "../infra/model/node-heap";
import { parseQuantity } from "../infra/model/quantity";
import { consumerDefaults } from "../infra/model/defaults";
import { begin, complete, inProject, interleaved, type BenchContext } from "./support/context";
import { runConsumer, type ConsumerKind, type ConsumerRun } from "./support/consumer-run";
import type { BenchResult } from "./support/report";
import { formatSpread, spread } from "./support/stats";

/** The pod memory limit a pull consumer gets by default, in MiB. */
const LIMIT_MIB = parseQuantity(consumerDefaults.gke.resources.limits.memory)! / 2 ** 20;

/** The V8 heap cap the worker's Deployment sets for that limit. */
const CAPPED_HEAP_MB = heapCapMb(consumerDefaults.gke.resources.limits.memory);

function idleMb(run: ConsumerRun): number {
  return run.rss[0]?.[1] ?? run.peakRssMb;
}

/** Peak RSS in the first and the second half of the window: a bounded process stops growing. */
function halves(run: ConsumerRun): { first: number; second: number } {
  const end = run.rss.at(-1)?.[0] ?? 0;
  const peak = (from: number, to: number): number =>
    Math.max(...run.rss.filter(([t]) => t >= from && t <= to).map(([, mb]) => mb));
  return { first: peak(0, end / 2), second: peak(end / 2, end) };
}

function row(label: string, runs: readonly ConsumerRun[]): (string | number)[] {
  return [
    label,
    runs[0]?.events ?? 0,
    formatSpread(spread(runs.map(idleMb), 0)),
    formatSpread(
      spread(
        runs.map((r) => halves(r).first),
        0,
      ),
    ),
    formatSpread(
      spread(
        runs.map((r) => halves(r).second),
        0,
      ),
    ),
    formatSpread(
      spread(
        runs.map((r) => r.rss.at(-1)?.[1] ?? Number.NaN),
        0,
      ),
    ),
    formatSpread(
      spread(
        runs.map((r) => r.handled),
        0,
      ),
    ),
  ];
}

export async function memoryBenchmark(ctx: BenchContext): Promise<BenchResult> {
  const started = begin();
  const backlog = ctx.smoke ? 10_000 : 100_000;
  const windowMs = ctx.smoke ? 8_000 : 60_000;
  const eventline: ConsumerKind = {
    kind: "eventline",
    maxMessages: consumerDefaults.gke.maxMessages,
    archive: false,
  };
  // Fresh emulators for each pass: a 100 000-message backlog is left behind in them every time.
  const pass = (kind: ConsumerKind) => async () => {
    await ctx.emulators.recycle();
    return inProject(ctx, "memory", (project) =>
      runConsumer(project, kind, {
        events: backlog,
        timeoutMs: windowMs + 120_000,
        windowMs,
        graceMs: 0,
        tolerateExit: true,
      }),
    );
  };
  ctx.say(
    `memory: ${ctx.runs} × (baseline, Eventline) with a ${backlog}-message backlog, ${windowMs / 1000} s each…`,
  );
  const runs = await interleaved(ctx.runs, pass({ kind: "baseline" }), pass(eventline));
  ctx.say(`memory: ${ctx.runs} × Eventline with its heap capped at ${CAPPED_HEAP_MB} MB…`);
  const capped: ConsumerRun[] = [];
  for (let run = 0; run < ctx.runs; run++)
    capped.push(await pass({ ...eventline, heapMb: CAPPED_HEAP_MB })());
  const peak = spread(
    runs.candidate.map((r) => r.peakRssMb),
    0,
  );
  const cappedPeak = spread(
    capped.map((r) => r.peakRssMb),
    0,
  );
  const died = [
    ...runs.baseline.map((r) => ["baseline", r] as const),
    ...runs.candidate.map((r) => ["Eventline", r] as const),
    ...capped.map((r) => [`Eventline, heap ${CAPPED_HEAP_MB} MB`, r] as const),
  ]
    .filter(([, r]) => r.exitedEarly !== null)
    .map(([who, r]) => `${who}: ${r.exitedEarly}`);
  const growth = spread(
    runs.candidate.map((r) => halves(r).second - halves(r).first),
    0,
  );
  return complete(ctx, started, {
    benchmark: "memory",
    title: `Memory: worker RSS over a ${backlog}-message backlog (${windowMs / 1000} s window)`,
    settings: {
      backlog,
      windowMs,
      runs: ctx.runs,
      eventlineMaxMessages: eventline.maxMessages,
      sampleEveryMs: 250,
      cappedHeapMb: CAPPED_HEAP_MB,
    },
    table: {
      columns: [
        "consumer",
        "backlog",
        "idle RSS MB",
        "peak, 1st half MB",
        "peak, 2nd half MB",
        "RSS at end MB",
        "handled in window",
      ],
      rows: [
        row("baseline (client default flow control: 1 000 messages)", runs.baseline),
        row(`Eventline email-worker (maxMessages ${eventline.maxMessages})`, runs.candidate),
        row(`Eventline, V8 heap capped at ${CAPPED_HEAP_MB} MB`, capped),
      ],
    },
    targets: [
      {
        target: "uncapped: the second half's peak RSS at most 10% over the first half's",
        measured: `${formatSpread(growth)} MB more (min / median / max)`,
        met: runs.candidate.every((r) => halves(r).second <= 1.1 * halves(r).first),
      },
      {
        target: `as deployed, heap capped at ${CAPPED_HEAP_MB} MB: works through the window at the uncapped pace, peak RSS under the pod's ${LIMIT_MIB} MiB`,
        measured: `handled ${formatSpread(
          spread(
            capped.map((r) => r.handled),
            0,
          ),
        )} (uncapped ${formatSpread(
          spread(
            runs.candidate.map((r) => r.handled),
            0,
          ),
        )}), peak ${formatSpread(cappedPeak)} MB`,
        met:
          cappedPeak.max < LIMIT_MIB &&
          capped.every((r) => r.exitedEarly === null) &&
          spread(
            capped.map((r) => r.handled),
            0,
          ).median >=
            0.8 *
              spread(
                runs.candidate.map((r) => r.handled),
                0,
              ).median,
      },
      {
        target: "no worker dies",
        measured: died.length === 0 ? "none" : died.join("; "),
        met: died.length === 0,
      },
    ],
    notes: [
      "RSS of the worker process as tsx runs it (TypeScript compiled at load: some tens of MB more than the image's compiled JavaScript); idle is the first sample, before the first message.",
      "The archiver is not running here: only the worker's own memory is measured.",
      `Uncapped, V8 sizes its heap from the machine's memory and collects late: peak RSS ${formatSpread(peak)} MB (min / median / max). Pods run with the cap (infra/k8s/pull-worker.ts).`,
      "The baseline streams: the emulator ignores the stream's maxOutstandingMessages, so its client takes in the backlog as fast as the emulator sends it and keeps the surplus leased in memory. Eventline pulls the emulator with unary pulls for free slots only; against Pub/Sub it streams, and the server stops at maxOutstandingMessages.",
    ],
    runs: [
      ...runs.baseline.map((r) => ({ consumer: "baseline", ...r })),
      ...runs.candidate.map((r) => ({ consumer: "eventline", ...r })),
      ...capped.map((r) => ({ consumer: "eventline-capped", ...r })),
    ],
  });
}
