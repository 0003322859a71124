/**
 * One measured pass of a consumer over a backlog, shared by the pipeline, flow-control and
 * memory benchmarks: publish `events` share.requested to viral-shares, start the consumer
 * process(es), wait until every event is handled, give late redeliveries a moment to show,
 * stop them with SIGTERM and read the figures: throughput from the first receipt to the
 * last handled event (start-up excluded), receipt-to-outcome latency, deliveries beyond the
 * first, and, from Firestore, applications beyond the first and events never applied.
 */
import { benchSystem, type BenchProject } from "./emulators";
import { startChild, type Child } from "./children";
import { ARCHIVER_CONSUMER, WORKER_CONSUMER, publishBacklog, shareEvent } from "./events";
import { ledgerOf } from "./ledger";
import type { Progress } from "./recorder";
import { percentiles, round } from "./stats";

export type ConsumerKind =
  /** The runtime: email-worker plus the viral-shares archiver, in two processes; heapMb caps the worker's V8 heap. */
  | { kind: "eventline"; maxMessages: number; archive: boolean; heapMb?: number }
  /** The hand-written consumer; undefined = the client's defaults (1 000 messages, lease from 10 s). */
  | { kind: "baseline"; maxMessages?: number; minAckDeadlineSeconds?: number };

export interface ConsumerRun {
  events: number;
  /** Events handled (all of them, unless a window ended the pass first). */
  handled: number;
  /** Events handled per second by the consumer, first receipt to last handled. */
  eventsPerSecond: number;
  /** Same, until the archive also holds every event (eventline with archive only). */
  withArchiveEventsPerSecond: number | null;
  latencyP50Ms: number;
  latencyP99Ms: number;
  deliveries: number;
  /** Deliveries that applied nothing: redeliveries of applied events, and nacked attempts. */
  duplicatesDelivered: number;
  duplicatesApplied: number;
  lost: number;
  nacked: number;
  peakRssMb: number;
  /** RSS samples of the consumer, [seconds since first receipt, MB]. */
  rss: [number, number][];
  /** How the worker died before the pass ended (only with tolerateExit), or null. */
  exitedEarly: string | null;
}

export interface ConsumerRunOptions {
  events: number;
  /** Bound on the whole pass, in milliseconds. */
  timeoutMs: number;
  /** Stop after this long even if not every event is handled (the memory benchmark's window). */
  windowMs?: number;
  /** Time left after the last event for late redeliveries to show. Default 2 000 ms. */
  graceMs?: number;
  /** Report the worker dying as a result instead of failing the pass. Default false. */
  tolerateExit?: boolean;
  /** More environment for the worker (the tracing benchmark's exporter). Default none. */
  workerEnv?: Record<string, string>;
}

/** The most telling line of a crashed process's stderr (V8's fatal error, or the last line). */
function lastLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => l.startsWith("FATAL ERROR")) ?? lines.at(-1) ?? "no output";
}

/** Starts the consumer's process(es) in `project`, with `extra` in their environment. */
export function startConsumer(
  project: BenchProject,
  consumer: ConsumerKind,
  extra: Record<string, string> = {},
): { worker: Child; archiver?: Child } {
  if (consumer.kind === "baseline") {
    const env = project.env({
      // The subscription the worker consumer's declaration names (resolve.ts derives it).
      BENCH_SUBSCRIPTION: benchSystem.consumers.find((c) => c.name === WORKER_CONSUMER)!
        .subscription,
      ...(consumer.maxMessages !== undefined && {
        BENCH_MAX_MESSAGES: String(consumer.maxMessages),
      }),
      ...(consumer.minAckDeadlineSeconds !== undefined && {
        BENCH_MIN_ACK_DEADLINE: String(consumer.minAckDeadlineSeconds),
      }),
      ...extra,
    });
    return {
      worker: startChild({
        name: "baseline consumer",
        script: "bench/support/baseline-consumer.ts",
        env,
      }),
    };
  }
  const heap: Record<string, string> =
    consumer.heapMb !== undefined
      ? { NODE_OPTIONS: `--max-old-space-size=${consumer.heapMb}` }
      : {};
  const worker = startChild({
    name: "worker",
    script: "bench/support/worker.ts",
    env: project.env({
      HANDLER: WORKER_CONSUMER,
      BENCH_MAX_MESSAGES: String(consumer.maxMessages),
      ...heap,
      ...extra,
    }),
  });
  if (!consumer.archive) return { worker };
  return {
    worker,
    archiver: startChild({
      name: "archiver",
      script: "bench/support/worker.ts",
      env: project.env({ HANDLER: ARCHIVER_CONSUMER }),
    }),
  };
}

