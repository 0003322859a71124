/**
 * What the runtime's unary pull (handlers/runtime/unary-pull.ts) gets from the Pub/Sub emulator
 * with one pull in flight against two, the two things the choice trades:
 * - backlog: a subscription holding a backlog, drained by a source holding the runtime's default
 *   of 200 messages, each acked after a 5 ms wait (a quiet handler's time), messages per second;
 * - idle: messages published at 500 per second to an idle subscription, timed from the publish
 *   call to the source handing them over, p50/p99.
 * One pull in flight (what an ordered subscription keeps, and the default before two) is the
 * ratio's base. Settings alternate within a run, so a load spike falls on both. In one process
 * with the emulator, as publish-ops: it isolates the pull that the pipeline and e2e-latency
 * benchmarks measure behind a whole worker.
 */
import type { PubSub } from "@google-cloud/pubsub";
import { consumerDefaults } from "../infra/model/defaults";
import { UnaryPullSource } from "../handlers/runtime/unary-pull";
import { begin, complete, inProject, type BenchContext } from "./support/context";
import { paced } from "./support/pacing";
import type { BenchResult } from "./support/report";
import { formatSpread, percentiles, ratio, round, spread } from "./support/stats";

const PULLS = [1, 2] as const;
type Pulls = (typeof PULLS)[number];
/** A quiet handler's time per message, in milliseconds, before its ack. */
const HANDLER_MS = 5;
const IDLE_RATE = 500;

interface PullRun {
  pulls: Pulls;
  backlogPerSecond: number;
  idleP50Ms: number;
  idleP99Ms: number;
}

/** A fresh topic with one subscription; its name. */
async function subscription(pubsub: PubSub, label: string): Promise<string> {
  const name = `pull-ops-${label}-${Math.random().toString(16).slice(2, 10)}`;
  const [topic] = await pubsub.createTopic(name);
  await topic.createSubscription(name, { ackDeadlineSeconds: 60 });
  return name;
}

/**
 * A started source on `name`, and a promise that settles when `until` resolves, or rejects
 * when the source fails for good.
 */
