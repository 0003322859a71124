/**
 * Bad input, at both doors. At the gateway: malformed JSON, wrong types, an unknown or a
 * derived event type, missing ce- headers (ce-id included), oversize bodies (over the 1 MB
 * default, and over Pub/Sub's 10 MB), invalid UTF-8, too many ce- headers (150, and 85: under
 * Pub/Sub's 100 but over what leaves its dead letter room), an oversize header value, a
 * CloudEvents 0.3 ce-schemaurl, a nested __proto__, duplicate keys, a nested unknown field, a
 * time offset of +25:00: each must get a 4xx with its reason code, and the gateway must still
 * take a good event afterwards. On the topic (published raw, past the gateway, with
 * `ce-channel: email` so the email-worker's filter lets it through): each must be dead-lettered
 * with its reason by the email-worker and by the topic's archiver, which sees everything, at its
 * first attempt (an unknown event type at the subscription's last, since it is given back in
 * case a consumer being updated declares it), in a dead letter within Pub/Sub's 100 attributes, while neither worker exits,
 * and a good event published afterwards must still be applied. A message Pub/Sub itself refuses
 * at publish never reaches a worker; that is reported as such.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { request } from "node:http";
import type { Message } from "@google-cloud/pubsub";
import type { OutgoingMessage } from "../../handlers/runtime/codec";
import { benchSystem } from "../support/emulators";
import {
  ARCHIVER_CONSUMER,
  SHARES_TOPIC,
  WORKER_CONSUMER,
  idOf,
  shareEvent,
} from "../support/events";
import { shareBody, shareHeaders, startGatewayChild } from "../support/gateways";
import { readParked, waitForApplied } from "../support/ledger";
import { startChild } from "../support/children";
import { provisionWorker, Supervisor, type Scenario, type ScenarioOutcome } from "./scenario";

/** The attribute naming a bad message's case, kept by its dead letter. */
const CASE = "bench-case";

interface HttpCase {
  name: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The reason code the refusal must carry; any reason when the admission decides (403). */
  reason?: string;
}

/** A share.requested in binary mode with an id of its own, and `extra` headers. */
const binary = (extra: Record<string, string> = {}): Record<string, string> => ({
  ...shareHeaders(randomUUID()),
  ...extra,
});
const ceHeaders = (n: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`ce-x${i}`, "v"]));
/** A share.requested in structured mode, with `data` as its data. */
const structured = (data: string): Buffer =>
  Buffer.from(
    `{"specversion":"1.0","type":"com.eventline.share.requested","source":"//eventline/bench","id":"${randomUUID()}","data":${data}}`,
  );
const STRUCTURED = { "content-type": "application/cloudevents+json" };
const share = JSON.parse(shareBody()) as Record<string, unknown>;

