/**
 * What a fault scenario is and what it reports, and the pieces every scenario uses: the
 * email-worker as declared (maxMessages 10, ack deadline 600 s, 5 delivery attempts, retry
 * backoff 10 s–600 s; smoke runs shorten the backoff to 0.1–0.5 s so poison events finish
 * quickly), run by a supervisor that restarts
 * it when it exits, as Kubernetes restarts a pod. Every scenario reports events sent, applied, applied twice and lost, and lists the
 * checks it failed; an empty list is a pass.
 */
import type { BenchContext } from "../support/context";
import type { BenchProject } from "../support/emulators";
import { startChild, type Child } from "../support/children";
import { WORKER_CONSUMER } from "../support/events";
import { ledgerOf, type Ledger } from "../support/ledger";

export interface ScenarioOutcome {
  sent: number;
  applied: number;
  duplicatesApplied: number;
  lost: number;
  /** "n/a", or how many of those expected reached the parking subscription, with their reasons. */
  deadLettered: string;
  /** What happened, in a line. */
  summary: string;
  /** Checks that failed; empty means the scenario passed. */
  problems: string[];
  /** Extra table rows (the bad-input cases), under the scenario's row. */
  cases?: { name: string; outcome: string; ok: boolean }[];
  raw: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  title: string;
  /** What passing means, when more than the default "0 lost, 0 applied twice, checks pass". */
  passes?: string;
  /** Whether `--smoke` runs it (smoke runs must finish in about a minute). */
  inSmoke: boolean;
  run(ctx: BenchContext, project: BenchProject): Promise<ScenarioOutcome>;
}

/** Provisions the email-worker (and `more`) with the retry the run calls for (see the file comment). */
export async function provisionWorker(
  ctx: BenchContext,
  project: BenchProject,
  more: readonly string[] = [],
): Promise<void> {
  await project.provision(
    [WORKER_CONSUMER, ...more],
    ctx.smoke ? { retry: { minBackoffSeconds: 0.1, maxBackoffSeconds: 0.5 } } : {},
  );
}

/** Keeps one worker process running: restarts it when it exits, unless stopped through here. */
export class Supervisor {
  current: Child;
  /** Every process it started, in order. */
  readonly started: Child[] = [];
  /** Exits it did not ask for, with their codes. */
  readonly unexpectedExits: (number | null)[] = [];
  private stopping = false;
  private intentional = new WeakSet<Child>();

  constructor(
    private readonly project: BenchProject,
    private readonly env: Record<string, string> = {},
    private readonly keep?: (line: string) => boolean,
  ) {
    this.current = this.spawn();
  }

  /** SIGKILLs the current worker and starts the next at once. */
  async crash(): Promise<void> {
    const victim = this.current;
    this.intentional.add(victim);
    await victim.kill();
    this.current = this.spawn();
  }

  /** SIGTERMs the current worker, waits for it (bounded by the drain), starts the next; resolves with the exit and how long it took. */
  async terminate(): Promise<{ code: number | null; ms: number; inFlight: number }> {
    const victim = this.current;
    this.intentional.add(victim);
    const inFlight = victim.latest?.inFlight ?? 0;
    const started = performance.now();
    const exit = await victim.stop();
    const ms = performance.now() - started;
    this.current = this.spawn();
    return { code: exit.code, ms, inFlight };
  }

  /** Stops the current worker for good. */
  async stop(): Promise<number | null> {
    this.stopping = true;
    this.intentional.add(this.current);
    return (await this.current.stop()).code;
  }

  /** Lines kept from every process (see `keep`). */
  get lines(): string[] {
    return this.started.flatMap((child) => child.lines);
  }

  /** Sums a progress figure over every process, from each one's last report. */
  total(figure: "received" | "handled" | "duplicate" | "retry" | "deadLettered"): number {
    return this.started.reduce((sum, child) => sum + (child.latest?.[figure] ?? 0), 0);
  }

  private spawn(): Child {
    const child = startChild({
      name: `worker ${this.started.length + 1}`,
      script: "bench/support/worker.ts",
      env: this.project.env({ HANDLER: WORKER_CONSUMER, ...this.env }),
      ...(this.keep && { keep: this.keep }),
    });
    this.started.push(child);
    void child.exited.then(async (exit) => {
      if (this.stopping || this.intentional.has(child)) return;
      this.unexpectedExits.push(exit.code);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (!this.stopping && this.current === child) this.current = this.spawn();
    });
    return child;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Stops the workers and counts what became of `sent`: the ledger, and the problems any
 * scenario with a steady flow checks (lost, applied twice, publishes that failed, workers
 * that exited on their own).
 */
export async function reckon(
  project: BenchProject,
  workers: Supervisor,
  sent: readonly string[],
  failedPublishes: number,
): Promise<{ ledger: Ledger; problems: string[] }> {
  await workers.stop();
  const ledger = await ledgerOf(project.firestore, sent);
  const problems = exactlyOnceProblems(ledger);
  if (failedPublishes > 0) problems.push(`${failedPublishes} publishes failed`);
  if (workers.unexpectedExits.length > 0)
    problems.push(`workers exited by themselves: codes ${workers.unexpectedExits.join(", ")}`);
  return { ledger, problems };
}

/** The standard checks: nothing lost, nothing applied twice. */
export function exactlyOnceProblems(ledger: {
  lost: number;
  duplicatesApplied: number;
  lostSample: string[];
}): string[] {
  const problems: string[] = [];
  if (ledger.lost > 0)
    problems.push(`${ledger.lost} events lost (e.g. ${ledger.lostSample.slice(0, 3).join(", ")})`);
  if (ledger.duplicatesApplied > 0)
    problems.push(`${ledger.duplicatesApplied} applications beyond the first`);
  return problems;
}
