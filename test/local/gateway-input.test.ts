/**
 * Malformed input at the gateway: every refusal is a 4xx with `{ error, reason }` and publishes
 * nothing; what the CloudEvents JSON format allows is taken and carried as Pub/Sub attributes.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { request as httpRequest, type Server } from "node:http";
import { PubSub } from "@google-cloud/pubsub";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noAuthentication } from "../../handlers/gateway/admission";
import { EventGateway } from "../../handlers/gateway/gateway";
import { startGatewayServer } from "../../handlers/gateway/server";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec, MAX_EVENT_ATTRIBUTES } from "../../handlers/runtime/codec";
import { EventTypes } from "../../handlers/runtime/event-types";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { PubSubPublisher } from "../../handlers/runtime/publisher";
import { startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import { probeTopics, type Probe } from "./pubsub-probe";

/** The local declaration, with two body limits declared: a small one and a large one. */
const SMALL_LIMIT = 2_000;
const LARGE_LIMIT = 3_000_000;
const declared = eventTypesFor("local").system;
const eventTypes = new EventTypes({
  ...declared,
  topics: declared.topics.map((topic) => ({
    ...topic,
    events: topic.events.map((event) =>
      event.type === "com.skillancer.user.updated"
        ? { ...event, maxBodyBytes: SMALL_LIMIT }
        : event.type === "com.dip.document.ingested"
          ? { ...event, maxBodyBytes: LARGE_LIMIT }
          : event,
    ),
  })),
});
const codec = new EventCodec(eventTypes);

let emulator: RunningEmulator;
let pubsub: PubSub;
let server: Server;
let probe: Probe;
let base: string;

beforeAll(async () => {
  emulator = await startEmulator("pubsub");
  pubsub = new PubSub({
    projectId: "gateway-input",
    apiEndpoint: emulator.host,
    emulatorMode: true,
  });
  for (const topic of eventTypes.system.topics) await pubsub.createTopic(topic.name);
  probe = await probeTopics(pubsub, ["users", "documents", "campaigns"]);
  server = await startGatewayServer({
    gateway: new EventGateway(codec, new PubSubPublisher(pubsub, eventTypes, new RuntimeMetrics())),
    logger: pino({ level: "silent" }),
    authenticate: noAuthentication,
    producers: eventTypes.system.producers,
    eventTypes,
    port: 0,
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await probe?.close();
  await pubsub?.close();
  await emulator?.stop();
});

const binary = (type: string, extra: Record<string, string> = {}): Record<string, string> => ({
  "content-type": "application/json",
  "ce-specversion": "1.0",
  "ce-type": type,
  "ce-source": type.startsWith("com.eventline.campaign") ? "//campaign-manager" : "//user-service",
  "ce-id": randomUUID(),
  ...extra,
});
const without = (headers: Record<string, string>, name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
const structured = { "content-type": "application/cloudevents+json" };
const event = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  specversion: "1.0",
  type: "com.skillancer.user.created",
  source: "//user-service",
  id: randomUUID(),
  data: { userId: "u-1" },
  ...fields,
});
const extensions = (n: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`ce-x${i}`, "v"]));

interface Answer {
  status: number;
  body: { error?: string; reason?: string; id?: string };
}

/** Posts with node:http, which sends a body however large and reads the answer that comes. */
function post(headers: Record<string, string>, body: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = new URL(`${base}/v1/events`);
    const payload = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: { ...headers, "content-length": String(payload.length) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString() || "{}") as Answer["body"],
          }),
        );
      },
    );
    // A refused oversize body may be cut off mid-send: the answer, already on its way, counts.
    req.on("error", (err) => setTimeout(() => reject(err), 2000));
    req.end(payload);
  });
}

/** Waits for a marker event: every message published before it has arrived by then. */
async function drained(): Promise<void> {
  const id = randomUUID();
  const answer = await post(
    binary("com.skillancer.user.updated", { "ce-id": id }),
    '{"userId":"m"}',
  );
  expect(answer.status).toBe(202);
  await probe.waitFor((m) => m.attributes["ce-id"] === id);
}

const big = (bytes: number): string => JSON.stringify({ userId: "u", email: "x".repeat(bytes) });

