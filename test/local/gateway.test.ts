import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, request as httpRequest, type Server } from "node:http";
import { PubSub } from "@google-cloud/pubsub";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noAuthentication } from "../../handlers/gateway/admission";
import { EventGateway } from "../../handlers/gateway/gateway";
import { startGatewayServer, startHttpServer } from "../../handlers/gateway/server";
import { shareChannels } from "../../handlers/gateway/shares";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec } from "../../handlers/runtime/codec";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { PubSubPublisher } from "../../handlers/runtime/publisher";
import { Settings } from "../../handlers/runtime/settings";
import { redirectHosts, serviceConfig } from "../../handlers/gateway/run";
import { ClientRateLimit } from "../../handlers/tracker/rate-limit";
import { trackerRoute } from "../../handlers/tracker/server";
import { TRACKER_SOURCE } from "../../infra/model/services";
import { PIXEL_GIF } from "../../handlers/tracker/tracking";
import { freePort, startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import {
  LOCAL_GATEWAY_AUDIENCE,
  LOCAL_ISSUER,
  localIssuer,
  localProducerEmail,
} from "../../tools/local/local-issuer";
import { probeTopics, type Probe } from "./pubsub-probe";

const eventTypes = eventTypesFor("local");
const codec = new EventCodec(eventTypes);
/** Requests one client may make to the tracker in these tests before it is refused. */
const TRACKER_LIMIT = 12;

let emulator: RunningEmulator;
let pubsub: PubSub;
let server: Server;
let trackerServer: Server;
let probe: Probe;
let base: string;
let tracker: string;

beforeAll(async () => {
  emulator = await startEmulator("pubsub");
  pubsub = new PubSub({
    projectId: "gateway-test",
    apiEndpoint: emulator.host,
    emulatorMode: true,
  });
  for (const topic of eventTypes.system.topics) await pubsub.createTopic(topic.name);
  probe = await probeTopics(pubsub, ["users", "documents", "viral-shares", "viral-funnel"]);
  const gateway = new EventGateway(
    codec,
    new PubSubPublisher(pubsub, eventTypes, new RuntimeMetrics()),
  );
  // Authentication is gateway-admission.test.ts's; here the declaration alone decides who may post what.
  server = await startGatewayServer({
    gateway,
    logger: pino({ level: "silent" }),
    authenticate: noAuthentication,
    producers: eventTypes.system.producers,
    eventTypes,
    port: 0,
    shareChannels: shareChannels(eventTypes.system),
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const route = trackerRoute({
    gateway,
    logger: pino({ level: "silent" }),
    redirectHosts: ["cards.example.com", "127.0.0.1:9"],
    rateLimit: new ClientRateLimit({ requests: TRACKER_LIMIT, perSeconds: 60 }),
    ready: () => true,
  });
  trackerServer = await startHttpServer(route, pino({ level: "silent" }), { port: 0 });
  tracker = `http://127.0.0.1:${(trackerServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await new Promise((resolve) => trackerServer?.close(resolve));
  await probe?.close();
  await pubsub?.close();
  await emulator?.stop();
});

const binaryHeaders = (type: string, extra: Record<string, string> = {}) => ({
  "content-type": "application/json",
  "ce-specversion": "1.0",
  "ce-type": type,
  "ce-source": "//user-service",
  "ce-id": randomUUID(),
  ...extra,
});

/** Posts a marker event and waits for it: every message published before it has arrived by then. */
async function drained(): Promise<void> {
  const response = await fetch(`${base}/v1/events`, {
    method: "POST",
    headers: binaryHeaders("com.skillancer.user.updated"),
    body: JSON.stringify({ userId: "marker" }),
  });
  const { id } = (await response.json()) as { id: string };
  await probe.waitFor((m) => m.attributes["ce-id"] === id);
}

describe("POST /v1/events", () => {
  it("publishes a binary-mode CloudEvent to its topic with the CloudEvents attributes and answers 202 with its id", async () => {
    const response = await fetch(`${base}/v1/events`, {
      method: "POST",
      headers: binaryHeaders("com.skillancer.user.created", {
        "ce-id": "evt-user-1",
        "ce-correlationid": "req_xyz789",
      }),
      body: JSON.stringify({
        userId: "usr_123",
        email: "user@example.com",
        role: "USER_ROLE_FREELANCER",
      }),
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id: "evt-user-1", correlationId: "req_xyz789" });
    const message = await probe.waitFor((m) => m.attributes["ce-id"] === "evt-user-1");
    expect(message.attributes).toMatchObject({
      "ce-type": "com.skillancer.user.created",
      "ce-source": "//user-service",
      "ce-subject": "usr_123",
      "content-type": "application/protobuf",
    });
    const decoded = codec.decode({ data: message.data, attributes: message.attributes }, "users");
    expect(decoded.data).toMatchObject({ userId: "usr_123", email: "user@example.com" });
  });

  it("publishes a structured-mode CloudEvent under the id it carries", async () => {
    const response = await fetch(`${base}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json" },
      body: JSON.stringify({
        specversion: "1.0",
        type: "com.dip.document.ingested",
        source: "/services/ingestion",
        id: "doc-event-123",
        data: { documentId: "doc-123", contentType: "application/pdf", size: "1024000" },
      }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(id).toBe("doc-event-123");
    const message = await probe.waitFor((m) => m.attributes["ce-id"] === id);
    expect(message.attributes["content-type"]).toBe("application/json");
    expect(JSON.parse(message.data.toString())).toEqual({
      documentIngested: { documentId: "doc-123", contentType: "application/pdf", size: "1024000" },
    });
  });

  it.each([
    [
      "an unknown type",
      binaryHeaders("com.skillancer.user.deleted"),
      { userId: "u" },
      400,
      "is not declared",
    ],
    [
      "a field the message does not have",
      binaryHeaders("com.skillancer.user.created"),
      { userId: "u", nickname: "x" },
      400,
      "has no field nickname",
    ],
    [
      "a value of the wrong type",
      binaryHeaders("com.skillancer.user.created"),
      { userId: 42 },
      400,
      "userId: string expected",
    ],
    [
      "a type the system derives itself",
      binaryHeaders("com.eventline.share.completed"),
      { invitationId: "i" },
      400,
      "derived inside the system",
    ],
    [
      "no source",
      { ...binaryHeaders("com.skillancer.user.created"), "ce-source": "" },
      { userId: "u" },
      400,
      "source is missing",
    ],
    [
      "a bad time",
      binaryHeaders("com.skillancer.user.created", { "ce-time": "yesterday" }),
      { userId: "u" },
      400,
      "time",
    ],
    [
      "a body that is not JSON",
      binaryHeaders("com.skillancer.user.created"),
      "{nope",
      400,
      "not JSON",
    ],
    [
      "no CloudEvent at all",
      { "content-type": "application/json" },
      { userId: "u" },
      415,
      "send a CloudEvent",
    ],
    [
      "a body that is not UTF-8",
      binaryHeaders("com.skillancer.user.created"),
      Buffer.from([
        0x7b, 0x22, 0x75, 0x73, 0x65, 0x72, 0x49, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d,
      ]),
      400,
      "not valid UTF-8",
    ],
  ])(
    "refuses %s with the reason and publishes nothing",
    async (_case, headers, body, status, reason) => {
      const before = probe.messages.length;
      const response = await fetch(`${base}/v1/events`, {
        method: "POST",
        headers,
        body: typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      });
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: string }).error).toContain(reason);
      await drained();
      expect(probe.messages.length).toBe(before + 1);
    },
  );

  it("answers 413 to a body over its type's 1 MB limit while the client is still sending it", async () => {
    const before = probe.messages.length;
    // node:http writes the whole body and fails with EPIPE if the server hangs up before reading it.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const body = Buffer.alloc(11_000_000, 0x20);
      const target = new URL(`${base}/v1/events`);
      const req = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          headers: {
            ...binaryHeaders("com.skillancer.user.created"),
            "content-length": String(body.length),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({
      error: expect.stringContaining("over the 1000000-byte limit"),
      reason: "oversize",
    });
    await drained();
    expect(probe.messages.length).toBe(before + 1);
  });
});

