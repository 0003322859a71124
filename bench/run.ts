/**
 * `npm run bench`: every benchmark of issue #9 against its baseline, measured in the same
 * run on the same emulators, then the program evaluation (bench/program-evaluation.ts, run
 * as its own process, unchanged). Prints each table, records each result in bench/results/
 * and rewrites the results part of bench/README.md. `--smoke` runs every benchmark small and
 * once, records nothing, and leaves the program evaluation out (it records its own file).
 * Options: bench/support/driver.ts.
 */
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { programNodeArgs } from "../infra/evaluate";
import { e2eLatencyBenchmark } from "./e2e-latency";
import { firestoreOpsBenchmark } from "./firestore-ops";
import { flowControlBenchmark } from "./flow-control";
import { gatewayBenchmark } from "./gateway";
import { memoryBenchmark } from "./memory";
import { pipelineBenchmark } from "./pipeline";
import { publishOpsBenchmark } from "./publish-ops";
import { pullOpsBenchmark } from "./pull-ops";
import { replayBenchmark } from "./replay";
import { seedBurstBenchmark } from "./seed-burst";
import { tracingBenchmark } from "./tracing";
import { REPO_ROOT } from "./support/children";
import { drive, type DriverOptions, type Entry } from "./support/driver";
import { load1 } from "./support/machine";
import { plainTable } from "./support/report";
import { RESULTS_DIR, programEvaluationTable } from "./support/results";

/**
 * Runs bench/program-evaluation.ts as its author wrote it, with the node arguments Pulumi.yaml
 * gives the program, then prints its newest result.
 */
async function programEvaluation(
  options: DriverOptions,
  say: (line: string) => void,
): Promise<boolean> {
  if (options.smoke) {
    say("\nprogram-evaluation: left out of --smoke (it records its own result file)");
    return true;
  }
  say("\nbench: program-evaluation…");
  const loadStart = load1();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        ...programNodeArgs(),
        "--import",
        "tsx",
        "bench/program-evaluation.ts",
        "--runs",
        String(options.runs),
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "inherit", "inherit"] },
    );
    child.once("exit", (exitCode) => resolve(exitCode));
  });
  const latest = readdirSync(RESULTS_DIR)
    .filter((f) => /-program-evaluation.*\.json$/.test(f))
    .sort()
    .at(-1);
  if (latest !== undefined) {
    const data = JSON.parse(readFileSync(join(RESULTS_DIR, latest), "utf8")) as Parameters<
      typeof programEvaluationTable
    >[0];
    process.stdout.write(
      `\n== Program evaluation under mocks (${latest}; load ${loadStart} → ${load1()})\n\n${plainTable(programEvaluationTable(data))}\n`,
    );
  }
  return code === 0;
}

const entries: Entry[] = [
  { name: "gateway", run: gatewayBenchmark },
  { name: "pipeline", run: pipelineBenchmark },
  { name: "flow-control", run: flowControlBenchmark },
  { name: "firestore-ops", run: firestoreOpsBenchmark },
  { name: "publish-ops", run: publishOpsBenchmark },
  { name: "pull-ops", run: pullOpsBenchmark },
  { name: "e2e-latency", run: e2eLatencyBenchmark },
  { name: "memory", run: memoryBenchmark },
  { name: "seed-burst", run: seedBurstBenchmark },
  { name: "tracing", run: tracingBenchmark },
  { name: "replay", run: replayBenchmark },
  { name: "program-evaluation", standalone: programEvaluation },
];

const USAGE = `npm run bench [-- options]: each benchmark against its baseline, measured in the same run on
fresh emulators, then the program evaluation. Results go to bench/results/<date>-<name>.json
and bench/README.md. Entries: ${entries.map((e) => e.name).join(", ")}.`;

drive("bench", entries, process.argv.slice(2), { usage: USAGE }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
