/**
 * `npm run faults`: the fault suite. Each scenario runs the runtime on the emulators in a
 * fresh project, injects its fault, and reports events sent, applied, applied twice and
 * lost; the suite fails when any scenario loses or doubles an event or fails another of its
 * checks. `--scenarios a,b` runs some of them: the others' rows, targets and raw runs are
 * kept from the latest faults result, and said to be; `--smoke` runs the quick ones, small
 * and unrecorded. Other options:
 * bench/support/driver.ts.
 */
import { readFileSync } from "node:fs";
import { badInput } from "./faults/bad-input";
import { firestoreOutage } from "./faults/firestore-outage";
import { gracefulDrain } from "./faults/graceful-drain";
import { handlerErrors } from "./faults/handler-errors";
import { providerDown } from "./faults/provider-down";
import { pubsubRestart } from "./faults/pubsub-restart";
import type { Scenario, ScenarioOutcome } from "./faults/scenario";
import { workerKill } from "./faults/worker-kill";
import { begin, complete, inProject, type BenchContext } from "./support/context";
import { drive } from "./support/driver";
import { load1 } from "./support/machine";
import type { BenchResult, Target } from "./support/report";
import { latestResultFile } from "./support/results";

const scenarios: Scenario[] = [
  workerKill,
  gracefulDrain,
  pubsubRestart,
  firestoreOutage,
  handlerErrors,
  providerDown,
  badInput,
];

const COLUMNS = [
  "scenario",
  "sent",
  "applied",
  "applied twice",
  "lost",
  "dead-lettered",
  "s",
  "load",
  "verdict",
  "what happened",
];

function selected(ctx: BenchContext): Scenario[] {
  const names = ctx.options["scenarios"]?.split(",").map((s) => s.trim());
  const unknown = (names ?? []).filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length > 0)
    throw new Error(
      `--scenarios: no scenario named ${unknown.join(", ")}; there are ${scenarios.map((s) => s.name).join(", ")}`,
    );
  return scenarios.filter((s) =>
    names === undefined ? !ctx.smoke || s.inSmoke : names.includes(s.name),
  );
}

/** What a recorded faults result holds for one scenario: its table rows, target and raw run. */
interface Recorded {
  rows: (string | number)[][];
  targets: Target[];
  runs: unknown[];
}

/**
 * The latest recorded faults result, by scenario name, to keep the scenarios not run now:
 * a partial run (`--scenarios`) records them as they were.
 */
function previouslyRecorded(): Map<string, Recorded> {
  const recorded = new Map<string, Recorded>();
  const file = latestResultFile("faults");
  if (file === undefined) return recorded;
  const previous = JSON.parse(readFileSync(file, "utf8")) as BenchResult;
  const entry = (name: string): Recorded => {
    if (!recorded.has(name)) recorded.set(name, { rows: [], targets: [], runs: [] });
    return recorded.get(name)!;
  };
  let current = "";
  for (const row of previous.table.rows) {
    const name = String(row[0]);
    if (!name.startsWith("  ")) current = name;
    entry(current).rows.push(row);
  }
  // Results recorded before targets named their scenario begin with its name.
  for (const target of previous.targets)
    entry(target.scenario ?? target.target.split(":")[0]!).targets.push(target);
  for (const run of previous.runs as { scenario?: string }[])
    if (run.scenario !== undefined) entry(run.scenario).runs.push(run);
  return recorded;
}