describe("POST /v1/shares", () => {
  const share = {
    senderUserId: "user-1",
    cardId: "card-1",
    recipients: [
      { channel: "email", recipient: "ana@example.com" },
      { channel: "sms", recipient: "+4915100000000" },
      { channel: "whatsapp", recipient: "+4915100000001" },
    ],
  };

  it("publishes one share.requested per recipient under one correlation id, routed by channel", async () => {
    const response = await fetch(`${base}/v1/shares`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(share),
    });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as {
      correlationId: string;
      invitations: { invitationId: string; eventId: string; channel: string }[];
    };
    expect(accepted.invitations.map((i) => i.channel)).toEqual(["email", "sms", "whatsapp"]);
    for (const invitation of accepted.invitations) {
      const message = await probe.waitFor((m) => m.attributes["ce-id"] === invitation.eventId);
      expect(message.attributes).toMatchObject({
        "ce-correlationid": accepted.correlationId,
        "ce-channel": invitation.channel,
        "ce-subject": invitation.invitationId,
      });
    }
  });

  it("answers within 100 ms while the workers do the sending", async () => {
    const timings: number[] = [];
    for (let i = 0; i < 7; i++) {
      const start = performance.now();
      const response = await fetch(`${base}/v1/shares`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(share),
      });
      await response.arrayBuffer();
      timings.push(performance.now() - start);
    }
    timings.sort((a, b) => a - b);
    expect(timings[3]).toBeLessThan(100);
  });

  it.each([
    [
      { ...share, recipients: [] },
      "recipients must be a non-empty array of { channel, recipient }",
      "invalid-payload",
    ],
    [
      { ...share, recipients: [{ channel: "pigeon", recipient: "x" }] },
      "recipients[0].channel pigeon has no worker; use one of email, sms, whatsapp",
      "invalid-payload",
    ],
    [{ ...share, cardId: "" }, "cardId must be a non-empty string", "invalid-payload"],
  ])("refuses a bad share request with the field at fault (%#)", async (body, error, reason) => {
    const response = await fetch(`${base}/v1/shares`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error, reason });
  });
});

