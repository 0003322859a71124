import { randomUUID } from "node:crypto";
import { system } from "../../infra/system";
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import type { OutgoingMessage } from "../../handlers/runtime/codec";
import { DEAD_LETTER_ATTRIBUTES as DL } from "../../handlers/runtime/dead-letter";
import { capabilityChecks } from "../../handlers/adapters/environment";
import { DeliveryProcessor } from "../../handlers/runtime/delivery";
import { launch, type RunningRuntime } from "../../handlers/runtime/launcher";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { PushHost } from "../../handlers/runtime/push-host";
import { OutsideCalls } from "../../handlers/runtime/resilience";
import { CapturingPublisher } from "../../handlers/testing/run-handler";
import { createLogger } from "../../handlers/runtime/logger";
import { GOOGLE_ISSUER } from "../../handlers/runtime/oidc";
import { provision } from "../../tools/local/provision";
import { useEmulators } from "../support/emulators";
import { collect, publishRaw, shareRequested, subscriptionOf, waitFor } from "../support/pubsub";
import { applied, testRegistry } from "../support/test-handlers";

const emulators = useEmulators();
const AUDIENCE = "https://sms-worker.example.run.app";
const PUSHER = "pubsub-push@eventline-test.iam.gserviceaccount.com";

let privateKey: CryptoKey;
let otherKey: CryptoKey;
let jwksServer: Server;
/** Verifies tokens against a JWKS served on a local URL. */
let verified: RunningRuntime;
/** Local mode with PUSH_VERIFY=off, pushed to by the emulator. */
let unverified: RunningRuntime;

interface Claims {
  iss?: string;
  aud?: string;
  email?: string;
  iat?: number;
  exp?: number;
}

async function token(claims: Claims = {}, key: CryptoKey = privateKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: claims.email ?? PUSHER, email_verified: true })
    .setProtectedHeader({ alg: "RS256", kid: "test-key" })
    .setIssuer(claims.iss ?? GOOGLE_ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject("1234567890")
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 300)
    .sign(key);
}

function pushBody(message: OutgoingMessage, messageId: string, deliveryAttempt?: number): string {
  return JSON.stringify({
    message: {
      data: message.data.toString("base64"),
      attributes: message.attributes,
      messageId,
      publishTime: new Date().toISOString(),
    },
    subscription: `projects/${emulators.projectId}/subscriptions/${subscriptionOf("sms-worker")}`,
    ...(deliveryAttempt !== undefined && { deliveryAttempt }),
  });
}

async function push(body: string, authorization?: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${verified.port}/`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(authorization !== undefined && { authorization }),
    },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

async function appliedCount(eventId: string): Promise<number> {
  return (await applied.ref(emulators.firestore, eventId).get()).data()?.count ?? 0;
}

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  privateKey = pair.privateKey;
  otherKey = (await generateKeyPair("RS256")).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
  jwksServer = createServer((_req, res) =>
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })),
  );
  jwksServer.listen(0, "127.0.0.1");
  await once(jwksServer, "listening");
  const jwksPort = (jwksServer.address() as { port: number }).port;
  const common = { HANDLER: "sms-worker", PORT: "0" };
  verified = await launch({
    system,
    capabilityChecks,
    registry: testRegistry,
    env: emulators.runtimeEnv({
      ...common,
      MODE: "local",
      PUSH_AUDIENCE: AUDIENCE,
      PUSH_SERVICE_ACCOUNT: PUSHER,
      TOKEN_JWKS_URL: `http://127.0.0.1:${jwksPort}/certs`,
    }),
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
  });
  unverified = await launch({
    system,
    capabilityChecks,
    registry: testRegistry,
    env: emulators.runtimeEnv({ ...common, MODE: "local", PUSH_VERIFY: "off" }),
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
  });
  await provision(emulators.pubsub, eventTypesFor("local").system, {
    consumers: ["sms-worker"],
    retry: { minBackoffSeconds: 0.1, maxBackoffSeconds: 0.5 },
    pushEndpoints: { "sms-worker": `http://127.0.0.1:${unverified.port}/` },
  });
}, 60_000);

afterAll(async () => {
  await verified?.stop();
  await unverified?.stop();
  jwksServer?.close();
}, 30_000);

