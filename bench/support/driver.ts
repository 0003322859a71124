/**
 * The part `npm run bench` and `npm run faults` share: reading the options, waiting for a
 * quiet machine, starting the emulators, running the selected entries one after another
 * (a failing one is reported and the rest still run), printing and recording each result,
 * and stopping everything it started, also on Ctrl-C. The exit code is 1 when an entry
 * failed or missed a correctness target (something lost or applied twice), so CI's smoke
 * catches a broken harness and a broken guarantee alike.
 *
 * Options are parsed with node:util's parseArgs, strictly: a mistyped option is refused
 * instead of starting an hour of work. The shared ones are in {@link SHARED_HELP}; a command
 * may add its own (faults: --scenarios), handed to its entries as `ctx.options`.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { killAllChildren } from "./children";
import { BenchEmulators } from "./emulators";
import type { BenchContext } from "./context";
import { waitForQuiet } from "./machine";
import { printResult, type BenchResult } from "./report";
import { updateReadme, writeResult } from "./results";

export interface Entry {
  name: string;
  /** Run with the emulators the driver started. */
  run?: (ctx: BenchContext) => Promise<BenchResult>;
  /** Runs on its own (no emulators): returns whether it succeeded. */
  standalone?: (options: DriverOptions, say: (line: string) => void) => Promise<boolean>;
}

export interface DriverOptions {
  smoke: boolean;
  only: string[] | undefined;
  runs: number;
  waitQuietMinutes: number;
  /** The command's own options (string-valued), by name. */
  options: Readonly<Record<string, string | undefined>>;
}

/** What a command adds to the shared options: its help text and its own string options. */
export interface Command {
  /** Printed above the shared options by --help: what the command does, its own options. */
  usage: string;
  /** Names of its own options, each taking a value (`--scenarios a,b`). */
  options?: readonly string[];
}

/** The options every command takes, as --help prints them. */
export const SHARED_HELP = `shared options:
  --smoke            small sizes, one run, no waiting, nothing recorded
  --only a,b         run only these entries (names as listed by --list)
  --runs N           runs per figure (default 3; smoke 1)
  --wait-quiet MIN   wait up to MIN minutes for the load average to fall below 1.5 (default 30; smoke 0)
  --list             list the entries and exit
  --help, -h         this text`;

/** parseArgs, with a pointer to --help on what it refuses. */
function parseOrExplain<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new Error(
      `${err instanceof Error ? err.message.split(". ")[0] : String(err)} (--help lists the options)`,
    );
  }
}

/** @throws Error naming the option, for an unknown option or a bad value. */
export function readOptions(
  argv: readonly string[],
  own: readonly string[] = [],
): DriverOptions & { list: boolean; help: boolean } {
  const { values } = parseOrExplain({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      smoke: { type: "boolean" },
      only: { type: "string" },
      runs: { type: "string" },
      "wait-quiet": { type: "string" },
      list: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      ...Object.fromEntries(own.map((name) => [name, { type: "string" as const }])),
    },
  });
  const smoke = values.smoke === true;
  const runs = Number(values.runs ?? (smoke ? 1 : 3));
  const wait = Number(values["wait-quiet"] ?? (smoke ? 0 : 30));
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs ${values.runs}: give a whole number of runs, at least 1`);
  if (!Number.isFinite(wait) || wait < 0)
    throw new Error(`--wait-quiet ${values["wait-quiet"]}: give minutes, 0 or more`);
  return {
    smoke,
    runs,
    waitQuietMinutes: wait,
    only: values.only?.split(",").map((s) => s.trim()),
    list: values.list === true,
    help: values.help === true,
    options: Object.fromEntries(
      own.map((name) => [
        name,
        (values as Record<string, string | boolean | undefined>)[name] as string | undefined,
      ]),
    ),
  };
}

const say = (line: string): void => void process.stderr.write(`${line}\n`);

/** Bounds on one entry: a hung emulator must fail the run, not stall it forever. */
const ENTRY_BOUND_MS = 60 * 60_000;
const SMOKE_ENTRY_BOUND_MS = 5 * 60_000;

/**
 * `work`, or an error after `ms`. The caller then kills the entry's processes, and the next
 * entry starts on fresh emulators.
 */
async function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(
        () => reject(new Error(`${what} did not finish within ${ms / 60_000} min`)),
        ms,
      )),
  );
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `entries` as the options select; resolves with the process exit code. */
export async function drive(
  what: string,
  entries: readonly Entry[],
  argv: readonly string[],
  command: Command,
): Promise<number> {
  const options = readOptions(argv, command.options);
  if (options.help) {
    console.log(`${command.usage}\n\n${SHARED_HELP}`);
    return 0;
  }
  if (options.list) {
    for (const entry of entries) console.log(entry.name);
    return 0;
  }
  const unknown = (options.only ?? []).filter((name) => !entries.some((e) => e.name === name));
  if (unknown.length > 0)
    throw new Error(
      `--only: no ${what} entry named ${unknown.join(", ")}; there are ${entries.map((e) => e.name).join(", ")}`,
    );
  const selected = entries.filter(
    (e) => options.only === undefined || options.only.includes(e.name),
  );
  if (!options.smoke && options.runs < 3)
    say(`note: ${options.runs} run(s) per figure; recorded results should have at least 3`);

  const quiet =
    options.waitQuietMinutes > 0
      ? await waitForQuiet(options.waitQuietMinutes * 60_000, say)
      : { quiet: false, load: 0 };
  let failures = 0;
  let emulators: BenchEmulators | undefined;
  const interrupted = (): void => {
    say(`${what}: interrupted; stopping the emulators and the measured processes`);
    void (emulators?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    for (const entry of selected) {
      if (entry.standalone !== undefined) {
        if (!(await entry.standalone(options, say))) failures++;
        continue;
      }
      if (emulators === undefined) emulators = await BenchEmulators.start();
      else await emulators.recycle();
      const ctx: BenchContext = {
        emulators,
        smoke: options.smoke,
        runs: options.runs,
        startedQuiet: quiet.quiet,
        options: options.options,
        say,
      };
      say(`\n${what}: ${entry.name}…`);
      try {
        const result = await bounded(
          entry.run!(ctx),
          options.smoke ? SMOKE_ENTRY_BOUND_MS : ENTRY_BOUND_MS,
          `${what} ${entry.name}`,
        );
        printResult(result);
        if (result.error !== undefined || result.targets.some((t) => t.correctness && !t.met))
          failures++;
        if (!options.smoke) say(`recorded ${writeResult(result)}`);
      } catch (err) {
        failures++;
        killAllChildren();
        say(
          `${what}: ${entry.name} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
      }
    }
  } finally {
    await emulators?.stop();
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
  }
  if (!options.smoke) updateReadme();
  say(
    failures === 0
      ? `\n${what}: done`
      : `\n${what}: ${failures} of ${selected.length} failed or missed a correctness target`,
  );
  return failures === 0 ? 0 : 1;
}