function start(
  pubsub: PubSub,
  name: string,
  pulls: Pulls,
  onMessage: ConstructorParameters<typeof UnaryPullSource>[0]["onMessage"],
  until: Promise<void>,
): { source: UnaryPullSource; finished: Promise<void> } {
  let fail: (error: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const source = new UnaryPullSource({
    pubsub,
    subscription: name,
    maxMessages: consumerDefaults.gke.maxMessages,
    leaseSeconds: 60,
    maxExtensionSeconds: 600,
    pullsInFlight: pulls,
    onMessage,
    onError: () => undefined,
    onFatal: (error) => fail(error),
  });
  source.start();
  return { source, finished: Promise.race([until, failed]) };
}

/** Drains a backlog of `count` messages; messages per second from the first pull to the last ack. */
async function drain(pubsub: PubSub, pulls: Pulls, count: number): Promise<number> {
  const name = await subscription(pubsub, "backlog");
  const topic = pubsub.topic(name, { batching: { maxMessages: 500, maxMilliseconds: 5 } });
  await Promise.all(
    Array.from({ length: count }, (_, i) => topic.publishMessage({ data: Buffer.from(`m${i}`) })),
  );
  await topic.flush();
  let acked = 0;
  let done: () => void = () => undefined;
  const allAcked = new Promise<void>((resolve) => (done = resolve));
  const started = performance.now();
  const { source, finished } = start(
    pubsub,
    name,
    pulls,
    (message) => {
      setTimeout(() => {
        message.ack();
        if (++acked === count) done();
      }, HANDLER_MS);
    },
    allAcked,
  );
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await source.close();
  return count / seconds;
}

/** Publishes `count` messages at {@link IDLE_RATE}/s to an idle subscription; publish → receipt, ms. */
async function idle(pubsub: PubSub, pulls: Pulls, count: number): Promise<number[]> {
  const name = await subscription(pubsub, "idle");
  const latencies: number[] = [];
  let done: () => void = () => undefined;
  const allReceived = new Promise<void>((resolve) => (done = resolve));
  const { source, finished } = start(
    pubsub,
    name,
    pulls,
    (message) => {
      latencies.push(performance.now() - Number(message.data.toString()));
      message.ack();
      if (latencies.length === count) done();
    },
    allReceived,
  );
  // The source's pulls are waiting before the first publish, as on a quiet subscription.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const topic = pubsub.topic(name, { batching: { maxMessages: 100, maxMilliseconds: 1 } });
  await paced(count, IDLE_RATE, async () => {
    await topic.publishMessage({ data: Buffer.from(String(performance.now())) });
  });
  await finished;
  await source.close();
  return latencies;
}

export async function pullOpsBenchmark(ctx: BenchContext): Promise<BenchResult> {
  const started = begin();
  const backlog = ctx.smoke ? 2_000 : 20_000;
  const idleSeconds = ctx.smoke ? 2 : 10;
  const runs: PullRun[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    ctx.say(
      `pull-ops: run ${run + 1}/${ctx.runs}, ${PULLS.join(" and ")} pulls in flight: a backlog of ${backlog}, then ${IDLE_RATE}/s for ${idleSeconds} s…`,
    );
    await inProject(ctx, "pull", async (project) => {
      // A small backlog the channel and the JIT warm up on, off the record.
      await drain(project.pubsub, 2, 500);
      for (const pulls of PULLS) {
        const backlogPerSecond = await drain(project.pubsub, pulls, backlog);
        const p = percentiles(await idle(project.pubsub, pulls, IDLE_RATE * idleSeconds));
        runs.push({
          pulls,
          backlogPerSecond: round(backlogPerSecond, 0),
          idleP50Ms: round(p.p50, 2),
          idleP99Ms: round(p.p99, 2),
        });
      }
    });
  }
  const of = (pulls: Pulls) => runs.filter((r) => r.pulls === pulls);
  const summary = (pulls: Pulls) => ({
    backlog: spread(
      of(pulls).map((r) => r.backlogPerSecond),
      0,
    ),
    p50: spread(
      of(pulls).map((r) => r.idleP50Ms),
      2,
    ),
    p99: spread(
      of(pulls).map((r) => r.idleP99Ms),
      2,
    ),
  });
  const base = summary(1);
  const rows = PULLS.map((pulls) => {
    const s = summary(pulls);
    return [
      pulls === 1
        ? "1 pull in flight (ordered subscriptions; the base)"
        : "2 pulls in flight (the default)",
      formatSpread(s.backlog),
      ratio(s.backlog.median, base.backlog.median).toFixed(2),
      formatSpread(s.p50),
      formatSpread(s.p99),
      `${ratio(s.p50.median, base.p50.median).toFixed(2)} / ${ratio(s.p99.median, base.p99.median).toFixed(2)}`,
    ];
  });
  return complete(ctx, started, {
    benchmark: "pull-ops",
    title: `Pub/Sub emulator: the runtime's unary pull by pulls in flight (a backlog of ${backlog}; ${IDLE_RATE}/s to an idle subscription for ${idleSeconds} s)`,
    settings: {
      backlog,
      handlerMs: HANDLER_MS,
      maxMessages: consumerDefaults.gke.maxMessages,
      idleRate: IDLE_RATE,
      idleSeconds,
      runs: ctx.runs,
    },
    table: {
      columns: [
        "pulls in flight",
        "backlog msgs/s min/med/max",
        "× 1 pull",
        "idle: publish → receipt p50 ms",
        "p99 ms",
        "× 1 pull p50 / p99",
      ],
      rows,
    },
    targets: [],
    notes: [
      `Backlog: each message acked ${HANDLER_MS} ms after it arrives, ${consumerDefaults.gke.maxMessages} held at most (the runtime's default maxMessages); from the source's start to the last ack.`,
      "Measured in the driver process with one client; the emulator and the driver share the machine's 2 cores.",
    ],
    runs,
  });
}
