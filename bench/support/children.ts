/**
 * The measured processes, started from the driver: the runtime worker, the baseline
 * consumer, the gateways and the local environment each run in a child process of their
 * own (as they would in their pods), so the driver's load generation never shares their
 * event loop. A child says it is ready with one `{"bench-ready": …}` line, reports progress
 * (recorder.ts), and is stopped with SIGTERM (drain) or SIGKILL (crash). Every child is
 * killed when the driver exits, and exits by itself when the driver is gone.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseProgress, type Progress, type Timings } from "./recorder";

/** Repository root: children run from it, so `--import tsx` and relative paths resolve. */
export const REPO_ROOT = join(__dirname, "..", "..");

export const READY_TAG = "bench-ready";

/** Prints the ready line (in a child). */
export function announceReady(details: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ [READY_TAG]: details })}\n`);
}

export interface ChildOptions {
  /** For messages: "worker", "baseline", … */
  name: string;
  /** Script path from the repository root, run with tsx. */
  script: string;
  env: Record<string, string>;
  /** Which non-progress stdout lines to keep (log lines); default none. At most 5 000 are kept. */
  keep?: (line: string) => boolean;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** SIGKILLs every child still running: after an entry that did not finish in its bound. */
export function killAllChildren(): void {
  for (const child of running) child.kill("SIGKILL");
}

let sequence = 0;

export class Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<Exit>;
  /** Every progress line so far. */
  readonly history: Progress[] = [];
  readonly lines: string[] = [];
  ready: Promise<Record<string, unknown>>;
  private stderr = "";
  private hasExited = false;
  private readonly timingsFile: string;

  constructor(options: ChildOptions) {
    this.name = options.name;
    this.timingsFile = join(
      tmpdir(),
      `eventline-bench-${process.pid}-${++sequence}-${options.name}.json`,
    );
    this.process = spawn(process.execPath, ["--import", "tsx", options.script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env, BENCH_TIMINGS_FILE: this.timingsFile },
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(this.process);
    let resolveReady: (details: Record<string, unknown>) => void = () => {};
    let rejectReady: (err: Error) => void = () => {};
    this.ready = new Promise(
      (resolve, reject) => ((resolveReady = resolve), (rejectReady = reject)),
    );
    createInterface({ input: this.process.stdout! }).on("line", (line) => {
      const progress = parseProgress(line);
      if (progress !== undefined) {
        this.history.push(progress);
        return;
      }
      if (line.startsWith(`{"${READY_TAG}"`)) {
        resolveReady((JSON.parse(line) as Record<string, Record<string, unknown>>)[READY_TAG]!);
        return;
      }
      if (options.keep?.(line) && this.lines.length < 5000) this.lines.push(line);
    });
    this.process.stderr!.on("data", (chunk: Buffer) => {
      if (this.stderr.length < 20_000) this.stderr += chunk.toString();
    });
    this.exited = new Promise<Exit>((resolve) =>
      this.process.once("exit", (code, signal) => {
        this.hasExited = true;
        running.delete(this.process);
        rejectReady(
          new Error(
            `${this.name} exited (code ${code}, signal ${signal}) before it was ready:\n${this.stderr.slice(-3000)}`,
          ),
        );
        resolve({ code, signal });
      }),
    );
    // A failed start is reported by whoever awaits `ready`; nobody may be waiting yet.
    this.ready.catch(() => undefined);
  }

  get pid(): number {
    return this.process.pid!;
  }

  get alive(): boolean {
    return !this.hasExited;
  }

  get latest(): Progress | undefined {
    return this.history.at(-1);
  }

  /** What the child wrote on stderr (its first 20 000 characters). */
  get errorOutput(): string {
    return this.stderr;
  }

  /** Polls the progress until `done` holds. @throws after `timeoutMs`, or when the child exits first. */
  async until(done: (p: Progress) => boolean, what: string, timeoutMs: number): Promise<Progress> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = this.latest;
      if (p !== undefined && done(p)) return p;
      if (!this.alive)
        throw new Error(
          `${this.name} exited while waiting for ${what}:\n${this.stderr.slice(-3000)}`,
        );
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what} (${this.name}: ${JSON.stringify(p)})`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** SIGTERM, then SIGKILL after `boundMs`; resolves with how it exited. */
  async stop(boundMs = 45_000): Promise<Exit> {
    if (!this.alive) return this.exited;
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), boundMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** SIGKILL, as a crash or an OOM kill would. */
  async kill(): Promise<Exit> {
    if (this.alive) this.process.kill("SIGKILL");
    return this.exited;
  }

  /** The samples the child wrote when it stopped (empty when it was killed). */
  timings(): Timings {
    if (!existsSync(this.timingsFile)) return { latenciesMs: [], completions: {} };
    const timings = JSON.parse(readFileSync(this.timingsFile, "utf8")) as Timings;
    rmSync(this.timingsFile, { force: true });
    return timings;
  }
}

export function startChild(options: ChildOptions): Child {
  return new Child(options);
}
