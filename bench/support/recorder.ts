/**
 * What a measured child process (the runtime worker, the baseline consumer) reports to the
 * driver. While it runs: one progress line on stdout every BENCH_PROGRESS_MS, tagged so it
 * stands apart from the runtime's JSON log lines. When it stops: its samples (handler
 * latencies, and each event's completion time when BENCH_RECORD_COMPLETIONS=1) in the file
 * BENCH_TIMINGS_FILE names. Counting happens in the child, so the driver's own work never
 * slows the measured process down.
 */
import { writeFileSync } from "node:fs";

export const PROGRESS_TAG = "bench-progress";

/** Delivery outcomes as the runtime names them (outcome.ts), plus the baseline's. */
export type Result = "handled" | "duplicate" | "retry" | "dead-lettered" | "skipped";

/** One progress line. Times are epoch milliseconds. */
export interface Progress {
  t: number;
  received: number;
  handled: number;
  duplicate: number;
  retry: number;
  deadLettered: number;
  skipped: number;
  inFlight: number;
  rssMb: number;
  firstReceivedAt: number | null;
  lastHandledAt: number | null;
}

/** The file a child writes when it stops. */
export interface Timings {
  /** Receipt-to-outcome time of each handled delivery, in milliseconds. */
  latenciesMs: number[];
  /** Epoch milliseconds at which each event id was handled (only with BENCH_RECORD_COMPLETIONS=1). */
  completions: Record<string, number>;
}

/** Epoch milliseconds with sub-millisecond resolution. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function parseProgress(line: string): Progress | undefined {
  if (!line.startsWith(`{"${PROGRESS_TAG}"`)) return undefined;
  return (JSON.parse(line) as { [PROGRESS_TAG]: Progress })[PROGRESS_TAG];
}

export class Recorder {
  private readonly counts = {
    received: 0,
    handled: 0,
    duplicate: 0,
    retry: 0,
    deadLettered: 0,
    skipped: 0,
  };
  private inFlight = 0;
  private firstReceivedAt: number | null = null;
  private lastHandledAt: number | null = null;
  private readonly latencies: number[] = [];
  private readonly completions: Record<string, number> = {};
  private readonly recordCompletions = process.env["BENCH_RECORD_COMPLETIONS"] === "1";

  /** Call on receipt; returns the start time to pass to {@link done}. */
  received(): number {
    const t = now();
    this.counts.received++;
    this.inFlight++;
    this.firstReceivedAt ??= t;
    return t;
  }

  done(started: number, result: Result, eventId: string | undefined): void {
    const t = now();
    this.inFlight--;
    this.counts[result === "dead-lettered" ? "deadLettered" : result]++;
    if (result !== "handled") return;
    this.lastHandledAt = t;
    this.latencies.push(t - started);
    if (this.recordCompletions && eventId !== undefined) this.completions[eventId] = t;
  }

  progress(): Progress {
    return {
      t: now(),
      ...this.counts,
      inFlight: this.inFlight,
      rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
      firstReceivedAt: this.firstReceivedAt,
      lastHandledAt: this.lastHandledAt,
    };
  }

  /** Prints a progress line every BENCH_PROGRESS_MS (default 250) without keeping the process alive. */
  report(): void {
    const every = Number(process.env["BENCH_PROGRESS_MS"] ?? 250);
    const print = (): void =>
      void process.stdout.write(`${JSON.stringify({ [PROGRESS_TAG]: this.progress() })}\n`);
    print();
    setInterval(print, every).unref();
  }

  /** Prints a last progress line and writes the samples to BENCH_TIMINGS_FILE, when set. */
  finish(): void {
    process.stdout.write(`${JSON.stringify({ [PROGRESS_TAG]: this.progress() })}\n`);
    const file = process.env["BENCH_TIMINGS_FILE"];
    if (file)
      writeFileSync(
        file,
        JSON.stringify({
          latenciesMs: this.latencies,
          completions: this.completions,
        } satisfies Timings),
      );
  }
}

/**
 * Exits when the driver that started this process is gone (killed, crashed), so no
 * measured process outlives its run.
 */
export function exitWithParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      process.exit(3);
    }
    if (process.ppid !== parent) process.exit(3);
  }, 1000).unref();
}