const httpCases: HttpCase[] = [
  {
    name: "malformed JSON (structured)",
    headers: STRUCTURED,
    body: Buffer.from('{"specversion": "1.0", "type": '),
    reason: "malformed-json",
  },
  {
    name: "malformed JSON (binary)",
    headers: binary(),
    body: Buffer.from('{"invitationId": "x",'),
    reason: "malformed-json",
  },
  {
    name: "wrong types in the data",
    headers: binary(),
    body: Buffer.from(
      JSON.stringify({ invitationId: 42, channel: ["email"], shareMetadata: "none" }),
    ),
    reason: "invalid-payload",
  },
  {
    name: "unknown event type",
    headers: binary({ "ce-type": "com.eventline.share.exploded" }),
    body: Buffer.from(shareBody()),
  },
  {
    name: "derived type from outside",
    headers: binary({ "ce-type": "com.eventline.share.completed" }),
    body: Buffer.from(shareBody()),
  },
  {
    name: "no ce- headers",
    headers: { "content-type": "application/json" },
    body: Buffer.from(shareBody()),
    reason: "unsupported-content-type",
  },
  {
    name: "no ce-source",
    headers: Object.fromEntries(Object.entries(binary()).filter(([k]) => k !== "ce-source")),
    body: Buffer.from(shareBody()),
    reason: "missing-attribute",
  },
  {
    name: "no ce-id",
    headers: Object.fromEntries(Object.entries(binary()).filter(([k]) => k !== "ce-id")),
    body: Buffer.from(shareBody()),
    reason: "missing-attribute",
  },
  {
    name: "oversize body (1.5 MB, over the 1 MB default)",
    headers: binary(),
    body: Buffer.alloc(1_500_000, 0x20),
    reason: "oversize",
  },
  {
    name: "oversize body (11 MB)",
    headers: binary(),
    body: Buffer.alloc(11_000_000, 0x20),
    reason: "oversize",
  },
  {
    name: "invalid UTF-8 in the body",
    headers: binary(),
    body: Buffer.concat([
      Buffer.from('{"invitationId": "'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('", "channel": "email", "recipient": "a@b.co"}'),
    ]),
    reason: "malformed-json",
  },
  {
    name: "150 ce- headers",
    headers: binary(ceHeaders(150)),
    body: Buffer.from(shareBody()),
    reason: "too-many-attributes",
  },
  {
    name: "85 ce- headers (under Pub/Sub's 100, no room for its dead letter)",
    headers: binary(ceHeaders(85)),
    body: Buffer.from(shareBody()),
    reason: "too-many-attributes",
  },
  {
    name: "header value over 1 024 bytes",
    headers: binary({ "ce-x": "v".repeat(2000) }),
    body: Buffer.from(shareBody()),
    reason: "oversize",
  },
  {
    name: "ce-schemaurl (CloudEvents 0.3)",
    headers: binary({ "ce-schemaurl": "https://schemas.example.com/share" }),
    body: Buffer.from(shareBody()),
    reason: "malformed-attribute",
  },
  {
    name: "nested __proto__ in the data (structured)",
    headers: STRUCTURED,
    body: structured(`{"invitationId":"i","__proto__":{"polluted":true}}`),
    reason: "unknown-field",
  },
  {
    name: "__proto__ as a shareMetadata key",
    headers: binary(),
    body: Buffer.from(`{"invitationId":"i","shareMetadata":{"__proto__":"x"}}`),
    reason: "invalid-payload",
  },
  {
    name: "duplicate keys",
    headers: binary(),
    body: Buffer.from(`{"invitationId":"a","invitationId":"b"}`),
    reason: "duplicate-key",
  },
  {
    name: "nested unknown field (structured data.foo)",
    headers: STRUCTURED,
    body: structured(JSON.stringify({ ...share, foo: 1 })),
    reason: "unknown-field",
  },
  {
    name: "time offset +25:00",
    headers: binary({ "ce-time": "2026-01-01T00:00:00+25:00" }),
    body: Buffer.from(shareBody()),
    reason: "malformed-attribute",
  },
];

function post(
  url: string,
  c: HttpCase,
): Promise<{ status: number; error: string; reason: string | undefined }> {
  return new Promise((resolve) => {
    const target = new URL(`${url}/v1/events`);
    const r = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: { ...c.headers, "content-length": String(c.body.length) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let error = text;
          let reason: string | undefined;
          try {
            const answer = JSON.parse(text) as { error?: string; reason?: string };
            error = answer.error ?? text;
            reason = answer.reason;
          } catch {
            // Not JSON: the raw text is the answer to report.
            error = text.slice(0, 120);
          }
          resolve({ status: response.statusCode ?? 0, error, reason });
        });
      },
    );
    // The gateway may answer (413) and close before the whole body is sent: the write then
    // fails, and the answer, when it comes, is what counts.
    r.on("error", (err) =>
      setTimeout(() => resolve({ status: 0, error: err.message, reason: undefined }), 1000),
    );
    r.end(c.body);
  });
}

interface TopicCase {
  name: string;
  /** The dead-letter reason expected. */
  reason: string;
  /**
   * The attempt it is dead-lettered on: the first, or the subscription's last for an event type
   * the code does not declare (given back until then, in case a consumer being updated declares
   * it: handlers/runtime/delivery.ts). Default "first".
   */
  deadLetteredOn?: "first" | "last";
  make(): OutgoingMessage;
}

function tamper(
  change: (m: { data: Buffer; attributes: Record<string, string> }) => void,
): () => OutgoingMessage {
  return () => {
    const m = shareEvent();
    const out = { topic: m.topic, data: Buffer.from(m.data), attributes: { ...m.attributes } };
    change(out);
    return out;
  };
}

