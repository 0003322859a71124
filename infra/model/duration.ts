/**
 * Durations in the declaration are typed strings ("10s", "10m", "7d"), converted to
 * seconds here and nowhere else, so every interpreter reads them the same way.
 */

/** s = seconds, m = minutes, h = hours, d = days. */
export type DurationUnit = "s" | "m" | "h" | "d";

/** A whole number followed by a unit, e.g. `"10s"`, `"10m"`, `"7d"`. */
export type Duration = `${number}${DurationUnit}`;

const secondsPerUnit: Record<DurationUnit, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const durationPattern = /^(\d+)(s|m|h|d)$/;

/** Thrown for a string that is not a {@link Duration}; the message shows the expected form. */
export class DurationError extends Error {
  override readonly name = "DurationError";
  constructor(readonly value: string) {
    super(
      `"${value}" is not a duration: write a whole number and a unit s, m, h or d, e.g. "10s", "10m", "7d"`,
    );
  }
}

/** The number of seconds a {@link Duration} stands for. */
export function toSeconds(duration: Duration | string): number {
  const match = durationPattern.exec(duration);
  if (!match) throw new DurationError(duration);
  return Number(match[1]) * secondsPerUnit[match[2] as DurationUnit];
}

/** Seconds as the protobuf Duration JSON form Google APIs take, e.g. 600 → `"600s"`. */
export function toProtoDuration(seconds: number): string {
  return `${seconds}s`;
}

/** A protobuf Duration as the Google clients return it: seconds as a number, string or Long. */
export interface ProtoDuration {
  seconds?: number | string | null | { toString(): string };
  nanos?: number | null;
}

/** The seconds a protobuf Duration holds (0 when absent). */
export function protoDurationSeconds(duration: ProtoDuration | null | undefined): number {
  return Number(duration?.seconds ?? 0) + (duration?.nanos ?? 0) / 1e9;
}
