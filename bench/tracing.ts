/**
 * The cost of tracing: the Eventline gateway and pipeline with tracing off (no tracer provider,
 * every span the API's no-op, as a workload with no exporter runs) against tracing on at the
 * default sampling (EVENTLINE_TRACE_SAMPLE_RATIO unset: 0.1 of new traces kept), exporting what
 * it keeps over OTLP/HTTP to a receiver in this process that reads and drops it, as Cloud
 * Trace's exporter would send it away. Same run, same emulators, runs alternating.
 *
 * - gateway: POST /v1/events at 1 000 requests per second (open loop, as bench/gateway.ts),
 *   p50 and p99 latency;
 * - pipeline: a backlog of share.requested through the email-worker (bench handler, one
 *   Firestore document each, idempotency on) with its archiver, events per second from the
 *   first receipt to the last handled event (as bench/pipeline.ts), tracing on the worker.
 *
 * Every span is made either way when tracing is on: sampling decides only which are recorded
 * and exported, so the cost measured is the spans' creation and context propagation on every
 * request, plus recording and exporting a tenth of them.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { begin, complete, inProject, interleaved, type BenchContext } from "./support/context";
import { consumerDefaults } from "../infra/model/defaults";
import { runConsumer, type ConsumerRun } from "./support/consumer-run";
import { benchSystem } from "./support/emulators";
import { shareBody, shareHeaders, startGatewayChild } from "./support/gateways";
import { openLoop } from "./support/http-load";
import type { BenchResult } from "./support/report";
import { processCpuMs } from "./support/machine";
import { formatSpread, percentiles, ratio, round, spread } from "./support/stats";

const RATE = 1000;
/** Tracing on may cost at most this much: latency × 1.05, throughput × 0.95. */
const TARGET = 0.05;