const topicCases: TopicCase[] = [
  {
    name: "undecodable body",
    reason: "undecodable-body",
    make: tamper((m) => (m.data = randomBytes(64))),
  },
  {
    name: "JSON body on a protobuf topic",
    reason: "unsupported-content-type",
    make: tamper(
      (m) => (
        (m.attributes["content-type"] = "application/json"),
        (m.data = Buffer.from(shareBody()))
      ),
    ),
  },
  {
    name: "unknown event type",
    reason: "unknown-type",
    deadLetteredOn: "last",
    make: tamper((m) => (m.attributes["ce-type"] = "com.eventline.share.exploded")),
  },
  {
    name: "type of another topic",
    reason: "wrong-topic",
    make: tamper((m) => (m.attributes["ce-type"] = "com.eventline.campaign.created")),
  },
  {
    name: "missing ce-id",
    reason: "missing-attribute",
    make: tamper((m) => delete m.attributes["ce-id"]),
  },
  {
    name: "no CloudEvents attributes",
    reason: "missing-attribute",
    make: tamper((m) => (m.attributes = { "ce-channel": "email" })),
  },
  {
    name: "malformed ce-time",
    reason: "malformed-attribute",
    make: tamper((m) => (m.attributes["ce-time"] = "yesterday")),
  },
  {
    name: "unsupported ce-specversion",
    reason: "malformed-attribute",
    make: tamper((m) => (m.attributes["ce-specversion"] = "0.3")),
  },
  {
    name: "9 MB of garbage",
    reason: "undecodable-body",
    make: tamper((m) => (m.data = randomBytes(9_000_000))),
  },
  {
    name: "invalid UTF-8 in a string field",
    reason: "undecodable-body",
    make: tamper((m) => m.data.set([0xff, 0xfe, 0xfd], m.data.indexOf("friend@example.com"))),
  },
  {
    name: "attribute value over 1 024 bytes",
    reason: "oversize",
    make: tamper((m) => (m.attributes["ce-x"] = "v".repeat(2000))),
  },
  {
    name: "120 attributes",
    reason: "too-many-attributes",
    make: tamper((m) => Object.assign(m.attributes, ceHeaders(110))),
  },
  {
    name: "95 attributes (under Pub/Sub's 100, over an event's 89)",
    reason: "too-many-attributes",
    make: tamper((m) => Object.assign(m.attributes, ceHeaders(85))),
  },
  {
    name: "ce-schemaurl (CloudEvents 0.3)",
    reason: "malformed-attribute",
    make: tamper((m) => (m.attributes["ce-schemaurl"] = "https://schemas.example.com/share")),
  },
  {
    name: "ce-time offset +25:00",
    reason: "malformed-attribute",
    make: tamper((m) => (m.attributes["ce-time"] = "2026-01-01T00:00:00+25:00")),
  },
];

