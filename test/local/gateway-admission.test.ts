/**
 * Who may post what to the gateway (handlers/gateway/admission.ts), over HTTP against a real
 * Pub/Sub emulator: tokens of the local issuer, the declared producers' types and sources, the
 * attributes the platform owns, each producer's rate limit, the security headers, and the local
 * server's guard.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { request as httpRequest, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PubSub } from "@google-cloud/pubsub";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  admitEvent,
  admitShare,
  MAX_CLOCK_SKEW_SECONDS,
  noAuthentication,
  withPlatformAttributes,
} from "../../handlers/gateway/admission";
import { EventGateway } from "../../handlers/gateway/gateway";
import { HttpError } from "../../handlers/gateway/http";
import type { HttpEvent } from "../../handlers/gateway/http-event";
import { startGatewayServer } from "../../handlers/gateway/server";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec } from "../../handlers/runtime/codec";
import type { EventType } from "../../handlers/runtime/event-types";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { toProto3Json } from "../../handlers/runtime/proto-json";
import { PubSubPublisher } from "../../handlers/runtime/publisher";
import { ClientRateLimit } from "../../handlers/tracker/rate-limit";
import { freePort, startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import { localGuard } from "../../tools/local/local-guard";
import { localIssuer, type LocalIssuer } from "../../tools/local/local-issuer";
import { samplePayloads } from "../../tools/samples/events";
import { probeTopics, type Probe } from "./pubsub-probe";

const eventTypes = eventTypesFor("local");
const { producers } = eventTypes.system;
/** Requests per producer per minute; only payment-service comes near it here. */
const PRODUCER_LIMIT = 40;

let emulator: RunningEmulator;
let pubsub: PubSub;
let server: Server;
let probe: Probe;
let issuer: LocalIssuer;
let port: number;
let base: string;

beforeAll(async () => {
  emulator = await startEmulator("pubsub");
  pubsub = new PubSub({
    projectId: "admission-test",
    apiEndpoint: emulator.host,
    emulatorMode: true,
  });
  for (const topic of eventTypes.system.topics) await pubsub.createTopic(topic.name);
  probe = await probeTopics(pubsub, ["users", "campaigns", "viral-shares", "viral-funnel"]);
  issuer = await localIssuer(join(mkdtempSync(join(tmpdir(), "issuer-")), "issuer.json"));
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = await startGatewayServer({
    gateway: new EventGateway(
      new EventCodec(eventTypes),
      new PubSubPublisher(pubsub, eventTypes, new RuntimeMetrics()),
    ),
    logger: pino({ level: "silent" }),
    authenticate: issuer.authentication(producers),
    producers,
    eventTypes,
    rateLimit: new ClientRateLimit({ requests: PRODUCER_LIMIT, perSeconds: 60 }),
    guard: localGuard(port),
    port,
  });
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await probe?.close();
  await pubsub?.close();
  await emulator?.stop();
});

/** The sample payload of `type` in the proto3 JSON form the gateway takes. */
function sample(type: EventType): Record<string, unknown> {
  const message = eventTypes.get(type).message;
  return toProto3Json(message, message.fromObject(samplePayloads[type] as Record<string, unknown>));
}

const USER = sample("com.skillancer.user.created");

