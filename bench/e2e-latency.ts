/**
 * Benchmark 3, end-to-end latency: a steady 500 events per second for 30 s posted to
 * POST /v1/events, timed from the request leaving the client to the handler's outcome in the
 * worker (its writes committed), p50/p99 over every event; against the baseline stack
 * (bare server → raw publish → hand-written pull → create → ack), runs alternating. Each
 * request carries its own ce-id, which both stacks keep as the event id, so the client's send
 * time and the worker's completion time join on it. The archiver runs beside the Eventline
 * worker, as it does in production. A third stack in each round, Eventline without its
 * archiver, measures what storing every event costs the worker's latency on a shared machine;
 * the targets are the one with the archiver.
 */
import { randomUUID } from "node:crypto";
import { consumerDefaults } from "../infra/model/defaults";
import { begin, complete, inProject, type BenchContext } from "./support/context";
import { startConsumer, type ConsumerKind } from "./support/consumer-run";
import { ARCHIVER_CONSUMER, WORKER_CONSUMER } from "./support/events";
import { shareBody, shareHeaders, startGatewayChild, type GatewayKind } from "./support/gateways";
import { openLoop } from "./support/http-load";
import type { BenchResult } from "./support/report";
import { formatSpread, percentiles, ratio, round, spread } from "./support/stats";

/** The targets at 500 events/s: p50 and p99 against the baseline's, same run. */
const P50_TARGET = 1.2;
const P99_TARGET = 1.5;

interface LatencyRun {
  sent: number;
  accepted: number;
  completed: number;
  /** Accepted by the front door, never handled. */
  missing: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Inside the worker: each delivery's receipt to its outcome (warm-up included), p50, ms. */
  workerP50Ms: number;
  /** The same, p99. */
  workerP99Ms: number;
}

/** The stacks a round runs, in order: the baseline, Eventline, Eventline without its archiver. */
type Stack = GatewayKind | "eventline-unarchived";

async function pass(
  ctx: BenchContext,
  stack: Stack,
  perSecond: number,
  seconds: number,
): Promise<LatencyRun> {
  const kind: GatewayKind = stack === "baseline" ? "baseline" : "eventline";
  const archive = stack === "eventline";
  return inProject(ctx, "e2e", async (project) => {
    const consumer: ConsumerKind =
      kind === "eventline"
        ? { kind: "eventline", maxMessages: consumerDefaults.gke.maxMessages, archive }
        : { kind: "baseline" };
    await project.provision(archive ? [WORKER_CONSUMER, ARCHIVER_CONSUMER] : [WORKER_CONSUMER]);
    const { worker, archiver } = startConsumer(project, consumer, {
      BENCH_RECORD_COMPLETIONS: "1",
    });
    const gateway = await startGatewayChild(project, kind);
    const children = [worker, ...(archiver ? [archiver] : []), gateway.child];
    try {
      await Promise.all(children.map((child) => child.ready));
      const request = () => {
        const id = randomUUID();
        return { id, path: "/v1/events", headers: shareHeaders(id), body: shareBody(randomUUID()) };
      };
      // Two seconds of the same traffic first, off the record: streams open, JITs warm up.
      const warmUp = await openLoop(gateway.url, perSecond * 2, perSecond, request);
      await worker.until((p) => p.handled >= warmUp.accepted.length, "the warm-up events", 60_000);
      const before = worker.latest!.handled;
      const total = perSecond * seconds;
      const load = await openLoop(gateway.url, total, perSecond, request);
      const accepted = load.accepted.length;
      await worker
        .until(
          (p) => p.handled - before >= accepted,
          `the ${kind} consumer to handle ${accepted} events`,
          120_000,
        )
        .catch(() => undefined);
      await worker.stop();
      const { completions, latenciesMs } = worker.timings();
      const latencies: number[] = [];
      for (const id of load.accepted) {
        const done = completions[id];
        if (done !== undefined) latencies.push(done - load.sentAt.get(id)!);
      }
      const p = percentiles(latencies);
      const inWorker = percentiles(latenciesMs);
      return {
        sent: total,
        accepted,
        completed: latencies.length,
        missing: accepted - latencies.length,
        p50Ms: round(p.p50, 2),
        p99Ms: round(p.p99, 2),
        maxMs: round(p.max, 1),
        workerP50Ms: round(inWorker.p50, 2),
        workerP99Ms: round(inWorker.p99, 2),
      };
    } finally {
      await Promise.all(children.map((child) => child.stop()));
    }
  });
}

