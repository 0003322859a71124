/**
 * Property-based fuzzing of the gateway (fast-check, seeded): random headers and bodies POSTed
 * to a real gateway server on 127.0.0.1, publishing to the Pub/Sub emulator. Never a 5xx, every
 * 4xx carries a reason code, every 202 an id, and no request hangs.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { request as httpRequest, type Server } from "node:http";
import { PubSub } from "@google-cloud/pubsub";
import fc from "fast-check";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noAuthentication } from "../../handlers/gateway/admission";
import { EventGateway } from "../../handlers/gateway/gateway";
import { startGatewayServer } from "../../handlers/gateway/server";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec } from "../../handlers/runtime/codec";
import type { EventType } from "../../handlers/runtime/event-types";
import { toProto3Json } from "../../handlers/runtime/proto-json";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { PubSubPublisher } from "../../handlers/runtime/publisher";
import { startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import { samplePayloads } from "../../tools/samples/events";

const SEED = 20_261_207;
/** No answer within this long is a hang. */
const ANSWER_TIMEOUT_MS = 5_000;
const eventTypes = eventTypesFor("local");

let emulator: RunningEmulator;
let pubsub: PubSub;
let server: Server;
let port: number;

beforeAll(async () => {
  emulator = await startEmulator("pubsub");
  pubsub = new PubSub({
    projectId: "gateway-fuzz",
    apiEndpoint: emulator.host,
    emulatorMode: true,
  });
  for (const topic of eventTypes.system.topics) await pubsub.createTopic(topic.name);
  server = await startGatewayServer({
    gateway: new EventGateway(
      new EventCodec(eventTypes),
      new PubSubPublisher(pubsub, eventTypes, new RuntimeMetrics()),
    ),
    logger: pino({ level: "silent" }),
    authenticate: noAuthentication,
    producers: eventTypes.system.producers,
    eventTypes,
    port: 0,
  });
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await pubsub?.close();
  await emulator?.stop();
});

interface Answer {
  status: number;
  text: string;
}