describe("the push host", { timeout: 60_000 }, () => {
  const refusals: { name: string; authorization: () => Promise<string | undefined> }[] = [
    { name: "a missing token", authorization: async () => undefined },
    { name: "a malformed header", authorization: async () => "Basic dXNlcjpwYXNz" },
    {
      name: "an expired token",
      authorization: async () =>
        `Bearer ${await token({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })}`,
    },
    {
      name: "a token for another audience",
      authorization: async () => `Bearer ${await token({ aud: "https://someone-else.run.app" })}`,
    },
    {
      name: "a token from another issuer",
      authorization: async () => `Bearer ${await token({ iss: "https://evil.example.com" })}`,
    },
    {
      name: "a token for another service account",
      authorization: async () =>
        `Bearer ${await token({ email: "intruder@example.iam.gserviceaccount.com" })}`,
    },
    {
      name: "a token signed by an unknown key",
      authorization: async () => `Bearer ${await token({}, otherKey)}`,
    },
  ];

  it.each(refusals)(
    "rejects $name with 401 and does not handle the message",
    async ({ authorization }) => {
      const message = shareRequested({}, { channel: "sms" });
      expect(
        await push(pushBody(message, `m-${message.attributes["ce-id"]}`), await authorization()),
      ).toBe(401);
      expect(await appliedCount(message.attributes["ce-id"]!)).toBe(0);
    },
  );

  it("accepts a valid token, handles the event and acks with 204", async () => {
    const message = shareRequested({}, { channel: "sms" });
    expect(await push(pushBody(message, "m-valid", 1), `Bearer ${await token()}`)).toBe(204);
    expect(await appliedCount(message.attributes["ce-id"]!)).toBe(1);
  });

  it("nacks a retryable failure with 503 and acks its successful retry", async () => {
    const message = shareRequested({ behaviour: "fail-before-attempt-3" }, { channel: "sms" });
    const auth = `Bearer ${await token()}`;
    expect(await push(pushBody(message, "m-retry", 1), auth)).toBe(503);
    expect(await push(pushBody(message, "m-retry", 2), auth)).toBe(503);
    expect(await push(pushBody(message, "m-retry", 3), auth)).toBe(204);
    expect(
      (await applied.ref(emulators.firestore, message.attributes["ce-id"]!).get()).data()?.attempt,
    ).toBe(3);
  });

  it("dead-letters a failure on the subscription's last attempt and acks it", async () => {
    const message = shareRequested({ behaviour: "always-fail" }, { channel: "sms" });
    const parked = collect(
      emulators.pubsub,
      "sms-worker-dlq-parking",
      1,
      (m) => m.attributes[DL.messageId] === "m-last",
    );
    expect(await push(pushBody(message, "m-last", 5), `Bearer ${await token()}`)).toBe(204);
    const [dead] = await parked;
    expect(dead!.attributes).toMatchObject({
      [DL.reason]: "max-delivery-attempts",
      [DL.attempt]: "5",
      [DL.consumer]: "sms-worker",
    });
  });

  it("takes a push from any subscription the consumer has had, and answers 400 to another consumer's", async () => {
    const from = (subscription: string) => {
      const body = JSON.parse(pushBody(shareRequested({}, { channel: "sms" }), randomUUID()));
      return JSON.stringify({
        ...body,
        subscription: `projects/${emulators.projectId}/subscriptions/${subscription}`,
      });
    };
    // The one it is leaving while a filter change migrates it pushes here too.
    expect(await push(from("sms-worker-0a1b2c3d"), `Bearer ${await token()}`)).toBe(204);
    expect(await push(from(subscriptionOf("email-worker")), `Bearer ${await token()}`)).toBe(400);
    expect(await push(from("sms-worker"), `Bearer ${await token()}`)).toBe(400);
  });

  it("answers 400 to a body that is not a Pub/Sub push request", async () => {
    expect(await push('{"hello":1}', `Bearer ${await token()}`)).toBe(400);
    expect(await push("not json", `Bearer ${await token()}`)).toBe(400);
  });

  it("takes pushes from the emulator in local mode with verification off, counting attempts itself", async () => {
    const ok = shareRequested({}, { channel: "sms" });
    const flaky = shareRequested({ behaviour: "fail-before-attempt-3" }, { channel: "sms" });
    await publishRaw(emulators.pubsub, [ok, flaky]);
    await waitFor(
      async () => (await appliedCount(ok.attributes["ce-id"]!)) === 1,
      "the pushed event to be applied",
    );
    await waitFor(
      async () => (await appliedCount(flaky.attributes["ce-id"]!)) === 1,
      "the flaky event to succeed on its third push",
      45_000,
    );
    expect(
      (await applied.ref(emulators.firestore, flaky.attributes["ce-id"]!).get()).data()?.attempt,
    ).toBe(3);
  });

  it("waits out the declared backoff before a nack answers, when asked to, and answers at once on stop", async () => {
    const logger = createLogger({ level: "silent" });
    const eventTypes = eventTypesFor("local");
    const consumer = eventTypes.system.consumers.find((c) => c.name === "sms-worker")!;
    const host = new PushHost({
      processor: new DeliveryProcessor({
        consumer,
        handler: testRegistry["sms-sender"]!,
        eventTypes,
        firestore: emulators.firestore,
        publisher: new CapturingPublisher(),
        metrics: new RuntimeMetrics(),
        logger,
        outsideCalls: new OutsideCalls(logger),
      }),
      logger,
      verify: false,
      waitOutBackoff: true,
    });
    const server = createServer(host.handle).listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const flaky = shareRequested({ behaviour: "fail-before-attempt-3" }, { channel: "sms" });
      const started = Date.now();
      let answeredAt: number | undefined;
      const answer = fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: pushBody(flaky, "m-backoff", 1),
      }).then((response) => {
        answeredAt = Date.now();
        return response.status;
      });
      // The first attempt's backoff is the declared minimum (10 s by default): still waiting.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(answeredAt).toBeUndefined();
      expect(consumer.retry.minBackoffSeconds).toBeGreaterThan(2);
      await host.stop();
      expect(await answer).toBe(503);
      expect(answeredAt! - started).toBeLessThan(consumer.retry.minBackoffSeconds * 1000);
    } finally {
      server.close();
    }
  });
});