/** An OTLP/HTTP receiver that counts what it is sent and drops it. */
async function startSink(): Promise<{
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}> {
  let requests = 0;
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      requests++;
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface GatewayRun {
  p50Ms: number;
  p99Ms: number;
  /** The gateway process's CPU time per request over the measured window, in ms. */
  cpuMsPerRequest: number;
  achieved: number;
  errors: number;
}

async function gatewayPass(
  ctx: BenchContext,
  seconds: number,
  extra: Record<string, string>,
): Promise<GatewayRun> {
  return inProject(ctx, "tracing-gateway", async (project) => {
    await Promise.all(benchSystem.topics.map((topic) => project.pubsub.createTopic(topic.name)));
    const { child, url } = await startGatewayChild(project, "eventline", extra);
    try {
      const request = () => {
        const id = randomUUID();
        return { id, path: "/v1/events", headers: shareHeaders(id), body: shareBody(randomUUID()) };
      };
      // Warm-up off the record, as bench/gateway.ts.
      await openLoop(url, 200, 200, request, 10_000);
      const cpuBefore = processCpuMs(child.pid);
      const started = performance.now();
      const result = await openLoop(url, RATE * seconds, RATE, request, 10_000);
      const elapsed = (performance.now() - started) / 1000;
      const cpuAfter = processCpuMs(child.pid);
      const p = percentiles(result.latenciesMs);
      return {
        p50Ms: round(p.p50, 2),
        p99Ms: round(p.p99, 2),
        cpuMsPerRequest:
          cpuBefore === undefined || cpuAfter === undefined
            ? Number.NaN
            : round((cpuAfter - cpuBefore) / (RATE * seconds), 3),
        achieved: round(result.latenciesMs.length / elapsed, 0),
        errors: result.errors + (result.latenciesMs.length - result.accepted.length),
      };
    } finally {
      await child.stop();
    }
  });
}

export async function tracingBenchmark(ctx: BenchContext): Promise<BenchResult> {
  const started = begin();
  const seconds = ctx.smoke ? 2 : 15;
  const events = ctx.smoke ? 1000 : 10_000;
  const sink = await startSink();
  const on = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url };
  try {
    ctx.say(`tracing: gateway, ${ctx.runs} × (off, on) at ${RATE} req/s for ${seconds} s…`);
    const gateway = await interleaved(
      ctx.runs,
      () => gatewayPass(ctx, seconds, {}),
      () => gatewayPass(ctx, seconds, on),
    );
    const gatewayExports = sink.requests();
    ctx.say(`tracing: pipeline, ${ctx.runs} × (off, on) over ${events} events…`);
    const pipelinePass = (workerEnv: Record<string, string>) => async (): Promise<ConsumerRun> => {
      await ctx.emulators.recycle();
      return inProject(ctx, "tracing-pipeline", (project) =>
        runConsumer(
          project,
          { kind: "eventline", maxMessages: consumerDefaults.gke.maxMessages, archive: true },
          { events, timeoutMs: ctx.smoke ? 90_000 : 600_000, workerEnv },
        ),
      );
    };
    const pipeline = await interleaved(ctx.runs, pipelinePass({}), pipelinePass(on));
    const pipelineExports = sink.requests() - gatewayExports;

    const p50 = (runs: GatewayRun[]) =>
      spread(
        runs.map((r) => r.p50Ms),
        2,
      );
    const p99 = (runs: GatewayRun[]) =>
      spread(
        runs.map((r) => r.p99Ms),
        2,
      );
    const cpu = (runs: GatewayRun[]) =>
      spread(
        runs.map((r) => r.cpuMsPerRequest),
        3,
      );
    const rate = (runs: ConsumerRun[]) =>
      spread(
        runs.map((r) => r.eventsPerSecond),
        0,
      );
    const off = {
      p50: p50(gateway.baseline),
      p99: p99(gateway.baseline),
      cpu: cpu(gateway.baseline),
      rate: rate(pipeline.baseline),
    };
    const traced = {
      p50: p50(gateway.candidate),
      p99: p99(gateway.candidate),
      cpu: cpu(gateway.candidate),
      rate: rate(pipeline.candidate),
    };
    const p50Ratio = ratio(traced.p50.median, off.p50.median);
    const p99Ratio = ratio(traced.p99.median, off.p99.median);
    const rateRatio = ratio(traced.rate.median, off.rate.median);
    const cpuRatio = ratio(traced.cpu.median, off.cpu.median);
    const errors = Math.max(...[...gateway.baseline, ...gateway.candidate].map((r) => r.errors));
    const lost = Math.max(...[...pipeline.baseline, ...pipeline.candidate].map((r) => r.lost));
    const twice = Math.max(
      ...[...pipeline.baseline, ...pipeline.candidate].map((r) => r.duplicatesApplied),
    );
    return complete(ctx, started, {
      benchmark: "tracing",
      title: "Tracing: the gateway and the pipeline with tracing on (default sampling) against off",
      settings: {
        runs: ctx.runs,
        gatewayRate: RATE,
        gatewaySeconds: seconds,
        pipelineEvents: events,
        sampling: "EVENTLINE_TRACE_SAMPLE_RATIO default (0.1), parent-based",
        exporter: "OTLP/HTTP (JSON) to a local receiver that drops what it gets",
      },
      table: {
        columns: [
          "measure",
          "tracing off min/med/max",
          "tracing on min/med/max",
          "on / off (median)",
        ],
        rows: [
          [
            `gateway p50 ms @ ${RATE}/s`,
            formatSpread(off.p50),
            formatSpread(traced.p50),
            p50Ratio.toFixed(2),
          ],
          [
            `gateway p99 ms @ ${RATE}/s`,
            formatSpread(off.p99),
            formatSpread(traced.p99),
            p99Ratio.toFixed(2),
          ],
          [
            "gateway CPU ms per request",
            formatSpread(off.cpu),
            formatSpread(traced.cpu),
            cpuRatio.toFixed(2),
          ],
          [
            `pipeline events/s (${events})`,
            formatSpread(off.rate),
            formatSpread(traced.rate),
            rateRatio.toFixed(2),
          ],
        ],
      },
      targets: [
        {
          target: `gateway p50 with tracing within ${TARGET * 100} % of off`,
          measured: `${p50Ratio}×`,
          met: p50Ratio <= 1 + TARGET,
        },
        {
          target: `pipeline throughput with tracing within ${TARGET * 100} % of off`,
          measured: `${rateRatio}×`,
          met: rateRatio >= 1 - TARGET,
        },
        {
          target: "spans were exported while tracing was on (the receiver got requests)",
          measured: `${gatewayExports} export requests from the gateway, ${pipelineExports} from the worker`,
          met: gatewayExports > 0 && pipelineExports > 0,
        },
        {
          target: "no errors, no event lost or applied twice, either way",
          measured: `${errors} gateway errors, ${lost} lost, ${twice} applied twice`,
          met: errors === 0 && lost === 0 && twice === 0,
        },
      ],
      notes: [
        "Off: no tracer provider, as a workload without an exporter runs (every span is the API's no-op). On: what handlers/main.ts sets up from OTEL_EXPORTER_OTLP_ENDPOINT, at the default sampling.",
        "The gateway p99 is dominated by the emulator's publish acknowledgement (bench/gateway.ts); compare p50 first.",
        "Gateway CPU per request: the gateway process's own CPU time (user + system, /proc) over the measured window divided by the requests sent, the direct cost of tracing; its latency also follows the load generator, the receiver and the emulators on the same 2 cores.",
        "The load generator, the process under test, the receiver and the emulators share the machine's 2 cores.",
      ],
      runs: [
        ...gateway.baseline.map((r) => ({ part: "gateway", tracing: "off", ...r })),
        ...gateway.candidate.map((r) => ({ part: "gateway", tracing: "on", ...r })),
        ...pipeline.baseline.map((r) => ({
          part: "pipeline",
          tracing: "off",
          eventsPerSecond: r.eventsPerSecond,
          lost: r.lost,
        })),
        ...pipeline.candidate.map((r) => ({
          part: "pipeline",
          tracing: "on",
          eventsPerSecond: r.eventsPerSecond,
          lost: r.lost,
        })),
      ],
    });
  } finally {
    await sink.close();
  }
}
