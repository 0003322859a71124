import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { EventMeta } from "../../handlers/runtime/codec";
import { createLogger, eventLogger, traceFields } from "../../handlers/runtime/logger";

function capture(): { lines: Record<string, unknown>[]; destination: Writable } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n"))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

const meta: EventMeta = {
  id: "evt-1",
  type: "com.eventline.share.requested",
  source: "//eventline/gateway",
  specversion: "1.0",
  time: "2026-01-01T00:00:00.000Z",
  correlationId: "flow-1",
  causationId: "evt-0",
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  datacontenttype: "application/protobuf",
  extensions: {},
};

describe("the logger", () => {
  it.each([
    ["debug", "DEBUG"],
    ["info", "INFO"],
    ["warn", "WARNING"],
    ["error", "ERROR"],
    ["fatal", "CRITICAL"],
  ] as const)(
    "writes %s lines with Cloud Logging severity %s and the text in message",
    (level, severity) => {
      const { lines, destination } = capture();
      createLogger({ level: "debug", destination })[level]("hello");
      expect(lines[0]).toMatchObject({ severity, message: "hello" });
      expect(lines[0]).not.toHaveProperty("level");
      expect(Date.parse(String(lines[0]!["time"]))).not.toBeNaN();
    },
  );

  it("puts the event's ids and its trace, in Cloud Logging's form, on every line about the event", () => {
    const { lines, destination } = capture();
    const log = eventLogger(
      createLogger({ destination, projectId: "my-project" }),
      meta,
      "my-project",
      { consumer: "email-worker" },
    );
    log.info("one");
    log.child({ step: 2 }).warn("two");
    for (const line of lines) {
      expect(line).toMatchObject({
        eventId: "evt-1",
        correlationId: "flow-1",
        causationId: "evt-0",
        consumer: "email-worker",
        "logging.googleapis.com/trace":
          "projects/my-project/traces/0af7651916cd43dd8448eb211c80319c",
        "logging.googleapis.com/spanId": "b7ad6b7169203331",
        "logging.googleapis.com/trace_sampled": true,
      });
    }
    expect(lines).toHaveLength(2);
  });

  it("adds no trace fields without a valid traceparent or a project", () => {
    expect(traceFields(undefined, "p")).toEqual({});
    expect(traceFields("not-a-traceparent", "p")).toEqual({});
    expect(traceFields(meta.traceparent, undefined)).toEqual({});
  });
});
