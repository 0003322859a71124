/**
 * How long the Pulumi program takes to evaluate under mocks as the declaration grows, and
 * whether that growth is linear. Declares 50, 200 and 800 synthetic consumers over the real
 * event topics (real proto messages and schemas), evaluates each size several times for the
 * dev stack, prints min/median/max and the time per consumer relative to the 50-consumer
 * case, and writes bench/results/<date>-program-evaluation.json.
 *
 *   npx tsx bench/program-evaluation.ts [--runs 3] [--sizes 50,200,800] [--source-maps on|off]
 *
 * Pulumi captures a stack trace for every resource and RPC promise; with source maps on (as
 * tsx and ts-node run TypeScript) each is mapped back to the .ts sources, which is a large
 * share of the time. `--source-maps off` measures the program without that cost. The
 * evaluation under mocks leaves those stacks out (infra/evaluate.ts); every run is paired with
 * a baseline run that formats them, as a real `pulumi preview` does, and with a floor run: a
 * program registering as many bare resources (a topic with a name and a label each), which is
 * Pulumi's own cost per resource, whatever the program. The three alternate.
 *
 * `npm run bench` runs it with the node arguments Pulumi.yaml gives a real run
 * (runtime.options.nodeargs); the result records the arguments it ran with, and a run without
 * them is recorded apart (…-without-nodeargs.json).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import * as gcp from "@pulumi/gcp";
import { type Program, evaluateProgram, programNodeArgs } from "../infra/evaluate";
import type { ConsumerSpec, HandlerContract, SystemSpec, TopicSpec } from "../infra/model/types";
import { system } from "../infra/system";
import { round, spread } from "./support/stats";

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1]! : fallback;
}

const runs = Number(option("runs", "3"));
const sizes = option("sizes", "50,200,800").split(",").map(Number);
const sourceMaps = option("source-maps", "on") === "on";

/**
 * `count` consumers spread round-robin over the declaration's event topics (command topics
 * take exactly one consumer, so they are left out), alternating push and pull, each with a
 * handler that accepts everything on its topic.
 */
function syntheticSystem(count: number): SystemSpec {
  const topics: Record<string, TopicSpec> = Object.fromEntries(
    Object.entries(system.topics as Record<string, TopicSpec>).filter(
      ([, topic]) => topic.command !== true,
    ),
  );
  const topicNames = Object.keys(topics);
  const handlers: Record<string, HandlerContract> = Object.fromEntries(
    topicNames.map((topic) => [`accept-${topic}`, { accepts: Object.keys(topics[topic]!.events) }]),
  );
  const consumers: Record<string, ConsumerSpec> = {};
  for (let index = 0; index < count; index++) {
    const topic = topicNames[index % topicNames.length]!;
    const common = { handler: `accept-${topic}`, topic };
    consumers[`c${String(index).padStart(4, "0")}-${topic}`] =
      index % 2 === 0 ? { ...common, delivery: "push" } : { ...common, delivery: "pull" };
  }
  return { topics, handlers, consumers };
}

/** `count` bare topics, one name and one label each: what any program pays Pulumi per resource. */
function bareResources(count: number): Program {
  return async () => {
    for (let index = 0; index < count; index++)
      new gcp.pubsub.Topic(`bare-${index}`, { name: `bare-${index}`, labels: { owner: "bench" } });
    return {};
  };
}

/** One figure's runs, in milliseconds, and their min/median/max (support/stats.ts). */
interface RunsMs {
  runsMs: number[];
  minMs: number;
  medianMs: number;
  maxMs: number;
}

