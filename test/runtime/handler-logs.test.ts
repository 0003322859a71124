/**
 * A handler's own lines (ctx.log) at their own level: `npm start` keeps the runtime's chatter
 * at warn and shows what handlers log at info.
 */
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { DeliveryProcessor } from "../../handlers/runtime/delivery";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { OutsideCalls } from "../../handlers/runtime/resilience";
import { CapturingPublisher } from "../../handlers/testing/run-handler";
import { useEmulators } from "../support/emulators";
import { shareRequested } from "../support/pubsub";
import { testEmailSender } from "../support/test-handlers";

const emulators = useEmulators({ pubsub: false });
const eventTypes = eventTypesFor("local");
const consumer = eventTypes.system.consumers.find((c) => c.name === "email-worker")!;

async function linesOf(handlerLogLevel: string | undefined): Promise<string[]> {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: "warn" }, destination);
  const processor = new DeliveryProcessor({
    consumer,
    handler: testEmailSender,
    eventTypes,
    firestore: emulators.firestore,
    publisher: new CapturingPublisher(),
    metrics: new RuntimeMetrics(),
    logger,
    outsideCalls: new OutsideCalls(logger),
    ...(handlerLogLevel !== undefined && { handlerLogLevel }),
  });
  const message = shareRequested({}, { id: randomUUID() });
  const outcome = await processor.process({
    messageId: randomUUID(),
    data: message.data,
    attributes: message.attributes,
    deliveryAttempt: 1,
  });
  expect(outcome.result).toBe("handled");
  return lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
}

describe("a handler's log lines", () => {
  it("show at the handler's level while the runtime's stay at theirs", async () => {
    // The test email sender logs "invitation sent" at info; the runtime logs "event handled" at debug.
    expect(await linesOf("info")).toEqual(["invitation sent"]);
  });

  it("follow the runtime's level when no level of their own is given", async () => {
    expect(await linesOf(undefined)).toEqual([]);
  });
});