function post(path: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        headers: { ...headers, "content-length": String(body.length) },
        timeout: ANSWER_TIMEOUT_MS,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on("timeout", () => {
      req.destroy();
      reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms: a hang`));
    });
    req.on("error", reject);
    req.end(body);
  });
}

// Header values node:http sends: visible ASCII and spaces inside.
const headerText = fc
  .string({ unit: "binary-ascii", maxLength: 60 })
  .map((s) => s.replace(/[^\x21-\x7e ]/g, "").trim());
const postableTypes = eventTypes
  .all()
  .filter((entry) => entry.producers.length > 0)
  .map((entry) => entry.type);
const sources = eventTypes.system.producers.flatMap((p) => p.sources);
const ceValues = fc.oneof(
  headerText,
  fc.constantFrom(
    "1.0",
    "0.3",
    ...postableTypes,
    ...sources,
    "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00+25:00",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "https://schemas.example.com/x",
    "",
  ),
);
const ceNames = fc.oneof(
  fc.constantFrom(
    "id",
    "source",
    "type",
    "specversion",
    "time",
    "subject",
    "traceparent",
    "dataschema",
    "schemaurl",
    "datacontenttype",
    "data",
    "correlationid",
    "causationid",
    "replayof",
    "channel",
    "__proto__",
    "constructor",
  ),
  fc.stringMatching(/^[a-z0-9_]{1,24}$/),
);
const binaryHeaders = fc
  .tuple(
    fc.constantFrom(...postableTypes),
    fc.constantFrom(...sources),
    fc.dictionary(ceNames, ceValues, { maxKeys: 6 }),
    fc.option(fc.constantFrom("application/json", "text/plain", "application/json; charset=utf-8")),
    fc.boolean(),
    fc.nat(100),
  )
  .map(([type, source, extra, contentType, withId, extensions]) => {
    const headers: Record<string, string> = {
      "ce-specversion": "1.0",
      "ce-type": type,
      "ce-source": source,
      ...(withId && { "ce-id": randomUUID() }),
    };
    if (contentType !== null) headers["content-type"] = contentType;
    for (const [name, value] of Object.entries(extra)) headers[`ce-${name}`] = value;
    if (extensions > 85) for (let i = 0; i < extensions; i++) headers[`ce-x${i}`] = "v";
    return headers;
  });
const structuredHeaders = fc.constantFrom(
  { "content-type": "application/cloudevents+json" },
  { "content-type": "application/cloudevents+json; charset=utf-8" },
);
const anyHeaders = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), headerText, {
  maxKeys: 5,
});

const hostileKeys = fc.constantFrom("__proto__", "constructor", "prototype", "budget", "userId");
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.jsonValue(),
    fc.dictionary(fc.oneof(hostileKeys, fc.string({ maxLength: 6 })), tie("value"), {
      maxKeys: 4,
    }),
  ),
}));
const attributeValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  jsonish.value,
);
const structuredBody = fc
  .tuple(
    fc.constantFrom(...postableTypes),
    fc.constantFrom(...sources),
    fc.option(fc.uuid()),
    fc.dictionary(fc.oneof(ceNames, fc.string({ maxLength: 10 })), attributeValue, {
      maxKeys: 5,
    }),
    jsonish.value,
  )
  .map(([type, source, id, extra, data]) =>
    JSON.stringify({
      specversion: "1.0",
      type,
      source,
      ...(id !== null && { id }),
      ...extra,
      data,
    }),
  );
/** Bodies: structured events, JSON with duplicate or hostile keys, broken JSON, raw bytes. */
const bodies = fc.oneof(
  structuredBody.map((text) => Buffer.from(text)),
  jsonish.value.map((value) => Buffer.from(JSON.stringify(value) ?? "null")),
  fc
    .tuple(hostileKeys, fc.jsonValue(), fc.jsonValue())
    .map(([key, a, b]) =>
      Buffer.from(`{"userId":"u","${key}":${JSON.stringify(a)},"${key}":${JSON.stringify(b)}}`),
    ),
  structuredBody.chain((text) => fc.nat(text.length).map((cut) => Buffer.from(text.slice(0, cut)))),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(
    Buffer.alloc(0),
    Buffer.from("[".repeat(5000)),
    Buffer.from(`{"userId":"${"x".repeat(1_100_000)}"}`),
  ),
);

/** A valid request for each type some producer posts: its sample payload, in either mode. */
const postable = eventTypes.system.producers.flatMap((producer) =>
  producer.publishes.map((type) => {
    const entry = eventTypes.get(type as EventType);
    const data = toProto3Json(
      entry.message,
      entry.message.fromObject(samplePayloads[type as EventType] as Record<string, unknown>),
    );
    return { type, source: producer.sources[0]!, data };
  }),
);
const validRequests = fc
  .tuple(
    fc.constantFrom(...postable),
    fc.boolean(),
    fc.dictionary(ceNames, ceValues, { maxKeys: 2 }),
  )
  .map(([{ type, source, data }, structured, extra]) => {
    const id = randomUUID();
    if (structured) {
      const event: Record<string, unknown> = { specversion: "1.0", type, source, id, data };
      for (const [name, value] of Object.entries(extra)) if (!(name in event)) event[name] = value;
      return {
        headers: { "content-type": "application/cloudevents+json" },
        body: Buffer.from(JSON.stringify(event)),
      };
    }
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-type": type,
      "ce-source": source,
      "ce-id": id,
    };
    for (const [name, value] of Object.entries(extra)) headers[`ce-${name}`] ??= value;
    return { headers, body: Buffer.from(JSON.stringify(data)) };
  });

/** Checks one answer: never 5xx; a refusal has a reason; an acceptance has an id. */
function check(answer: Answer): void {
  expect(answer.status, answer.text).toBeLessThan(500);
  const body = JSON.parse(answer.text) as { error?: string; reason?: string; id?: string };
  if (answer.status >= 400) {
    expect(body.reason, answer.text).toMatch(/^[a-z][a-z0-9-]+$/);
    expect(body.error, answer.text).toEqual(expect.any(String));
  } else {
    expect(answer.status, answer.text).toBe(202);
    expect(body.id).toEqual(expect.any(String));
  }
}

describe("fuzzing the gateway", { timeout: 60_000 }, () => {
  it("answers random requests with a 202 or a 4xx with a reason, never a 5xx, never hanging", async () => {
    const statuses = new Map<number, number>();
    const reasons = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(fc.oneof(binaryHeaders, structuredHeaders, anyHeaders), bodies),
          validRequests.map(({ headers, body }) => [headers, body] as const),
        ),
        fc.constantFrom("/v1/events", "/v1/events", "/v1/events", "/v1/shares"),
        async ([headers, body], path) => {
          const answer = await post(path, headers, body);
          const reason =
            answer.status >= 400 ? (JSON.parse(answer.text) as { reason?: string }).reason : "";
          const key = `${answer.status} ${reason ?? ""}`.trim();
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          reasons.set(key, (reasons.get(key) ?? 0) + 1);
          check(answer);
        },
      ),
      { seed: SEED, numRuns: 1500 },
    );
    if (process.env["FUZZ_REPORT"] !== undefined)
      console.log(JSON.stringify(Object.fromEntries([...reasons].sort())));
    // The cases reach past the first checks: some are accepted, most refused for many reasons.
    expect(statuses.get(202) ?? 0).toBeGreaterThan(0);
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThanOrEqual(3);
  });

  it("takes any valid binary event with random extensions, or refuses it with a reason", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.stringMatching(/^[a-z0-9]{1,20}$/), headerText, { maxKeys: 8 }),
        async (extensions) => {
          const headers: Record<string, string> = {
            "content-type": "application/json",
            "ce-specversion": "1.0",
            "ce-type": "com.skillancer.user.created",
            "ce-source": "//user-service",
            "ce-id": randomUUID(),
          };
          for (const [name, value] of Object.entries(extensions)) headers[`ce-${name}`] ??= value;
          check(await post("/v1/events", headers, Buffer.from('{"userId":"u"}')));
        },
      ),
      { seed: SEED, numRuns: 400 },
    );
  });
});