async function faultSuite(ctx: BenchContext): Promise<BenchResult> {
  const started = begin();
  const chosen = selected(ctx);
  const outcomes: {
    scenario: Scenario;
    outcome?: ScenarioOutcome;
    error?: string;
    load: string;
    seconds: number;
  }[] = [];
  for (const [index, scenario] of chosen.entries()) {
    if (index > 0) await ctx.emulators.recycle();
    ctx.say(`faults: ${scenario.name}: ${scenario.title}…`);
    const loadStart = load1();
    const t0 = performance.now();
    const seconds = (): number => Math.round((performance.now() - t0) / 1000);
    try {
      const outcome = await inProject(ctx, scenario.name, (project) => scenario.run(ctx, project));
      outcomes.push({ scenario, outcome, load: `${loadStart} → ${load1()}`, seconds: seconds() });
      ctx.say(
        `faults: ${scenario.name}: ${outcome.problems.length === 0 ? "pass" : `FAIL: ${outcome.problems.join("; ")}`}`,
      );
    } catch (err) {
      outcomes.push({
        scenario,
        error: err instanceof Error ? err.message : String(err),
        load: `${loadStart} → ${load1()}`,
        seconds: seconds(),
      });
      ctx.say(
        `faults: ${scenario.name}: could not complete: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
    }
  }
  const rowsOf = ({
    scenario,
    outcome,
    error,
    load,
    seconds,
  }: (typeof outcomes)[number]): (string | number)[][] => {
    if (outcome === undefined)
      return [[scenario.name, "", "", "", "", "", seconds, load, "ERROR", error!.split("\n")[0]!]];
    const verdict = outcome.problems.length === 0 ? "pass" : "FAIL";
    return [
      [
        scenario.name,
        outcome.sent,
        outcome.applied,
        outcome.duplicatesApplied,
        outcome.lost,
        outcome.deadLettered,
        seconds,
        load,
        verdict,
        [outcome.summary, ...outcome.problems].join("; "),
      ],
      ...(outcome.cases ?? []).map((c) => [
        `  ${c.name}`,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        c.ok ? "pass" : "FAIL",
        c.outcome,
      ]),
    ];
  };
  const targetOf = ({ scenario, outcome, error }: (typeof outcomes)[number]): Target => ({
    target: `${scenario.name}: ${scenario.passes ?? "0 lost, 0 applied twice, checks pass"}`,
    scenario: scenario.name,
    measured:
      outcome === undefined
        ? `did not complete: ${error!.split("\n")[0]}`
        : outcome.problems.length === 0
          ? "pass"
          : outcome.problems.join("; "),
    met: outcome !== undefined && outcome.problems.length === 0,
    correctness: true,
  });
  const runOf = ({
    scenario,
    outcome,
    error,
    load,
    seconds,
  }: (typeof outcomes)[number]): unknown => ({
    scenario: scenario.name,
    load,
    seconds,
    ...(outcome ?? { error }),
  });
  const fresh = new Map(
    outcomes.map((o) => [
      o.scenario.name,
      { rows: rowsOf(o), targets: [targetOf(o)], runs: [runOf(o)] } satisfies Recorded,
    ]),
  );
  const kept =
    ctx.smoke || fresh.size === scenarios.length
      ? new Map<string, Recorded>()
      : previouslyRecorded();
  const keptNames = scenarios
    .filter((s) => !fresh.has(s.name) && kept.has(s.name))
    .map((s) => s.name);
  const recorded = scenarios.flatMap((s) => fresh.get(s.name) ?? kept.get(s.name) ?? []);
  const failed = outcomes.filter((o) => o.outcome === undefined || o.outcome.problems.length > 0);
  return complete(ctx, started, {
    benchmark: "faults",
    title: "Fault suite: nothing lost, nothing applied twice",
    settings: {
      scenarios: chosen.map((s) => s.name),
      ...(keptNames.length > 0 && { kept: keptNames }),
      consumer: "email-worker as declared (maxMessages 10, ack deadline 600 s, 5 attempts)",
      backoff: ctx.smoke ? "0.1–0.5 s (smoke)" : "as declared, 10 s–600 s",
    },
    table: { columns: COLUMNS, rows: recorded.flatMap((r) => r.rows) },
    targets: recorded.flatMap((r) => r.targets),
    notes: [
      "applied: events with a bench-applied document; applied twice: counts above 1 summed; lost: sent (or accepted by the gateway) and never applied nor dead-lettered.",
      ...(keptNames.length > 0
        ? [`not run this time, kept as recorded before (--scenarios): ${keptNames.join(", ")}`]
        : []),
      ...(failed.length > 0 ? [`failed: ${failed.map((o) => o.scenario.name).join(", ")}`] : []),
    ],
    runs: recorded.flatMap((r) => r.runs),
  });
}

const USAGE = `npm run faults [-- options]: the fault suite on fresh emulators; every scenario reports
events sent, applied, applied twice and lost, and fails on any lost or applied twice.
Results go to bench/results/<date>-faults.json and bench/README.md.

  --scenarios a,b    run only these (${scenarios.map((s) => s.name).join(", ")});
                     the others are kept as the latest result recorded them
  --smoke            runs ${scenarios
    .filter((s) => s.inSmoke)
    .map((s) => s.name)
    .join(", ")}, small`;

drive("faults", [{ name: "faults", run: faultSuite }], process.argv.slice(2), {
  usage: USAGE,
  options: ["scenarios"],
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`faults: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
