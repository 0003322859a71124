/**
 * What one publish waits for, by batching, on the Pub/Sub emulator alone: an open loop of
 * publishes (support/pacing.ts) at 1 000 and 3 000 per second from one process, each timed
 * from the call to its message id, p50/p99; the topic without ordering, as the gateway's
 * viral-shares. Settings:
 * - timer 1 ms: the raw client batching on its timer at 1 ms, 100 messages (the gateway
 *   baseline's setting; the ratio's base);
 * - timer 10 ms: the raw client's default batching;
 * - runtime: the runtime's publisher (handlers/runtime/publisher.ts): a request leaves at once
 *   when the topic has none in flight, what arrives meanwhile goes in the next one.
 * It isolates what the gateway benchmark measures behind HTTP: the publish.
 */
import type { PubSub } from "@google-cloud/pubsub";
import { eventTypesFor } from "../handlers/declared";
import { RuntimeMetrics } from "../handlers/runtime/metrics";
import { PUBLISH_BATCHING, PubSubPublisher } from "../handlers/runtime/publisher";
import { begin, complete, inProject, type BenchContext } from "./support/context";
import { SHARES_TOPIC, shareEvent } from "./support/events";
import { paced } from "./support/pacing";
import type { BenchResult } from "./support/report";
import { formatSpread, percentiles, ratio, round, spread } from "./support/stats";

const RATES = [1000, 3000];
const SETTINGS = ["timer 1 ms", "timer 10 ms", "runtime"] as const;
type Setting = (typeof SETTINGS)[number];

interface SettingRun {
  setting: Setting;
  rate: number;
  p50Ms: number;
  p99Ms: number;
}

function publisherFor(pubsub: PubSub, setting: Setting): () => Promise<unknown> {
  if (setting === "runtime") {
    const publisher = new PubSubPublisher(pubsub, eventTypesFor("local"), new RuntimeMetrics());
    return () => publisher.publish([shareEvent()]);
  }
  const topic = pubsub.topic(SHARES_TOPIC, {
    batching:
      setting === "timer 1 ms" ? PUBLISH_BATCHING : { maxMessages: 100, maxMilliseconds: 10 },
  });
  return () => {
    const message = shareEvent();
    return topic.publishMessage({ data: message.data, attributes: message.attributes });
  };
}

async function measure(
  pubsub: PubSub,
  setting: Setting,
  rate: number,
  seconds: number,
): Promise<SettingRun> {
  const publish = publisherFor(pubsub, setting);
  const latencies: number[] = [];
  await paced(rate * seconds, rate, async () => {
    const sent = performance.now();
    await publish();
    latencies.push(performance.now() - sent);
  });
  const p = percentiles(latencies);
  return { setting, rate, p50Ms: round(p.p50, 2), p99Ms: round(p.p99, 2) };
}

export async function publishOpsBenchmark(ctx: BenchContext): Promise<BenchResult> {
  const started = begin();
  const seconds = ctx.smoke ? 2 : 10;
  const runs: SettingRun[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    ctx.say(
      `publish-ops: run ${run + 1}/${ctx.runs}, ${SETTINGS.join(", ")} at ${RATES.join(", ")}/s, ${seconds} s each…`,
    );
    await inProject(ctx, "publish", async (project) => {
      await project.pubsub.createTopic(SHARES_TOPIC);
      // A second of publishes the channel and the JIT warm up on, off the record.
      await measure(project.pubsub, "timer 1 ms", 500, 1);
      // Settings alternate within a run, so a load spike falls on all of them.
      for (const rate of RATES)
        for (const setting of SETTINGS)
          runs.push(await measure(project.pubsub, setting, rate, seconds));
    });
  }
  const of = (setting: Setting, rate: number) =>
    runs.filter((r) => r.setting === setting && r.rate === rate);
  const rows: (string | number)[][] = [];
  for (const rate of RATES) {
    const base = {
      p50: spread(
        of("timer 1 ms", rate).map((r) => r.p50Ms),
        2,
      ).median,
      p99: spread(
        of("timer 1 ms", rate).map((r) => r.p99Ms),
        2,
      ).median,
    };
    for (const setting of SETTINGS) {
      const p50 = spread(
        of(setting, rate).map((r) => r.p50Ms),
        2,
      );
      const p99 = spread(
        of(setting, rate).map((r) => r.p99Ms),
        2,
      );
      rows.push([
        `${setting} @ ${rate}/s`,
        formatSpread(p50),
        formatSpread(p99),
        `${ratio(p50.median, base.p50).toFixed(2)} / ${ratio(p99.median, base.p99).toFixed(2)}`,
      ]);
    }
  }
  return complete(ctx, started, {
    benchmark: "publish-ops",
    title: `Pub/Sub emulator: one publish's latency by batching (open loop, ${seconds} s per rate, one process)`,
    settings: { rates: RATES, secondsPerRate: seconds, runs: ctx.runs, topic: SHARES_TOPIC },
    table: {
      columns: [
        "batching @ rate",
        "p50 ms min/med/max",
        "p99 ms min/med/max",
        "× timer 1 ms p50 / p99",
      ],
      rows,
    },
    targets: [],
    notes: [
      "Measured from the driver process with one client; the emulator and the driver share the machine's 2 cores.",
    ],
    runs,
  });
}