describe("the tracker", () => {
  it("answers an open with a transparent 1×1 GIF that is never cached and publishes invitation.opened as its own", async () => {
    const response = await fetch(`${tracker}/t/open/inv-known`, {
      headers: { "user-agent": "Mail/1.0" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/gif");
    expect(response.headers.get("cache-control")).toContain("no-store");
    expect(Buffer.from(await response.arrayBuffer())).toEqual(PIXEL_GIF);
    // A mail client shows it inside a message: the pixel alone may be embedded from elsewhere.
    expect(response.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const message = await probe.waitFor(
      (m) =>
        m.attributes["ce-type"] === "com.eventline.invitation.opened" &&
        m.attributes["ce-subject"] === "inv-known",
    );
    expect(message.attributes["ce-source"]).toBe(TRACKER_SOURCE);
    expect(codec.decode({ data: message.data, attributes: message.attributes }).data).toMatchObject(
      { invitationId: "inv-known", cardId: "", userAgent: "Mail/1.0" },
    );
  });

  it("redirects a click to an allowed host and publishes invitation.clicked with the invitation id", async () => {
    const to = "https://cards.example.com/cards/card-7";
    const response = await fetch(`${tracker}/t/click/inv-unknown?to=${encodeURIComponent(to)}`, {
      redirect: "manual",
    });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(to);
    expect(response.headers.get("cross-origin-resource-policy")).toBe("same-origin");
    const message = await probe.waitFor(
      (m) =>
        m.attributes["ce-type"] === "com.eventline.invitation.clicked" &&
        m.attributes["ce-subject"] === "inv-unknown",
    );
    expect(codec.decode({ data: message.data, attributes: message.attributes }).data).toMatchObject(
      { invitationId: "inv-unknown", targetUrl: to, cardId: "" },
    );
  });

  it.each([
    ["https://evil.example.net/phish", "not an allowed redirect host"],
    ["javascript:alert(1)", "must be http or https"],
    ["/relative", "not an absolute URL"],
  ])("refuses to redirect a click to %s and publishes nothing", async (to, reason) => {
    const before = probe.messages.length;
    const response = await fetch(`${tracker}/t/click/inv-1?to=${encodeURIComponent(to)}`, {
      redirect: "manual",
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain(reason);
    await drained();
    expect(probe.messages.length).toBe(before + 1);
  });

  it("serves nothing but the tracking links and its probes", async () => {
    expect(
      (
        await fetch(`${tracker}/v1/events`, {
          method: "POST",
          headers: binaryHeaders("com.skillancer.user.created"),
          body: "{}",
        })
      ).status,
    ).toBe(404);
    expect((await fetch(`${tracker}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/t/open/inv-1`)).status).toBe(404);
  });

  it("answers a client past its limit with 429 and Retry-After, and publishes nothing for it", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < TRACKER_LIMIT + 2; i++)
      statuses.push((await fetch(`${tracker}/t/open/inv-flood-${i}`)).status);
    const refused = await fetch(`${tracker}/t/open/inv-flood-last`);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
    await drained();
    expect(probe.messages.some((m) => m.attributes["ce-subject"] === "inv-flood-last")).toBe(false);
  });
});

describe("the gateway server", () => {
  it("answers /healthz and /readyz", async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it("answers an unknown path with 404 and a wrong method with 405", async () => {
    expect((await fetch(`${base}/v2/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/v1/events`)).status).toBe(405);
  });

  it("says which port is in use instead of failing with a stack trace", async () => {
    const port = (server.address() as AddressInfo).port;
    await expect(
      startGatewayServer({
        gateway: new EventGateway(codec, { publish: async () => [], flush: async () => {} }),
        logger: pino({ level: "silent" }),
        authenticate: noAuthentication,
        producers: [],
        eventTypes,
        port,
      }),
    ).rejects.toThrow(`port ${port} is in use; stop what runs there or set PORT to another port`);
  });
});

describe("the gateway in the handler image", () => {
  it("reads its settings, and the tracker allows redirects to where cards live", () => {
    expect(
      serviceConfig(new Settings({ GOOGLE_CLOUD_PROJECT: "p", STACK: "dev" }), "gateway"),
    ).toEqual({
      port: 8080,
      host: "0.0.0.0",
      projectId: "p",
      stack: "dev",
      pubsubEmulator: undefined,
    });
    expect(() => serviceConfig(new Settings({ STACK: "dev" }), "gateway")).toThrow(
      "GOOGLE_CLOUD_PROJECT is not set",
    );
    expect(() => serviceConfig(new Settings({ GOOGLE_CLOUD_PROJECT: "p" }), "tracker")).toThrow(
      "STACK is not set",
    );
    expect(
      redirectHosts(
        new Settings({
          EVENTLINE_CARD_BASE_URL: "https://cards.example.com/app",
          EVENTLINE_REDIRECT_HOSTS: "shop.example.com, cards.example.com",
        }),
      ),
    ).toEqual(["cards.example.com", "shop.example.com"]);
    expect(() => redirectHosts(new Settings({}))).toThrow("EVENTLINE_CARD_BASE_URL is not set");
  });

  it("runs with MODE=gateway from the image's entrypoint, becomes ready, takes an event, and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    // The producers' tokens come from a local issuer whose keys the gateway fetches, as in the
    // cloud it fetches Google's.
    const issuer = await localIssuer(join(mkdtempSync(join(tmpdir(), "issuer-")), "issuer.json"));
    const keys = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(issuer.jwks()));
    });
    await new Promise<void>((resolve) => keys.listen(0, "127.0.0.1", resolve));
    const child = spawn(
      process.execPath,
      ["-r", "tsx/cjs", join(__dirname, "..", "..", "handlers", "main.ts")],
      {
        env: {
          ...process.env,
          MODE: "gateway",
          PORT: String(port),
          GOOGLE_CLOUD_PROJECT: "gateway-test",
          STACK: "local",
          PUBSUB_EMULATOR_HOST: emulator.host,
          LOG_LEVEL: "warn",
          EVENTLINE_GATEWAY_AUDIENCE: LOCAL_GATEWAY_AUDIENCE,
          EVENTLINE_PRODUCER_ACCOUNTS: JSON.stringify({
            "user-service": localProducerEmail("user-service"),
          }),
          TOKEN_ISSUER: LOCAL_ISSUER,
          TOKEN_JWKS_URL: `http://127.0.0.1:${(keys.address() as AddressInfo).port}/jwks`,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    try {
      await expect
        .poll(
          async () =>
            (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status,
          { timeout: 20_000 },
        )
        .toBe(200);
      const anonymous = await fetch(`http://127.0.0.1:${port}/v1/events`, {
        method: "POST",
        headers: binaryHeaders("com.skillancer.user.created", { "ce-id": "evt-image-0" }),
        body: JSON.stringify({ userId: "u-image" }),
      });
      expect(anonymous.status).toBe(401);
      const response = await fetch(`http://127.0.0.1:${port}/v1/events`, {
        method: "POST",
        headers: binaryHeaders("com.skillancer.user.created", {
          "ce-id": "evt-image-1",
          authorization: `Bearer ${await issuer.token("user-service")}`,
        }),
        body: JSON.stringify({ userId: "u-image" }),
      });
      expect(response.status, await response.clone().text()).toBe(202);
      const message = await probe.waitFor((m) => m.attributes["ce-id"] === "evt-image-1");
      expect(message.attributes["ce-producer"]).toBe("user-service");
    } finally {
      child.kill("SIGTERM");
      keys.close();
    }
    expect(await exited, stderr).toBe(0);
  });
});

describe("the tracker in the handler image", () => {
  it("runs with MODE=tracker from the image's entrypoint, becomes ready, publishes an open, and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ["-r", "tsx/cjs", join(__dirname, "..", "..", "handlers", "main.ts")],
      {
        env: {
          PATH: process.env["PATH"] ?? "",
          METADATA_SERVER_DETECTION: "none",
          MODE: "tracker",
          PORT: String(port),
          GOOGLE_CLOUD_PROJECT: "gateway-test",
          STACK: "local",
          PUBSUB_EMULATOR_HOST: emulator.host,
          EVENTLINE_CARD_BASE_URL: "https://cards.example.com",
          LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    try {
      await expect
        .poll(
          async () =>
            (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status,
          { timeout: 20_000 },
        )
        .toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/t/open/inv-image-1`)).status).toBe(200);
      await probe.waitFor(
        (m) =>
          m.attributes["ce-subject"] === "inv-image-1" &&
          m.attributes["ce-type"] === "com.eventline.invitation.opened",
      );
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited, stderr).toBe(0);
  });

  it("exits 2 naming the card base URL when it is not set, before it serves", () => {
    const result = spawnSync(
      process.execPath,
      ["-r", "tsx/cjs", join(__dirname, "..", "..", "handlers", "main.ts")],
      {
        env: {
          PATH: process.env["PATH"] ?? "",
          METADATA_SERVER_DETECTION: "none",
          MODE: "tracker",
          GOOGLE_CLOUD_PROJECT: "p",
          STACK: "dev",
        },
        encoding: "utf8",
        timeout: 20_000,
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^eventline: EVENTLINE_CARD_BASE_URL is not set: clicks redirect to cards there/,
    );
  });
});