export async function e2eLatencyBenchmark(ctx: BenchContext): Promise<BenchResult> {
  const started = begin();
  const perSecond = ctx.smoke ? 100 : 500;
  const seconds = ctx.smoke ? 5 : 30;
  ctx.say(
    `e2e-latency: ${ctx.runs} × (baseline, Eventline, Eventline without its archiver) at ${perSecond} events/s for ${seconds} s…`,
  );
  const runs = {
    baseline: [] as LatencyRun[],
    candidate: [] as LatencyRun[],
    unarchived: [] as LatencyRun[],
  };
  for (let run = 0; run < ctx.runs; run++) {
    runs.baseline.push(await pass(ctx, "baseline", perSecond, seconds));
    runs.candidate.push(await pass(ctx, "eventline", perSecond, seconds));
    runs.unarchived.push(await pass(ctx, "eventline-unarchived", perSecond, seconds));
  }
  const row = (
    label: string,
    list: LatencyRun[],
    base?: { p50: number; p99: number },
  ): (string | number)[] => {
    const p50 = spread(
      list.map((r) => r.p50Ms),
      2,
    );
    const p99 = spread(
      list.map((r) => r.p99Ms),
      2,
    );
    return [
      label,
      formatSpread(
        spread(
          list.map((r) => r.accepted),
          0,
        ),
      ),
      formatSpread(p50),
      formatSpread(p99),
      formatSpread(
        spread(
          list.map((r) => r.maxMs),
          0,
        ),
      ),
      formatSpread(
        spread(
          list.map((r) => r.workerP50Ms),
          2,
        ),
      ),
      formatSpread(
        spread(
          list.map((r) => r.workerP99Ms),
          2,
        ),
      ),
      base
        ? `${ratio(p50.median, base.p50).toFixed(2)} / ${ratio(p99.median, base.p99).toFixed(2)}`
        : "1.00",
      Math.max(...list.map((r) => r.missing)),
    ];
  };
  const base = {
    p50: spread(
      runs.baseline.map((r) => r.p50Ms),
      2,
    ).median,
    p99: spread(
      runs.baseline.map((r) => r.p99Ms),
      2,
    ).median,
  };
  const ours = {
    p50: spread(
      runs.candidate.map((r) => r.p50Ms),
      2,
    ).median,
    p99: spread(
      runs.candidate.map((r) => r.p99Ms),
      2,
    ).median,
  };
  const missing = Math.max(...[...runs.candidate, ...runs.unarchived].map((r) => r.missing));
  /** Each round's ratio to that round's baseline, min / median / max. */
  const perRound = (list: LatencyRun[], key: "p50Ms" | "p99Ms"): string =>
    formatSpread(
      spread(
        list.map((r, index) => ratio(r[key], runs.baseline[index]![key])),
        2,
      ),
    );
  return complete(ctx, started, {
    benchmark: "e2e-latency",
    title: `End-to-end latency: ${perSecond} events/s for ${seconds} s, request sent → handler done`,
    settings: {
      perSecond,
      seconds,
      runs: ctx.runs,
      eventlineMaxMessages: consumerDefaults.gke.maxMessages,
    },
    table: {
      columns: [
        "stack",
        "accepted",
        "p50 ms",
        "p99 ms",
        "max ms",
        "in the worker p50 ms",
        "in the worker p99 ms",
        "× baseline p50 / p99",
        "accepted, never handled",
      ],
      rows: [
        row("baseline: bare server → raw pull → create → ack", runs.baseline),
        row("Eventline: gateway → email-worker (+ archiver)", runs.candidate, base),
        row(
          "Eventline without its archiver (not a target: what archiving costs)",
          runs.unarchived,
          base,
        ),
      ],
    },
    targets: [
      {
        target: "every accepted event handled",
        measured: `${missing} missing (most in any run)`,
        met: missing === 0,
        correctness: true,
      },
      {
        target: `p50 at ${P50_TARGET}× the baseline or better`,
        measured: `${ratio(ours.p50, base.p50)}× (${ours.p50} against ${base.p50} ms)`,
        met: ratio(ours.p50, base.p50) <= P50_TARGET,
      },
      {
        target: `p99 at ${P99_TARGET}× the baseline or better`,
        measured: `${ratio(ours.p99, base.p99)}× (${ours.p99} against ${base.p99} ms)`,
        met: ratio(ours.p99, base.p99) <= P99_TARGET,
      },
    ],
    notes: [
      "Handler done: the worker's outcome for the event (the runtime: its writes committed, in a transaction or a commit group; the baseline: create returned).",
      "In the worker: from a delivery's receipt to its outcome, over every delivery of the run (warm-up included); the rest of the end-to-end time is the front door, the publish and the wait for a pull.",
      `Per round, × that round's baseline (min / median / max): Eventline p50 ${perRound(runs.candidate, "p50Ms")}, p99 ${perRound(runs.candidate, "p99Ms")}; without its archiver p50 ${perRound(runs.unarchived, "p50Ms")}, p99 ${perRound(runs.unarchived, "p99Ms")}.`,
    ],
    runs: [
      ...runs.baseline.map((r) => ({ stack: "baseline", ...r })),
      ...runs.candidate.map((r) => ({ stack: "eventline", ...r })),
      ...runs.unarchived.map((r) => ({ stack: "eventline-unarchived", ...r })),
    ],
  });
}