interface SizeResult {
  consumers: number;
  /** Declared consumers plus one archiver per topic. */
  resolvedConsumers: number;
  resources: number;
  runsMs: number[];
  minMs: number;
  medianMs: number;
  maxMs: number;
  /** The same evaluations with Pulumi's stacks formatted (`pulumiStacks: true`). */
  baseline: RunsMs;
  /** medianMs / baseline.medianMs. */
  ratioToBaseline: number;
  /** As many bare resources, evaluated the same way. */
  floor: RunsMs;
  /** medianMs / floor.medianMs. */
  ratioToFloor: number;
  /** Median milliseconds per declared consumer. */
  msPerConsumer: number;
  /** msPerConsumer relative to the smallest size: 1.0 means linear growth. */
  perConsumerRatio: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
function summarised(runsMs: number[]): RunsMs {
  const { min, median: middle, max } = spread(runsMs);
  return { runsMs: runsMs.map((ms) => round(ms)), minMs: min, medianMs: middle, maxMs: max };
}
const listed = (runsMs: number[]): string => runsMs.map((ms) => `${Math.round(ms)} ms`).join(", ");

async function main(): Promise<void> {
  process.setSourceMapsEnabled(sourceMaps);
  // Node's own flags, not the loaders tsx adds: Pulumi.yaml's nodeargs under `npm run bench`.
  const loaders = new Set(["--import", "--require", "-r", "--loader"]);
  const nodeArgs = process.execArgv.filter(
    (arg, index, all) => !loaders.has(arg) && !loaders.has(all[index - 1] ?? ""),
  );
  const declared = programNodeArgs();
  const asDeclared = declared.every((arg) => nodeArgs.includes(arg));
  if (!asDeclared)
    process.stderr.write(
      `  note: Pulumi.yaml runs the program with ${declared.join(" ")}; this run has ${nodeArgs.join(" ") || "none"}\n`,
    );
  // The machine may be shared: its load says how far to trust the numbers.
  const loadAtStart = loadavg()[0]!;
  // One evaluation first, so module loading and JIT warm-up are not charged to the first size.
  await evaluateProgram({ stack: "dev", system: syntheticSystem(sizes[0]!) });
  await evaluateProgram({ stack: "dev", program: bareResources(100) });

  const results: SizeResult[] = [];
  for (const consumers of sizes) {
    const spec = syntheticSystem(consumers);
    const runsMs: number[] = [];
    const baselineMs: number[] = [];
    const floorMs: number[] = [];
    let resources = 0;
    for (let run = 0; run < runs; run++) {
      for (const pulumiStacks of [true, false]) {
        const start = performance.now();
        const evaluation = await evaluateProgram({ stack: "dev", system: spec, pulumiStacks });
        (pulumiStacks ? baselineMs : runsMs).push(performance.now() - start);
        resources = evaluation.resources.length;
      }
      const start = performance.now();
      await evaluateProgram({ stack: "dev", program: bareResources(resources) });
      floorMs.push(performance.now() - start);
    }
    const medianMs = median(runsMs);
    results.push({
      consumers,
      resolvedConsumers: consumers + Object.values(spec.topics).length,
      resources,
      ...summarised(runsMs),
      msPerConsumer: round(medianMs / consumers, 2),
      perConsumerRatio: 0,
      baseline: summarised(baselineMs),
      ratioToBaseline: round(medianMs / median(baselineMs), 2),
      floor: summarised(floorMs),
      ratioToFloor: round(medianMs / median(floorMs), 2),
    });
    process.stderr.write(
      `  ${consumers} consumers: ${listed(runsMs)} (baseline ${listed(baselineMs)}; ${resources} bare resources ${listed(floorMs)})\n`,
    );
  }
  const base = results[0]!.msPerConsumer;
  for (const result of results) result.perConsumerRatio = round(result.msPerConsumer / base, 2);

  console.log(
    "\nProgram evaluation under mocks (dev stack, source maps %s, median of %d runs)\n",
    sourceMaps ? "on" : "off",
    runs,
  );
  console.log(
    "consumers  resources     min ms  median ms     max ms  ms/consumer  ratio vs first  baseline median ms  x baseline  floor median ms  x floor",
  );
  for (const r of results) {
    console.log(
      `${String(r.consumers).padStart(9)}  ${String(r.resources).padStart(9)}  ${String(r.minMs).padStart(9)}  ${String(r.medianMs).padStart(9)}  ${String(r.maxMs).padStart(9)}  ${String(r.msPerConsumer).padStart(11)}  ${String(r.perConsumerRatio).padStart(14)}  ${String(r.baseline.medianMs).padStart(18)}  ${String(r.ratioToBaseline).padStart(10)}  ${String(r.floor.medianMs).padStart(15)}  ${String(r.ratioToFloor).padStart(7)}`,
    );
  }

  const date = new Date().toISOString().slice(0, 10);
  const directory = join(__dirname, "results");
  mkdirSync(directory, { recursive: true });
  const file = join(
    directory,
    `${date}-program-evaluation${sourceMaps ? "" : "-no-source-maps"}${asDeclared ? "" : "-without-nodeargs"}.json`,
  );
  const machine = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    loadAverage1m: { start: round(loadAtStart, 2), end: round(loadavg()[0]!, 2) },
  };
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: "program-evaluation", date, stack: "dev", sourceMaps, nodeArgs, runs, machine, results }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
