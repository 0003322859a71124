import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PubSub } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  idTokenVerifier,
  UnauthorizedError,
  type TokenIdentity,
} from "../../handlers/runtime/oidc";
import { freePort, startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import { startPushRelay, type PushRelay } from "../../tools/verify/push-relay";

const audience = "https://eventline.test/push/search-users";
const serviceAccountEmail = "push-search-users@verify-test.iam.gserviceaccount.com";

/** A push endpoint that verifies tokens as the runtime's push host does: 204 when they verify, 401 when not. */
interface Endpoint {
  url: string;
  received: {
    identity?: TokenIdentity;
    refusal?: string;
    contentType: string | undefined;
    body: string;
  }[];
  server: Server;
}

let relay: PushRelay;
let endpoint: Endpoint;
let emulator: RunningEmulator | undefined;

beforeAll(async () => {
  relay = await startPushRelay();
  const verify = idTokenVerifier({
    audience,
    serviceAccountEmail,
    jwks: new URL(relay.jwksUrl),
    issuer: relay.issuer,
  });
  const received: Endpoint["received"] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const entry = {
        contentType: request.headers["content-type"],
        body: Buffer.concat(chunks).toString("utf8"),
      };
      verify(request.headers.authorization).then(
        (identity) => {
          received.push({ ...entry, identity });
          response.writeHead(204).end();
        },
        (err: unknown) => {
          received.push({ ...entry, refusal: String(err) });
          response.writeHead(err instanceof UnauthorizedError ? 401 : 503).end(String(err));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received,
    server,
  };
  emulator = await startEmulator("pubsub");
}, 60_000);

afterAll(async () => {
  await relay?.close();
  endpoint?.server.closeAllConnections();
  await new Promise((resolve) => endpoint?.server.close(resolve));
  await emulator?.stop();
});

describe("the push relay", () => {
  it("mints tokens the runtime's idTokenVerifier accepts, and forwards the body and content type", async () => {
    const url = relay.route("search-users", { url: endpoint.url, audience, serviceAccountEmail });
    expect(url).toBe(`${relay.issuer}/push/search-users`);
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"message":{"data":"e30="}}',
    });
    expect(response.status).toBe(204);
    expect(endpoint.received.at(-1)).toEqual({
      identity: { email: serviceAccountEmail, subject: expect.stringMatching(/^\d{21}$/) },
      contentType: "application/json",
      body: '{"message":{"data":"e30="}}',
    });
    expect(relay.relayed).toContainEqual({ consumer: "search-users", status: 204 });
  });

  it("refuses, through the verifier, a token for another audience or another service account", async () => {
    const verify = idTokenVerifier({
      audience,
      serviceAccountEmail,
      jwks: new URL(relay.jwksUrl),
      issuer: relay.issuer,
    });
    await expect(
      verify(
        `Bearer ${await relay.token({ audience: "https://eventline.test/push/other", serviceAccountEmail })}`,
      ),
    ).rejects.toThrow(UnauthorizedError);
    await expect(
      verify(
        `Bearer ${await relay.token({ audience, serviceAccountEmail: "someone@verify-test.iam.gserviceaccount.com" })}`,
      ),
    ).rejects.toThrow(/token is for someone@/);
    const url = relay.route("misrouted", {
      url: endpoint.url,
      audience: "https://eventline.test/push/other",
      serviceAccountEmail,
    });
    expect((await fetch(url, { method: "POST", body: "{}" })).status).toBe(401);
    expect(relay.relayed).toContainEqual({ consumer: "misrouted", status: 401 });
  });

  it("answers 502 when the workload cannot be reached, which Pub/Sub takes as a nack", async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}/`;
    const url = relay.route("gone", { url: nowhere, audience, serviceAccountEmail });
    const response = await fetch(url, { method: "POST", body: "{}" });
    expect(response.status).toBe(502);
    expect(await response.text()).toContain(`could not reach gone at ${nowhere}`);
  });

  it("carries a message from the Pub/Sub emulator's push subscription to the workload, signed", async () => {
    const pubsub = new PubSub({
      projectId: "verify-relay-test",
      apiEndpoint: emulator!.host,
      emulatorMode: true,
    });
    try {
      const [topic] = await pubsub.createTopic("users");
      await topic.createSubscription("search-users", {
        pushConfig: {
          pushEndpoint: relay.route("search-users", {
            url: endpoint.url,
            audience,
            serviceAccountEmail,
          }),
        },
      });
      const before = endpoint.received.length;
      await topic.publishMessage({
        data: Buffer.from("hello"),
        attributes: { "ce-type": "com.skillancer.user.created" },
      });
      const deadline = Date.now() + 20_000;
      while (endpoint.received.length === before && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      const pushed = endpoint.received.at(-1)!;
      expect(pushed.identity?.email).toBe(serviceAccountEmail);
      const envelope = JSON.parse(pushed.body) as {
        message: { data: string; attributes: Record<string, string> };
        subscription: string;
      };
      expect(Buffer.from(envelope.message.data, "base64").toString()).toBe("hello");
      expect(envelope.message.attributes["ce-type"]).toBe("com.skillancer.user.created");
    } finally {
      await pubsub.close();
    }
  }, 30_000);
});