describe("the gateway refuses malformed input with a reason and publishes nothing", () => {
  const cases: [string, Record<string, string>, string | Buffer, number, string, RegExp][] = [
    [
      "a binary event without ce-id",
      without(binary("com.skillancer.user.created"), "ce-id"),
      '{"userId":"u"}',
      400,
      "missing-attribute",
      /ce-id is missing/,
    ],
    [
      "a binary event with an empty ce-id",
      binary("com.skillancer.user.created", { "ce-id": "" }),
      '{"userId":"u"}',
      400,
      "missing-attribute",
      /ce-id is missing/,
    ],
    [
      "a structured event without id",
      structured,
      JSON.stringify(event({ id: undefined })),
      400,
      "missing-attribute",
      /^id is missing/,
    ],
    [
      "a structured event with a null id",
      structured,
      JSON.stringify(event({ id: null })),
      400,
      "missing-attribute",
      /^id is missing/,
    ],
    [
      "a CloudEvents 0.3 ce-schemaurl header",
      binary("com.skillancer.user.created", { "ce-schemaurl": "https://schemas.example/u" }),
      '{"userId":"u"}',
      400,
      "malformed-attribute",
      /ce-schemaurl is a CloudEvents 0\.3 attribute/,
    ],
    [
      "a CloudEvents 0.3 schemaurl member",
      structured,
      JSON.stringify(event({ schemaurl: "https://schemas.example/u" })),
      400,
      "malformed-attribute",
      /^schemaurl is a CloudEvents 0\.3 attribute/,
    ],
    [
      "a dataschema that is not a URI",
      binary("com.skillancer.user.created", { "ce-dataschema": "not a uri" }),
      '{"userId":"u"}',
      400,
      "malformed-attribute",
      /dataschema is not an absolute RFC 3986 URI/,
    ],
    [
      "a nested __proto__ key in the data",
      binary("com.eventline.campaign.created"),
      '{"campaignId":"c","budget":{"__proto__":{"polluted":true}}}',
      400,
      "unknown-field",
      /unknown field budget\.__proto__/,
    ],
    [
      "a nested constructor key in the data",
      binary("com.eventline.campaign.created"),
      '{"campaignId":"c","budget":{"constructor":{"prototype":{}}}}',
      400,
      "unknown-field",
      /unknown field budget\.constructor/,
    ],
    [
      "a nested unknown field in the data",
      binary("com.eventline.campaign.created"),
      '{"campaignId":"c","budget":{"dailyBudget":10,"foo":1}}',
      400,
      "unknown-field",
      /unknown field budget\.foo/,
    ],
    [
      "a duplicate key in a binary body",
      binary("com.skillancer.user.created"),
      '{"userId":"a","userId":"b"}',
      400,
      "duplicate-key",
      /the key userId twice/,
    ],
    [
      "a duplicate nested key in a structured event's data",
      structured,
      `{"specversion":"1.0","type":"com.eventline.campaign.created","source":"//campaign-manager","id":"d-1","data":{"campaignId":"c","budget":{"dailyBudget":1,"dailyBudget":2}}}`,
      400,
      "duplicate-key",
      /the key data\.budget\.dailyBudget twice/,
    ],
    [
      "a duplicate id in a structured event",
      structured,
      `{"specversion":"1.0","type":"com.skillancer.user.created","source":"//user-service","id":"a","id":"b","data":{"userId":"u"}}`,
      400,
      "duplicate-key",
      /the key id twice/,
    ],
    [
      "a time offset of +25:00",
      binary("com.skillancer.user.created", { "ce-time": "2026-01-01T00:00:00+25:00" }),
      '{"userId":"u"}',
      400,
      "malformed-attribute",
      /offset \+25:00/,
    ],
    [
      "a time in month 13",
      structured,
      JSON.stringify(event({ time: "2026-13-01T00:00:00Z" })),
      400,
      "malformed-attribute",
      /month 13/,
    ],
    [
      "a traceparent header with an all-zero trace id",
      binary("com.skillancer.user.created", {
        traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      }),
      '{"userId":"u"}',
      400,
      "malformed-attribute",
      /all-zero trace id/,
    ],
    [
      "an optional attribute given empty",
      binary("com.skillancer.user.created", { "ce-subject": "" }),
      '{"userId":"u"}',
      400,
      "malformed-attribute",
      /ce-subject is given but empty/,
    ],
    [
      "an extension name CloudEvents forbids",
      binary("com.skillancer.user.created", { "ce-my_ext": "x" }),
      '{"userId":"u"}',
      400,
      "malformed-attribute",
      /extension name "my_ext"/,
    ],
    [
      "a ce-__proto__ header",
      binary("com.skillancer.user.created", { "ce-__proto__": "x" }),
      '{"userId":"u"}',
      400,
      "malformed-attribute",
      /extension name "__proto__"/,
    ],
    [
      "a __proto__ member in a structured event",
      structured,
      '{"specversion":"1.0","type":"com.skillancer.user.created","source":"//user-service","id":"p-1","__proto__":"x","data":{"userId":"u"}}',
      400,
      "malformed-attribute",
      /extension name "__proto__"/,
    ],
    [
      "a fractional extension value",
      structured,
      JSON.stringify(event({ seq: 1.5 })),
      400,
      "malformed-attribute",
      /seq is the number 1\.5/,
    ],
    [
      "an integer extension written with an exponent",
      structured,
      '{"specversion":"1.0","type":"com.skillancer.user.created","source":"//user-service","id":"e-1","seq":3e0,"data":{"userId":"u"}}',
      400,
      "malformed-attribute",
      /seq is the number 3e0/,
    ],
    [
      "an object as an extension value",
      structured,
      JSON.stringify(event({ meta: { a: 1 } })),
      400,
      "malformed-attribute",
      /meta is an object/,
    ],
    [
      "a number where the spec wants a string",
      structured,
      JSON.stringify(event({ subject: 7 })),
      400,
      "malformed-attribute",
      /subject must be a string/,
    ],
    [
      `${MAX_EVENT_ATTRIBUTES} ce- headers`,
      binary("com.skillancer.user.created", extensions(MAX_EVENT_ATTRIBUTES)),
      '{"userId":"u"}',
      400,
      "too-many-attributes",
      /over the 89 an event may carry/,
    ],
    [
      "extensions that leave no room for the gateway's attributes and the dead letter",
      binary("com.skillancer.user.created", extensions(MAX_EVENT_ATTRIBUTES - 7)),
      '{"userId":"u"}',
      400,
      "too-many-attributes",
      /over the 89 an event may carry/,
    ],
    [
      "data_base64",
      structured,
      JSON.stringify(event({ data: undefined, data_base64: "AAEC" })),
      400,
      "unsupported-content-type",
      /data_base64 is not accepted/,
    ],
    [
      "data that is not an object",
      structured,
      JSON.stringify(event({ data: ["u-1"] })),
      400,
      "invalid-payload",
      /must be a JSON object/,
    ],
    [
      "a binary body over its type's declared limit, while it is read",
      binary("com.skillancer.user.updated"),
      big(SMALL_LIMIT),
      413,
      "oversize",
      new RegExp(`over the ${SMALL_LIMIT}-byte limit`),
    ],
    [
      "a binary body over the default 1 MB limit",
      binary("com.skillancer.user.created"),
      big(1_000_001),
      413,
      "oversize",
      /over the 1000000-byte limit/,
    ],
    [
      "a structured body within the largest limit but over its type's",
      structured,
      JSON.stringify(
        event({ type: "com.skillancer.user.updated", data: { userId: "x".repeat(SMALL_LIMIT) } }),
      ),
      413,
      "oversize",
      new RegExp(`over the ${SMALL_LIMIT}-byte limit of com\\.skillancer\\.user\\.updated`),
    ],
    [
      "a structured body over the largest declared limit, while it is read",
      structured,
      JSON.stringify(event({ data: { userId: "x".repeat(LARGE_LIMIT) } })),
      413,
      "oversize",
      new RegExp(`over the ${LARGE_LIMIT}-byte limit`),
    ],
  ];

  it.each(cases)("refuses %s", async (_name, headers, body, status, reason, error) => {
    const before = probe.messages.length;
    const answer = await post(headers, body);
    expect(answer.status).toBe(status);
    expect(answer.body.reason).toBe(reason);
    expect(answer.body.error).toMatch(error);
    await drained();
    expect(probe.messages.length).toBe(before + 1);
  });
});