async function bearer(producer: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await issuer.token(producer)}` };
}

function event(
  type: string,
  source: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    "content-type": "application/json",
    "ce-specversion": "1.0",
    "ce-type": type,
    "ce-source": source,
    "ce-id": randomUUID(),
    ...extra,
  };
}

async function post(
  path: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<{
  status: number;
  body: { error?: string; reason?: string; id?: string };
  headers: Headers;
}> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as never,
    headers: response.headers,
  };
}

describe("producer authentication", () => {
  it("refuses a request without a token, or with one that is not a token, with 401 and how to get one", async () => {
    for (const authorization of [undefined, "Bearer not-a-token", "Basic dXNlcjpwYXNz"]) {
      const answer = await post(
        "/v1/events",
        {
          ...event("com.skillancer.user.created", "//user-service"),
          ...(authorization !== undefined && { authorization }),
        },
        USER,
      );
      expect(answer.status, authorization).toBe(401);
      expect(answer.headers.get("www-authenticate")).toBe("Bearer");
      expect(answer.body.reason).toBe("unauthenticated");
      expect(answer.body.error).toContain("npx eventline token <producer>");
    }
  });

  it("refuses a token signed by a key it does not trust", async () => {
    const stranger = await localIssuer(join(mkdtempSync(join(tmpdir(), "issuer-")), "issuer.json"));
    const answer = await post(
      "/v1/events",
      {
        ...event("com.skillancer.user.created", "//user-service"),
        authorization: `Bearer ${await stranger.token("user-service")}`,
      },
      USER,
    );
    expect(answer.status).toBe(401);
  });

  it("refuses a valid token of an account that is no declared producer with 403", async () => {
    const answer = await post(
      "/v1/events",
      { ...event("com.skillancer.user.created", "//user-service"), ...(await bearer("intruder")) },
      USER,
    );
    expect(answer.status).toBe(403);
    expect(answer.body.reason).toBe("not-a-producer");
    expect(answer.body.error).toContain("intruder@producers.eventline.local");
  });
});

describe("what a producer may post", () => {
  it("admits a declared type from its own source, or a path under it, and publishes it stamped with the producer and the time received", async () => {
    const before = Date.now();
    for (const source of ["//user-service", "//user-service/eu-west"]) {
      const headers = {
        ...event("com.skillancer.user.created", source),
        ...(await bearer("user-service")),
      };
      const answer = await post("/v1/events", headers, USER);
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      const message = await probe.waitFor((m) => m.attributes["ce-id"] === headers["ce-id"]);
      expect(message.attributes["ce-producer"]).toBe("user-service");
      const received = Date.parse(message.attributes["ce-receivedtime"]!);
      expect(received).toBeGreaterThanOrEqual(before - 1000);
      expect(received).toBeLessThanOrEqual(Date.now() + 1000);
    }
  });

  it("refuses a type the producer does not declare, naming what it may post", async () => {
    const answer = await post(
      "/v1/events",
      {
        ...event("com.eventline.campaign.created", "//user-service"),
        ...(await bearer("user-service")),
      },
      sample("com.eventline.campaign.created"),
    );
    expect(answer.status).toBe(403);
    expect(answer.body.reason).toBe("type-not-allowed");
    expect(answer.body.error).toContain("com.skillancer.user.created");
  });

  it("refuses a source outside the producer's, including one that only starts the same", async () => {
    for (const source of ["//campaign-manager", "//user-service-copy", "/services/ingestion"]) {
      const answer = await post(
        "/v1/events",
        { ...event("com.skillancer.user.created", source), ...(await bearer("user-service")) },
        USER,
      );
      expect(answer.status, source).toBe(403);
      expect(answer.body.reason).toBe("source-not-allowed");
    }
  });

  it("takes an invitation's conversion only from the app that shares, and shares never as raw events", async () => {
    const conversion = sample("com.eventline.invitation.converted");
    const byOther = await post(
      "/v1/events",
      {
        ...event("com.eventline.invitation.converted", "//cards-app"),
        ...(await bearer("analytics")),
      },
      conversion,
    );
    expect(byOther.status).toBe(403);
    const byApp = await post(
      "/v1/events",
      {
        ...event("com.eventline.invitation.converted", "//cards-app"),
        ...(await bearer("cards-app")),
      },
      conversion,
    );
    expect(byApp.status, JSON.stringify(byApp.body)).toBe(202);
    const rawShare = await post(
      "/v1/events",
      { ...event("com.eventline.share.requested", "//cards-app"), ...(await bearer("cards-app")) },
      sample("com.eventline.share.requested"),
    );
    expect(rawShare.status).toBe(403);
    expect(rawShare.body.reason).toBe("type-not-allowed");
  });

  it("takes share requests only from a producer that declares shares", async () => {
    const share = {
      senderUserId: "user-1",
      cardId: "card-1",
      recipients: [{ channel: "email", recipient: "ana@example.com" }],
    };
    const json = { "content-type": "application/json" };
    const byOther = await post("/v1/shares", { ...json, ...(await bearer("user-service")) }, share);
    expect(byOther.status).toBe(403);
    expect(byOther.body.reason).toBe("shares-not-allowed");
    const byApp = await post("/v1/shares", { ...json, ...(await bearer("cards-app")) }, share);
    expect(byApp.status, JSON.stringify(byApp.body)).toBe(202);
    const { invitations } = byApp.body as unknown as { invitations: { eventId: string }[] };
    const message = await probe.waitFor((m) => m.attributes["ce-id"] === invitations[0]!.eventId);
    expect(message.attributes["ce-producer"]).toBe("cards-app");
    expect(message.attributes["ce-receivedtime"]).toBeDefined();
  });
});

describe("the attributes the platform owns", () => {
  it.each(["ce-receivedtime", "ce-producer", "ce-causationid", "ce-replayof"])(
    "refuses an event that sets %s",
    async (header) => {
      const answer = await post(
        "/v1/events",
        {
          ...event("com.skillancer.user.created", "//user-service", { [header]: "forged" }),
          ...(await bearer("user-service")),
        },
        USER,
      );
      expect(answer.status).toBe(400);
      expect(answer.body.reason).toBe("platform-attribute");
      expect(answer.body.error).toContain(header);
    },
  );

  it("refuses a time further ahead than clocks drift, and keeps one within it", async () => {
    const ahead = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
    const far = await post(
      "/v1/events",
      {
        ...event("com.skillancer.user.created", "//user-service", {
          "ce-time": ahead(MAX_CLOCK_SKEW_SECONDS + 60),
        }),
        ...(await bearer("user-service")),
      },
      USER,
    );
    expect(far.status).toBe(400);
    expect(far.body.reason).toBe("time-in-future");
    const nearTime = ahead(60);
    const headers = {
      ...event("com.skillancer.user.created", "//user-service", { "ce-time": nearTime }),
      ...(await bearer("user-service")),
    };
    expect((await post("/v1/events", headers, USER)).status).toBe(202);
    const message = await probe.waitFor((m) => m.attributes["ce-id"] === headers["ce-id"]);
    expect(message.attributes["ce-time"]).toBe(nearTime);
  });

  it("refuses a routing attribute, which the platform copies from the payload", () => {
    const cardsApp = producers.find((p) => p.name === "cards-app")!;
    const share: HttpEvent = {
      type: "com.eventline.share.requested",
      source: "//cards-app",
      id: "e1",
      extensions: { channel: "sms" },
      data: {},
      bodyBytes: 2,
    };
    expect(() => withPlatformAttributes(share, cardsApp, eventTypes)).toThrow(
      expect.objectContaining({ status: 400, reason: "platform-attribute" }),
    );
  });
});

describe("without authentication (local only)", () => {
  it("admits as the declared producer that may post the event, and nothing no producer may post", async () => {
    const caller = await noAuthentication({});
    expect(
      admitEvent(caller, producers, {
        type: "com.skillancer.user.created",
        source: "//user-service",
      }).name,
    ).toBe("user-service");
    expect(() =>
      admitEvent(caller, producers, { type: "com.skillancer.user.created", source: "//elsewhere" }),
    ).toThrow(HttpError);
    expect(() =>
      admitEvent(caller, producers, {
        type: "com.eventline.share.requested",
        source: "//cards-app",
      }),
    ).toThrow(expect.objectContaining({ status: 403 }));
    expect(admitShare(caller, producers).name).toBe("cards-app");
  });
});

describe("each producer's rate limit", () => {
  it("answers 429 with Retry-After past the limit, and other producers are still admitted", async () => {
    const payment = sample("com.skillancer.payment.completed");
    const token = await bearer("payment-service");
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i <= PRODUCER_LIMIT; i++) {
      const answer = await post(
        "/v1/events",
        { ...event("com.skillancer.payment.completed", "//payment-service"), ...token },
        payment,
      );
      statuses.push(answer.status);
      if (answer.status === 429) {
        retryAfter = answer.headers.get("retry-after");
        expect(answer.body.reason).toBe("rate-limited");
      }
    }
    expect(
      statuses.slice(0, PRODUCER_LIMIT).every((status) => status === 202),
      String(statuses),
    ).toBe(true);
    expect(statuses[PRODUCER_LIMIT]).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    const other = await post(
      "/v1/events",
      {
        ...event("com.skillancer.booking.created", "//booking-service"),
        ...(await bearer("booking-service")),
      },
      sample("com.skillancer.booking.created"),
    );
    expect(other.status, JSON.stringify(other.body)).toBe(202);
  });
});

describe("every answer", () => {
  it("carries the security headers, accepted, refused or a probe", async () => {
    const accepted = await post(
      "/v1/events",
      {
        ...event("com.skillancer.user.created", "//user-service"),
        ...(await bearer("user-service")),
      },
      USER,
    );
    const refused = await post(
      "/v1/events",
      event("com.skillancer.user.created", "//user-service"),
      USER,
    );
    const probeAnswer = await fetch(`${base}/healthz`);
    for (const headers of [accepted.headers, refused.headers, probeAnswer.headers]) {
      expect(headers.get("x-content-type-options")).toBe("nosniff");
      expect(headers.get("x-frame-options")).toBe("DENY");
      expect(headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(headers.get("cache-control")).toBe("no-store");
      expect(headers.get("cross-origin-resource-policy")).toBe("same-origin");
    }
  });
});

/** A request with headers fetch will not set (Host), answered with its status and reason. */
function raw(
  headers: Record<string, string>,
  method = "POST",
): Promise<{ status: number; reason?: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: "127.0.0.1", port, path: "/v1/events", method, headers },
      (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            reason: (JSON.parse(text) as { reason?: string }).reason,
          }),
        );
      },
    );
    request.on("error", reject);
    request.end(method === "POST" ? JSON.stringify(USER) : undefined);
  });
}

describe("the local server's guard", () => {
  it("refuses a Host that is not this server (DNS rebinding)", async () => {
    const answer = await raw({
      ...event("com.skillancer.user.created", "//user-service"),
      host: "evil.example:80",
    });
    expect(answer).toEqual({ status: 403, reason: "foreign-host" });
  });

  it("refuses a request from another origin (a page in the developer's browser)", async () => {
    const answer = await raw({
      ...event("com.skillancer.user.created", "//user-service"),
      origin: "https://evil.example",
    });
    expect(answer).toEqual({ status: 403, reason: "cross-origin" });
  });

  it("refuses a change that does not say it sends JSON (a cross-site form)", async () => {
    const answer = await raw({
      ...event("com.skillancer.user.created", "//user-service"),
      "content-type": "text/plain",
    });
    expect(answer).toEqual({ status: 415, reason: "json-required" });
  });

  it("lets the server's own origin and its tools through to authentication", async () => {
    const answer = await raw({
      ...event("com.skillancer.user.created", "//user-service"),
      origin: base,
    });
    expect(answer).toEqual({ status: 401, reason: "unauthenticated" });
  });
});