const seconds = (from: number | null, to: number | null): number =>
  from === null || to === null ? Number.NaN : (to - from) / 1000;

/** Runs one pass in `project` (provisioned here). */
export async function runConsumer(
  project: BenchProject,
  consumer: ConsumerKind,
  options: ConsumerRunOptions,
): Promise<ConsumerRun> {
  const archive = consumer.kind === "eventline" && consumer.archive;
  await project.provision(archive ? [WORKER_CONSUMER, ARCHIVER_CONSUMER] : [WORKER_CONSUMER]);
  const sent = await publishBacklog(project.pubsub, options.events, () => shareEvent());
  const { worker, archiver } = startConsumer(project, consumer, options.workerEnv);
  const children = [worker, ...(archiver ? [archiver] : [])];
  try {
    await Promise.all(children.map((child) => child.ready));
    const all = (p: Progress): boolean => p.handled >= options.events;
    const window = options.windowMs;
    const everyEvent = Promise.all(
      children.map((child) =>
        child.until(all, `${child.name} to handle ${options.events} events`, options.timeoutMs),
      ),
    ).then(() => true);
    const windowEnd =
      window === undefined
        ? undefined
        : worker
            .until(
              (p) => p.firstReceivedAt !== null && p.t - p.firstReceivedAt >= window,
              "the window",
              options.timeoutMs,
            )
            .then(() => false);
    // The race's loser rejects once the children stop; that is expected, not an error.
    everyEvent.catch(() => undefined);
    windowEnd?.catch(() => undefined);
    // With tolerateExit, the worker dying (out of memory under a capped heap) ends the pass as a finding.
    const died = options.tolerateExit ? worker.exited.then(() => false) : undefined;
    const waits = [everyEvent, ...(windowEnd ? [windowEnd] : [])].map((wait) =>
      died ? wait.catch(() => died) : wait,
    );
    const done = await Promise.race([...waits, ...(died ? [died] : [])]);
    await new Promise((resolve) =>
      setTimeout(resolve, worker.alive ? (options.graceMs ?? 2000) : 0),
    );
    const exits = await Promise.all(children.map((child) => child.stop()));
    const workerExit = exits[0]!;
    const exitedEarly =
      options.tolerateExit && workerExit.code !== 0
        ? `died (code ${workerExit.code}, signal ${workerExit.signal}) ${round(seconds(worker.latest?.firstReceivedAt ?? null, worker.latest?.t ?? null), 0)} s in: ${lastLine(worker.errorOutput)}`
        : null;
    const failed = exits.findIndex(
      (exit, i) => exit.code !== 0 && !(exitedEarly !== null && i === 0),
    );
    if (failed >= 0)
      throw new Error(
        `${children[failed]!.name} exited with code ${exits[failed]!.code}:\n${children[failed]!.errorOutput.slice(-2000)}`,
      );
    const last = worker.latest!;
    const latency = percentiles(worker.timings().latenciesMs);
    const ledger = done ? await ledgerOf(project.firestore, sent) : undefined;
    const first = last.firstReceivedAt;
    const archived = archiver?.latest;
    const end = archived ? Math.max(last.lastHandledAt ?? 0, archived.lastHandledAt ?? 0) : null;
    const start = archived
      ? Math.min(first ?? Infinity, archived.firstReceivedAt ?? Infinity)
      : null;
    return {
      events: options.events,
      handled: last.handled,
      eventsPerSecond: round(last.handled / seconds(first, last.lastHandledAt), 0),
      withArchiveEventsPerSecond:
        archived && end !== null && start !== null
          ? round(options.events / seconds(start, end), 0)
          : null,
      latencyP50Ms: round(latency.p50, 2),
      latencyP99Ms: round(latency.p99, 2),
      deliveries: last.received,
      duplicatesDelivered: last.received - last.handled,
      duplicatesApplied: ledger?.duplicatesApplied ?? Number.NaN,
      lost: ledger?.lost ?? Number.NaN,
      nacked: last.retry,
      peakRssMb: Math.max(...worker.history.map((p) => p.rssMb)),
      rss: worker.history
        .filter((p) => p.firstReceivedAt !== null)
        .map((p) => [round(seconds(p.firstReceivedAt, p.t), 1), p.rssMb]),
      exitedEarly,
    };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}