export const badInput: Scenario = {
  name: "bad-input",
  title: "bad input at the gateway and on the topic",
  inSmoke: true,
  async run(ctx, project): Promise<ScenarioOutcome> {
    const worker = benchSystem.consumers.find((c) => c.name === WORKER_CONSUMER)!;
    const archiverConsumer = benchSystem.consumers.find((c) => c.name === ARCHIVER_CONSUMER)!;
    await provisionWorker(ctx, project, [ARCHIVER_CONSUMER]);
    const gateway = await startGatewayChild(project, "eventline");
    const workers = new Supervisor(project);
    const archiver = startChild({
      name: "archiver",
      script: "bench/support/worker.ts",
      env: project.env({ HANDLER: ARCHIVER_CONSUMER }),
    });
    const cases: NonNullable<ScenarioOutcome["cases"]> = [];
    try {
      await Promise.all([workers.current.ready, archiver.ready]);
      for (const c of httpCases) {
        const { status, error, reason } = await post(gateway.url, c);
        cases.push({
          name: `gateway: ${c.name}`,
          outcome: `${status || "no answer"} ${reason ?? "(no reason)"}: ${error.slice(0, 100)}`,
          ok:
            status >= 400 &&
            status < 500 &&
            reason !== undefined &&
            (c.reason === undefined || reason === c.reason),
        });
      }
      const good = await post(gateway.url, {
        name: "good",
        headers: binary(),
        body: Buffer.from(shareBody()),
      });
      cases.push({
        name: "gateway: a good event afterwards",
        outcome: String(good.status),
        ok: good.status === 202,
      });

      const topic = project.pubsub.topic(SHARES_TOPIC, { batching: { maxMessages: 1 } });
      const published: TopicCase[] = [];
      // A dead letter keeps the event's own attributes first; the case is found by ce-id too.
      const caseById = new Map<string, string>();
      for (const c of topicCases) {
        const m = c.make();
        if (m.attributes["ce-id"] !== undefined) caseById.set(m.attributes["ce-id"], c.name);
        try {
          await topic.publishMessage({
            data: m.data,
            attributes: { ...m.attributes, [CASE]: c.name },
          });
          published.push(c);
        } catch (err) {
          cases.push({
            name: `topic: ${c.name}`,
            outcome: `refused by Pub/Sub at publish: ${(err as Error).message.split("\n")[0]!.slice(0, 100)}`,
            ok: true,
          });
        }
      }
      const goodEvent = shareEvent();
      await topic.publishMessage({ data: goodEvent.data, attributes: goodEvent.attributes });
      const applied = await waitForApplied(project.firestore, 1, {
        timeoutMs: 60_000,
        say: ctx.say,
      });
      const byCase = (m: Message): string =>
        m.attributes[CASE] ?? caseById.get(m.attributes["ce-id"] ?? "") ?? "(none)";
      const [fromWorker, fromArchiver] = await Promise.all([
        readParked(project.pubsub, worker.parkingSubscription, published.length, 60_000, byCase),
        readParked(
          project.pubsub,
          archiverConsumer.parkingSubscription,
          published.length,
          60_000,
          byCase,
        ),
      ]);
      for (const c of published) {
        const w = fromWorker.parked.get(c.name);
        const a = fromArchiver.parked.get(c.name);
        const fits = (p: typeof w): boolean => p !== undefined && p.attributes <= 100;
        const attempt = (consumer: { maxDeliveryAttempts: number }): string =>
          c.deadLetteredOn === "last" ? String(consumer.maxDeliveryAttempts) : "1";
        const ok =
          w?.reason === c.reason &&
          a?.reason === c.reason &&
          w.attempt === attempt(worker) &&
          a.attempt === attempt(archiverConsumer) &&
          fits(w) &&
          fits(a);
        cases.push({
          name: `topic: ${c.name}`,
          outcome: `worker: ${w?.reason ?? "not dead-lettered"} (attempt ${w?.attempt ?? "-"}, ${w?.attributes ?? "-"} attributes), archiver: ${a?.reason ?? "not dead-lettered"} (attempt ${a?.attempt ?? "-"}, ${a?.attributes ?? "-"} attributes) (expected ${c.reason})`,
          ok,
        });
      }
      const problems = cases.filter((c) => !c.ok).map((c) => `${c.name}: ${c.outcome}`);
      if (applied < 1)
        problems.push(
          `the good event ${idOf(goodEvent)} published after the bad ones was not applied`,
        );
      if (workers.unexpectedExits.length > 0 || !archiver.alive) problems.push("a worker exited");
      const code = await workers.stop();
      if (code !== 0) problems.push(`the worker exited ${code} on SIGTERM`);
      const deadLettered = published.filter(
        (c) => fromWorker.parked.get(c.name)?.reason === c.reason,
      ).length;
      return {
        sent: httpCases.length + topicCases.length,
        applied: applied,
        duplicatesApplied: 0,
        lost: 0,
        deadLettered: `${deadLettered}/${published.length} with reason`,
        summary:
          `gateway: ${cases.filter((c) => c.name.startsWith("gateway") && c.ok).length}/${httpCases.length + 1} as expected; topic: ${cases.filter((c) => c.name.startsWith("topic") && c.ok).length}/${topicCases.length}; ` +
          `workers ${workers.unexpectedExits.length === 0 && archiver.alive ? "never exited" : "EXITED"}; the good event ${applied >= 1 ? "was" : "was NOT"} applied`,
        problems,
        cases,
        raw: { cases },
      };
    } finally {
      await Promise.all([workers.stop(), archiver.stop(), gateway.child.stop()]);
    }
  },
};