describe("the gateway takes what CloudEvents allows", () => {
  it("carries structured-mode extensions of every JSON type as their string form", async () => {
    const id = randomUUID();
    const answer = await post(
      structured,
      JSON.stringify(
        event({
          id,
          seq: 3,
          negative: -42,
          replayable: true,
          archived: false,
          note: "plain",
          blob: "AAEC",
          dataschema: "https://schemas.example.com/user/v1",
          subject: null,
          traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        }),
      ),
    );
    expect(answer).toMatchObject({ status: 202, body: { id } });
    const message = await probe.waitFor((m) => m.attributes["ce-id"] === id);
    expect(message.attributes).toMatchObject({
      "ce-seq": "3",
      "ce-negative": "-42",
      "ce-replayable": "true",
      "ce-archived": "false",
      "ce-note": "plain",
      "ce-blob": "AAEC",
      "ce-dataschema": "https://schemas.example.com/user/v1",
      "ce-traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "ce-subject": "u-1",
    });
    const decoded = codec.decode({ data: message.data, attributes: message.attributes }, "users");
    expect(decoded.meta.extensions).toMatchObject({ seq: "3", replayable: "true" });
  });

  it("takes a body over the default limit for a type that declares a larger one", async () => {
    const id = randomUUID();
    const answer = await post(
      {
        ...binary("com.dip.document.ingested", { "ce-id": id }),
        "ce-source": "/services/ingestion",
      },
      JSON.stringify({ documentId: "d-big", text: "x".repeat(1_500_000) }),
    );
    expect(answer).toMatchObject({ status: 202, body: { id } });
    await probe.waitFor((m) => m.attributes["ce-id"] === id);
  });

  it("takes an event with the most extensions that leave room for its dead letter", async () => {
    const id = randomUUID();
    // 4 context headers + 79 extensions; the gateway adds time, correlationid, subject,
    // content-type, receivedtime and producer: 89 in all.
    const answer = await post(
      binary("com.skillancer.user.created", {
        "ce-id": id,
        ...extensions(MAX_EVENT_ATTRIBUTES - 10),
      }),
      '{"userId":"u"}',
    );
    expect(answer).toMatchObject({ status: 202, body: { id } });
    const message = await probe.waitFor((m) => m.attributes["ce-id"] === id);
    expect(Object.keys(message.attributes)).toHaveLength(MAX_EVENT_ATTRIBUTES);
  });
});
