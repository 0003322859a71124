/**
 * What every benchmark and fault scenario gets from the runner: the emulators, whether this
 * is a smoke run (small sizes, one run, nothing recorded), how many runs to make, and a way
 * to say what it is doing. Plus the bookkeeping they all share: a fresh project per run,
 * deleted afterwards, and the result's machine and load fields.
 */
import { load1, machineInfo } from "./machine";
import type { BenchEmulators, BenchProject } from "./emulators";
import type { BenchResult } from "./report";

export interface BenchContext {
  emulators: BenchEmulators;
  smoke: boolean;
  /** Runs per figure (at least 3 when recording; 1 in a smoke run). */
  runs: number;
  /** Whether the load was below the quiet threshold when the run started. */
  startedQuiet: boolean;
  /** The command's own options (faults: `scenarios`), by name. */
  options: Readonly<Record<string, string | undefined>>;
  say(line: string): void;
}

/** Runs `work` in a fresh project, deleted from both emulators afterwards. */
export async function inProject<T>(
  ctx: BenchContext,
  label: string,
  work: (project: BenchProject) => Promise<T>,
): Promise<T> {
  const project = ctx.emulators.project(label);
  try {
    return await work(project);
  } finally {
    await project.dispose();
  }
}

/** Starts a result: call at the benchmark's start, finish with {@link complete}. */
export function begin(): { loadStart: number } {
  return { loadStart: load1() };
}

/** Completes a result with the date, machine and load at start and end. */
export function complete(
  ctx: BenchContext,
  started: { loadStart: number },
  result: Omit<BenchResult, "date" | "smoke" | "machine" | "load">,
): BenchResult {
  return {
    ...result,
    date: new Date().toISOString().slice(0, 10),
    smoke: ctx.smoke,
    machine: machineInfo(),
    load: { start: started.loadStart, end: load1(), startedLoaded: !ctx.startedQuiet },
  };
}

/** Alternates baseline and candidate runs, so load that drifts during a benchmark weighs on both alike. */
export async function interleaved<B, C>(
  runs: number,
  baseline: (run: number) => Promise<B>,
  candidate: (run: number) => Promise<C>,
): Promise<{ baseline: B[]; candidate: C[] }> {
  const out = { baseline: [] as B[], candidate: [] as C[] };
  for (let run = 0; run < runs; run++) {
    out.baseline.push(await baseline(run));
    out.candidate.push(await candidate(run));
  }
  return out;
}
