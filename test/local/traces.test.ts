import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../../handlers/registry";
import { archiver } from "../../handlers/runtime/event-store";
import { registryOf } from "../../handlers/runtime/handler";
import { ATTR } from "../../handlers/runtime/tracing";
import { pubsubClient } from "../../tools/local/emulator-clients";
import { startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import { localSettings } from "../../tools/local/settings";
import type { StoredSpan, StoredTrace } from "../../tools/local/span-store";
import { startLocalEnvironment, type LocalEnvironment } from "../../tools/local/start";
import { runCli } from "../cli/run-cli";
import { subscriptionOf } from "../support/pubsub";

// The viral-sharing path only: a share → email-worker → share.completed → funnel-projector,
// and the topics' archivers; the image's real handlers.
const hosted = registryOf(archiver, registry["email-sender"]!, registry["funnel-projector"]!);

let emulators: RunningEmulator[];
let environment: LocalEnvironment;

beforeAll(async () => {
  emulators = await Promise.all([startEmulator("pubsub"), startEmulator("firestore")]);
  environment = await startLocalEnvironment({
    settings: localSettings({
      PUBSUB_EMULATOR_HOST: emulators[0]!.host,
      FIRESTORE_EMULATOR_HOST: emulators[1]!.host,
      GOOGLE_CLOUD_PROJECT: "traces-test",
      PORT: "0",
    }),
    logger: pino({ level: "silent" }),
    registry: hosted,
    authenticate: false,
    stateFile: false,
  });
});

afterAll(async () => {
  await environment?.stop();
  await Promise.all((emulators ?? []).map((emulator) => emulator.stop()));
});

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${environment.baseUrl}${path}`);
  return { status: response.status, body: await response.json() };
}

/** The one span named `name` in `trace`. */
function only(trace: StoredTrace, name: string): StoredSpan {
  const spans = trace.spans.filter((span) => span.name === name);
  expect(spans.map((span) => span.name)).toEqual([name]);
  return spans[0]!;
}

/** The names of a span's ancestors in the trace, nearest first. */
function ancestors(trace: StoredTrace, span: StoredSpan): string[] {
  const byId = new Map(trace.spans.map((s) => [s.spanId, s]));
  const names: string[] = [];
  for (
    let at = byId.get(span.parentSpanId ?? "");
    at !== undefined;
    at = byId.get(at.parentSpanId ?? "")
  )
    names.push(at.name);
  return names;
}

describe("traces of npm start", () => {
  it("follows a share from the gateway through email-worker to funnel-projector in one trace", async () => {
    const response = await fetch(`${environment.baseUrl}/v1/shares`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        // The caller's own trace: the gateway's span continues it.
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      },
      body: JSON.stringify({
        senderUserId: "user-1",
        cardId: "card-1",
        recipients: [{ channel: "email", recipient: "ana@example.com" }],
      }),
    });
    expect(response.status).toBe(202);
    const share = (await response.json()) as {
      correlationId: string;
      invitations: { eventId: string; invitationId: string }[];
    };

    let trace: StoredTrace | undefined;
    await expect
      .poll(
        async () => {
          const { status, body } = await getJson(
            `/api/traces?id=${encodeURIComponent(share.correlationId)}`,
          );
          if (status !== 200) return [];
          trace = (body as { traces: StoredTrace[] }).traces[0];
          return trace?.spans.map((span) => span.name) ?? [];
        },
        { timeout: 30_000, interval: 250 },
      )
      .toEqual(
        expect.arrayContaining(["process funnel-projector", "process viral-funnel-archiver"]),
      );
    const found = trace!;
    expect(found.traceId).toBe("0af7651916cd43dd8448eb211c80319c");

    const gateway = only(found, "POST /v1/shares");
    expect(gateway.kind).toBe("server");
    expect(gateway.parentSpanId).toBe("b7ad6b7169203331");
    expect(gateway.attributes["http.response.status_code"]).toBe(202);

    const sendShare = only(found, "send viral-shares");
    expect(sendShare.kind).toBe("producer");
    expect(sendShare.parentSpanId).toBe(gateway.spanId);
    expect(sendShare.attributes).toMatchObject({
      [ATTR.messagingSystem]: "gcp_pubsub",
      [ATTR.destination]: "viral-shares",
      [ATTR.operationType]: "send",
      [ATTR.eventId]: share.invitations[0]!.eventId,
      [ATTR.eventType]: "com.eventline.share.requested",
      [ATTR.correlationId]: share.correlationId,
    });

    const email = only(found, "process email-worker");
    expect(email.kind).toBe("consumer");
    expect(email.parentSpanId).toBe(sendShare.spanId);
    expect(email.attributes).toMatchObject({
      [ATTR.messagingSystem]: "gcp_pubsub",
      [ATTR.destination]: "viral-shares",
      [ATTR.subscription]: subscriptionOf("email-worker"),
      [ATTR.operationType]: "process",
      [ATTR.consumer]: "email-worker",
      [ATTR.deliveryAttempt]: 1,
      [ATTR.outcome]: "handled",
      [ATTR.action]: "ack",
      [ATTR.eventId]: share.invitations[0]!.eventId,
    });
    expect(email.attributes[ATTR.messageId]).toEqual(sendShare.attributes[ATTR.messageId]);
    expect(email.events.map((event) => event.name)).toEqual(["decoded", "ack"]);
    // The archiver of viral-shares got the same message, as a sibling of email-worker.
    expect(only(found, "process viral-shares-archiver").parentSpanId).toBe(sendShare.spanId);

    // Inside the delivery: the handler's run in its transaction, and the derived event's publish.
    const transaction = found.spans.find(
      (span) => span.name === "firestore transaction" && span.parentSpanId === email.spanId,
    );
    expect(transaction?.attributes[ATTR.dbSystem]).toBe("gcp.firestore");
    const handle = only(found, "handle email-sender");
    // The Firestore client's own spans (Transaction.Run, Transaction.Commit) sit in between.
    expect(ancestors(found, handle)).toContain(transaction!.name);
    expect(
      found.spans.some(
        (span) =>
          span.name === "Transaction.Commit" &&
          ancestors(found, span).includes("firestore transaction") &&
          ancestors(found, span).includes("process email-worker"),
      ),
    ).toBe(true);
    // The email adapter's call, with its breaker's state.
    const smtp = only(found, "call smtp");
    expect(smtp.attributes[ATTR.breakerState]).toBe("closed");
    expect(ancestors(found, smtp)).toContain("handle email-sender");
    const sendCompleted = only(found, "send viral-funnel");
    expect(sendCompleted.parentSpanId).toBe(email.spanId);
    expect(sendCompleted.attributes[ATTR.eventType]).toBe("com.eventline.share.completed");
    expect(sendCompleted.attributes[ATTR.causationId]).toBe(share.invitations[0]!.eventId);

    const funnel = only(found, "process funnel-projector");
    expect(funnel.parentSpanId).toBe(sendCompleted.spanId);
    expect(funnel.attributes).toMatchObject({
      [ATTR.destination]: "viral-funnel",
      [ATTR.consumer]: "funnel-projector",
      [ATTR.outcome]: "handled",
      [ATTR.correlationId]: share.correlationId,
    });
    // Every span of the flow ends within the trace, with no error.
    expect(found.spans.filter((span) => span.status === "error")).toEqual([]);

    // The same trace by the event's id and by its own id.
    const byEvent = await getJson(`/api/traces?id=${share.invitations[0]!.eventId}`);
    expect((byEvent.body as { traces: StoredTrace[] }).traces[0]!.traceId).toBe(found.traceId);
    const byTrace = await getJson(`/api/traces/${found.traceId}`);
    expect((byTrace.body as StoredTrace).spans.length).toBeGreaterThanOrEqual(found.spans.length);

    // The same tree in the terminal.
    const printed = await runCli(["trace", share.correlationId, "--url", environment.baseUrl]);
    expect(printed.stderr).toBe("");
    expect(printed.code).toBe(0);
    const lines = printed.stdout.split("\n");
    const depth = (name: string): number => {
      const line = lines.find((l) => l.includes(`─ ${name}  `));
      expect(line, `${name} in\n${printed.stdout}`).toBeDefined();
      return line!.indexOf("─");
    };
    expect(lines[0]).toMatch(new RegExp(`^trace ${found.traceId}  `));
    expect(depth("POST /v1/shares")).toBeLessThan(depth("send viral-shares"));
    expect(depth("send viral-shares")).toBeLessThan(depth("process email-worker"));
    expect(depth("process email-worker")).toBeLessThan(depth("send viral-funnel"));
    expect(depth("send viral-funnel")).toBeLessThan(depth("process funnel-projector"));
    expect(printed.stdout).toMatch(
      /process email-worker {2}\+[\d.]+ m?s {2}[\d.]+ m?s {2}attempt 1, handled/,
    );
    expect(printed.stdout).toContain("breaker closed → closed");
    // The Firestore client's own spans only when asked for.
    expect(printed.stdout).not.toContain("Transaction.Commit");
    const all = await runCli(["trace", found.traceId, "--all", "--url", environment.baseUrl]);
    expect(all.stdout).toContain("Transaction.Commit");

    // A click on the invitation's link is a trace of its own: the tracker's request, the click
    // event it publishes, and the funnel-projector's delivery of it.
    const clicked = await fetch(
      `${environment.baseUrl}/t/click/${encodeURIComponent(share.invitations[0]!.invitationId)}?to=${encodeURIComponent(`${environment.baseUrl}/`)}`,
      { redirect: "manual" },
    );
    expect(clicked.status).toBe(302);
    await expect
      .poll(
        async () => {
          const { traces } = (await getJson("/api/traces")).body as {
            traces: { traceId: string; name: string }[];
          };
          const click = traces.find((t) => t.name === "GET /t/click/:invitationId");
          if (click === undefined) return [];
          const { body } = await getJson(`/api/traces/${click.traceId}`);
          return (body as StoredTrace).spans.map((span) => span.name);
        },
        { timeout: 20_000, interval: 250 },
      )
      .toEqual(expect.arrayContaining(["send viral-funnel", "process funnel-projector"]));

    const recent = await getJson("/api/traces");
    expect(
      (recent.body as { traces: { traceId: string }[] }).traces.map((t) => t.traceId),
    ).toContain(found.traceId);
  });

  it("shows a dead letter in the trace: the delivery failed with its reason, and the dead letter's publish under it", async () => {
    const pubsub = pubsubClient(environment.settings);
    try {
      await pubsub.topic("viral-shares").publishMessage({
        data: Buffer.from("not a protobuf message"),
        attributes: {
          "ce-id": "poison-trace-1",
          "ce-source": "//tests",
          "ce-type": "com.eventline.share.requested",
          "ce-specversion": "1.0",
          "ce-time": new Date().toISOString(),
          "content-type": "application/protobuf",
          "ce-channel": "email",
        },
      });
    } finally {
      await pubsub.close();
    }
    let trace: StoredTrace | undefined;
    await expect
      .poll(
        async () => {
          const { status, body } = await getJson("/api/traces?id=poison-trace-1");
          // Published without a traceparent, the message starts a trace in each consumer that
          // takes it (the archiver's too): the email-worker's is the one with its dead letter.
          const traces = status === 200 ? (body as { traces: StoredTrace[] }).traces : [];
          trace = traces.find((t) => t.spans.some((s) => s.name === "process email-worker"));
          return trace?.spans.filter((s) => s.name === "send email-worker-dlq").length ?? 0;
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBe(1);
    const email = only(trace!, "process email-worker");
    expect(email.status).toBe("error");
    expect(email.attributes).toMatchObject({
      [ATTR.outcome]: "dead-lettered",
      [ATTR.deadLetterReason]: "undecodable-body",
      [ATTR.action]: "ack",
    });
    expect(email.events.map((e) => e.name)).toContain("exception");
    expect(only(trace!, "send email-worker-dlq").parentSpanId).toBe(email.spanId);
    const printed = await runCli(["trace", "poison-trace-1", "--url", environment.baseUrl]);
    expect(printed.stdout).toMatch(
      /process email-worker .*attempt 1, dead-lettered, reason undecodable-body, ERROR dead-lettered: undecodable-body/,
    );
  });

  it("answers a lookup it cannot serve with a 4xx that says why", async () => {
    const missing = await getJson("/api/traces?id=no-such-event");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ reason: "no-trace" });
    expect((await getJson(`/api/traces?id=${"x".repeat(600)}`)).status).toBe(400);
    expect((await getJson("/api/traces/not-a-trace-id")).status).toBe(400);
    expect((await getJson(`/api/traces/${"0".repeat(32)}`)).status).toBe(404);
    const unknown = await runCli(["trace", "no-such-event", "--url", environment.baseUrl]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/^eventline: no trace of no-such-event is held here/);
    const nobody = await runCli(["trace", "e1", "--url", "http://127.0.0.1:9"]);
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toContain("start the system with npm start, or pass --url");
  });
});
