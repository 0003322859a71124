/**
 * Property-based fuzzing of the push host (fast-check, seeded): random push bodies POSTed to a
 * real push host against the emulators. A body that is not a Pub/Sub push request is a 400; a
 * push request whose message is malformed is dead-lettered and acked (204), except one whose
 * event type the declaration lacks, which is given back (422) until its last attempt, in case an
 * update of the consumer declares it; nothing answers 5xx and nothing leaves an unhandled
 * rejection.
 */
import { system } from "../../infra/system";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { capabilityChecks } from "../../handlers/adapters/environment";
import { launch, type RunningRuntime } from "../../handlers/runtime/launcher";
import { createLogger } from "../../handlers/runtime/logger";
import { provision } from "../../tools/local/provision";
import { useEmulators } from "../support/emulators";
import { shareRequested, subscriptionOf } from "../support/pubsub";
import { testRegistry } from "../support/test-handlers";

const SEED = 20_261_207;
const ANSWER_TIMEOUT_MS = 10_000;
const emulators = useEmulators();
let host: RunningRuntime;
const rejections: unknown[] = [];
const onRejection = (reason: unknown): void => void rejections.push(reason);

beforeAll(async () => {
  process.on("unhandledRejection", onRejection);
  await provision(emulators.pubsub, eventTypesFor("local").system, { consumers: ["sms-worker"] });
  host = await launch({
    system,
    capabilityChecks,
    registry: testRegistry,
    env: emulators.runtimeEnv({
      HANDLER: "sms-worker",
      PORT: "0",
      MODE: "local",
      PUSH_VERIFY: "off",
    }),
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
  });
}, 60_000);

afterAll(async () => {
  await host?.stop();
  process.off("unhandledRejection", onRejection);
}, 30_000);

async function push(body: Buffer): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${host.port}/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
  });
  await response.arrayBuffer();
  return response.status;
}

const sms = shareRequested({}, { channel: "sms" });
const hostileKeys = fc.constantFrom(
  "__proto__",
  "constructor",
  "ce-id",
  "ce-type",
  "ce-schemaurl",
  "ce-time",
  "content-type",
  "ce-channel",
);
/** Mostly what Pub/Sub sends, sometimes anything at all. */
const mostly = <T>(usual: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: usual, weight: 9 }, { arbitrary: fc.anything(), weight: 1 });
const attributes = mostly(
  fc.oneof(
    fc.constant(sms.attributes),
    fc
      .dictionary(hostileKeys, fc.string({ unit: "binary", maxLength: 40 }), { maxKeys: 3 })
      .map((changes) => ({ ...sms.attributes, ...changes })),
    fc.dictionary(fc.oneof(hostileKeys, fc.string({ maxLength: 12 })), fc.string(), {
      maxKeys: 6,
    }),
  ),
);
const data = mostly(
  fc.oneof(
    fc.constant(sms.data.toString("base64")),
    fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes).toString("base64")),
    fc.string({ maxLength: 40 }),
  ),
);
const pushShaped = fc
  .record(
    {
      data,
      attributes,
      messageId: mostly(fc.uuid()),
      orderingKey: mostly(fc.string({ maxLength: 10 })),
      subscription: mostly(
        fc.oneof(
          {
            arbitrary: fc.constant(
              `projects/${emulators.projectId}/subscriptions/${subscriptionOf("sms-worker")}`,
            ),
            weight: 4,
          },
          { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
        ),
      ),
      deliveryAttempt: mostly(fc.integer({ min: 0, max: 10 })),
    },
    { requiredKeys: ["messageId"] },
  )
  .map(({ subscription, deliveryAttempt, ...message }) => ({
    message,
    ...(subscription !== undefined && { subscription }),
    ...(deliveryAttempt !== undefined && { deliveryAttempt }),
  }));
const bodies = fc.oneof(
  {
    arbitrary: pushShaped.map((body) => Buffer.from(JSON.stringify(body) ?? "null")),
    weight: 5,
  },
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value))),
  pushShaped.chain((body) => {
    const text = JSON.stringify(body) ?? "";
    return fc.nat(text.length).map((cut) => Buffer.from(text.slice(0, cut)));
  }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(
    Buffer.from('{"message":{"messageId":"1","messageId":"2"}}'),
    Buffer.from('{"message":{"messageId":"1","attributes":{"__proto__":"x"}}}'),
    Buffer.from("[".repeat(10_000)),
  ),
);

describe("fuzzing the push host", { timeout: 60_000 }, () => {
  it("answers random push bodies with 204, 400 or 422, never a 5xx, never an unhandled rejection", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const status = await push(body);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect([204, 400, 422], `${status} for ${body.toString().slice(0, 300)}`).toContain(status);
      }),
      { seed: SEED, numRuns: 1500 },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (process.env["FUZZ_REPORT"] !== undefined)
      console.log(JSON.stringify(Object.fromEntries(statuses)));
    expect(rejections).toEqual([]);
    // Both doors were reached: bodies refused, and push requests processed and acked.
    expect(statuses.get(204) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
  });
});
