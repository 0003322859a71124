/**
 * The machine a result was measured on, and its load. These 2-core machines are shared, so
 * a number means little without the load average beside it: every result records the
 * 1-minute load at its start and end, and a recorded run first waits (bounded) for the load
 * to fall below {@link QUIET_LOAD}.
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { round } from "./stats";

/** The 1-minute load average under which results are recorded (the rule). */
export const QUIET_LOAD = 1.5;

export interface MachineInfo {
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
}

export interface LoadRecord {
  start: number;
  end: number;
  /** True when the run started although the load had not fallen below {@link QUIET_LOAD}. */
  startedLoaded: boolean;
}

export function load1(): number {
  return round(loadavg()[0]!, 2);
}

export function machineInfo(): MachineInfo {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: round(totalmem() / 2 ** 30, 1),
  };
}

/**
 * Waits until the 1-minute load is below {@link QUIET_LOAD}, checking every 15 s, for at
 * most `maxWaitMs`. Resolves with the load then and whether it was quiet; never throws, so a
 * machine that stays busy still gets measured, with the load on record.
 */
export async function waitForQuiet(
  maxWaitMs: number,
  say: (line: string) => void,
): Promise<{ load: number; quiet: boolean }> {
  const deadline = Date.now() + maxWaitMs;
  let announced = false;
  for (;;) {
    const load = load1();
    if (load < QUIET_LOAD) return { load, quiet: true };
    if (Date.now() >= deadline) {
      say(
        `load average ${load} is still over ${QUIET_LOAD}; measuring anyway (recorded as loaded)`,
      );
      return { load, quiet: false };
    }
    if (!announced)
      say(
        `load average ${load}: waiting up to ${Math.round((deadline - Date.now()) / 60_000)} min for it to fall below ${QUIET_LOAD}…`,
      );
    announced = true;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(15_000, Math.max(0, deadline - Date.now()))),
    );
  }
}

/**
 * CPU time (user + system) a process has used so far, in milliseconds, from Linux's
 * `/proc/<pid>/stat` (clock ticks of 10 ms); undefined where there is no /proc. The direct cost
 * of work a process does, unlike its latency, which on a shared 2-core machine also follows
 * what the other processes need.
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The fields after the command name (which may hold spaces), from field 3 (state) on.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
