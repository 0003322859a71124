/**
 * `npm run faults`: the fault suite. Each scenario runs the runtime on the emulators in a
 * fresh project, injects its fault, and reports events sent, applied, applied twice and
 * lost; the suite fails when any scenario loses or doubles an event or fails another of its
 * checks. `--scenarios a,b` runs some of them (recorded into the latest faults result,
 * replacing those rows); `--smoke` runs the quick ones, small. Other options:
 * bench/support/driver.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
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
import type { BenchResult } from "./support/report";
import { RESULTS_DIR } from "./support/results";

const scenarios: Scenario[] = [workerKill, gracefulDrain, pubsubRestart, firestoreOutage, handlerErrors, providerDown, badInput];

const COLUMNS = ["scenario", "sent", "applied", "applied twice", "lost", "dead-lettered", "s", "load", "verdict", "what happened"];

function selected(ctx: BenchContext): Scenario[] {
  const index = process.argv.indexOf("--scenarios");
  const names = index >= 0 ? (process.argv[index + 1] ?? "").split(",").map((s) => s.trim()) : undefined;
  const unknown = (names ?? []).filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`--scenarios: no scenario named ${unknown.join(", ")}; there are ${scenarios.map((s) => s.name).join(", ")}`);
  return scenarios.filter((s) => (names === undefined ? !ctx.smoke || s.inSmoke : names.includes(s.name)));
}

/** Rows of the latest recorded faults result, by scenario name, to keep those not run now. */
function previousRows(): Map<string, (string | number)[][]> {
  const rows = new Map<string, (string | number)[][]>();
  const file = join(RESULTS_DIR, `${new Date().toISOString().slice(0, 10)}-faults.json`);
  if (!existsSync(file)) return rows;
  const previous = JSON.parse(readFileSync(file, "utf8")) as BenchResult;
  let current = "";
  for (const row of previous.table.rows) {
    const name = String(row[0]);
    if (!name.startsWith("  ")) current = name;
    rows.set(current, [...(rows.get(current) ?? []), row]);
  }
  return rows;
}

async function faultSuite(ctx: BenchContext): Promise<BenchResult> {
  const started = begin();
  const chosen = selected(ctx);
  const outcomes: { scenario: Scenario; outcome?: ScenarioOutcome; error?: string; load: string; seconds: number }[] = [];
  for (const [index, scenario] of chosen.entries()) {
    if (index > 0) await ctx.emulators.recycle();
    ctx.say(`faults: ${scenario.name}: ${scenario.title}…`);
    const loadStart = load1();
    const t0 = performance.now();
    const seconds = (): number => Math.round((performance.now() - t0) / 1000);
    try {
      const outcome = await inProject(ctx, scenario.name, (project) => scenario.run(ctx, project));
      outcomes.push({ scenario, outcome, load: `${loadStart} → ${load1()}`, seconds: seconds() });
      ctx.say(`faults: ${scenario.name}: ${outcome.problems.length === 0 ? "pass" : `FAIL: ${outcome.problems.join("; ")}`}`);
    } catch (err) {
      outcomes.push({ scenario, error: err instanceof Error ? err.message : String(err), load: `${loadStart} → ${load1()}`, seconds: seconds() });
      ctx.say(`faults: ${scenario.name}: could not complete: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
  const rowsOf = ({ scenario, outcome, error, load, seconds }: (typeof outcomes)[number]): (string | number)[][] => {
    if (outcome === undefined) return [[scenario.name, "", "", "", "", "", seconds, load, "ERROR", error!.split("\n")[0]!]];
    const verdict = outcome.problems.length === 0 ? "pass" : "FAIL";
    return [
      [scenario.name, outcome.sent, outcome.applied, outcome.duplicatesApplied, outcome.lost, outcome.deadLettered, seconds, load, verdict, [outcome.summary, ...outcome.problems].join("; ")],
      ...(outcome.cases ?? []).map((c) => [`  ${c.name}`, "", "", "", "", "", "", "", c.ok ? "pass" : "FAIL", c.outcome]),
    ];
  };
  const fresh = new Map(outcomes.map((o) => [o.scenario.name, rowsOf(o)]));
  const kept = ctx.smoke || chosen.length === scenarios.length ? new Map<string, (string | number)[][]>() : previousRows();
  const rows = scenarios.flatMap((s) => fresh.get(s.name) ?? kept.get(s.name) ?? []);
  const failed = outcomes.filter((o) => o.outcome === undefined || o.outcome.problems.length > 0);
  return complete(ctx, started, {
    benchmark: "faults",
    title: "Fault suite: nothing lost, nothing applied twice",
    settings: { scenarios: chosen.map((s) => s.name), consumer: "email-worker as declared (maxMessages 10, ack deadline 600 s, 5 attempts)", backoff: ctx.smoke ? "0.1–0.5 s (smoke)" : "as declared, 10 s–600 s" },
    table: { columns: COLUMNS, rows },
    targets: outcomes.map(({ scenario, outcome, error }) => ({
      target: `${scenario.name}: 0 lost, 0 applied twice, checks pass`,
      measured: outcome === undefined ? `did not complete: ${error!.split("\n")[0]}` : outcome.problems.length === 0 ? "pass" : outcome.problems.join("; "),
      met: outcome !== undefined && outcome.problems.length === 0,
      correctness: true,
    })),
    notes: [
      "applied: events with a bench-applied document; applied twice: counts above 1 summed; lost: sent (or accepted by the gateway) and never applied nor dead-lettered.",
      ...(failed.length > 0 ? [`failed: ${failed.map((o) => o.scenario.name).join(", ")}`] : []),
    ],
    runs: outcomes.map(({ scenario, outcome, error, load, seconds }) => ({ scenario: scenario.name, load, seconds, ...(outcome ?? { error }) })),
  });
}

drive("faults", [{ name: "faults", run: faultSuite }], process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`faults: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
