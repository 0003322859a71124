/**
 * RFC 3339 times (CloudEvents' ce-time) to protobuf Timestamps and back, without losing
 * sub-millisecond digits: the stored envelope and the proto3 JSON mapping both convert.
 */
import { timestampProblem } from "./cloudevents";
import { DecodeError } from "./errors";

/**
 * RFC 3339 → protobuf Timestamp, keeping sub-millisecond digits.
 * @throws DecodeError("malformed-attribute") when it is not a valid RFC 3339 date-time (cloudevents.ts).
 */
export function timestampFromRfc3339(time: string): { seconds: number; nanos: number } {
  const problem = timestampProblem(time);
  const millis = problem === undefined ? Date.parse(time) : Number.NaN;
  if (Number.isNaN(millis))
    throw new DecodeError(
      "malformed-attribute",
      `ce-time ${time.slice(0, 40)} ${problem ?? "is not an RFC 3339 timestamp"}`,
    );
  const fraction = /\.(\d+)/.exec(time)?.[1] ?? "";
  const nanos = Number((fraction + "000000000").slice(0, 9));
  return { seconds: Math.floor(millis / 1000), nanos };
}

/** protobuf Timestamp → RFC 3339 in UTC, with milliseconds, or nanoseconds when it has them. */
export function rfc3339FromTimestamp(timestamp: {
  seconds?: number | null;
  nanos?: number | null;
}): string {
  const seconds = Number(timestamp.seconds ?? 0);
  const nanos = timestamp.nanos ?? 0;
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  const fraction =
    nanos % 1_000_000 === 0
      ? String(nanos / 1_000_000).padStart(3, "0")
      : String(nanos).padStart(9, "0");
  return `${whole}.${fraction}Z`;
}
