/**
 * Progress for long work: a cli-progress bar on stderr when it is a terminal; when it is not
 * (CI, a pipe) nothing but the final summary the command prints itself, since a bar redrawn
 * into a log file is noise. With `rate`, the bar also shows how many a second since it started
 * and the time left at that pace.
 */
import { Presets, SingleBar } from "cli-progress";

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Show the rate since the first update and the time left at it. Default false. */
  rate?: boolean;
}

/** "1:05:09", "4:07", "0:09": the time left, as a person reads it. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const two = (n: number): string => String(n).padStart(2, "0");
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  return hours > 0 ? `${hours}:${two(minutes)}:${two(s % 60)}` : `${minutes}:${two(s % 60)}`;
}

/** What the rate part of the bar says, given the progress since the first update. */
export function rateAndEta(
  done: number,
  total: number,
  first: { done: number; at: number },
  now: number,
): { rate: string; eta: string } {
  const seconds = (now - first.at) / 1000;
  const perSecond = seconds > 0 ? (done - first.done) / seconds : 0;
  return {
    rate: String(Math.round(perSecond)),
    eta: perSecond > 0 ? formatDuration((total - done) / perSecond) : "?",
  };
}

export function progressBar(label: string, options: ProgressOptions = {}): Progress {
  if (process.stderr.isTTY !== true) return { update: () => {}, stop: () => {} };
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {value}/{total}${options.rate === true ? " {rate}/s ETA {left}" : ""}`,
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  let first: { done: number; at: number } | undefined;
  return {
    update(done, total) {
      const now = performance.now();
      if (first === undefined) {
        first = { done, at: now };
        bar.start(total, done, { rate: "0", left: "?" });
      }
      const { rate, eta } = rateAndEta(done, total, first, now);
      bar.setTotal(total);
      bar.update(done, { rate, left: eta });
    },
    stop() {
      if (first !== undefined) bar.stop();
    },
  };
}
