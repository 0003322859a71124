/**
 * Pub/Sub's part of push authentication, locally. In the cloud Pub/Sub signs every push with an
 * OIDC token for the subscription's audience, minted as its push service account; the emulator
 * pushes without one, and a push host that verifies tokens (MODE=push) refuses its requests.
 * The relay stands between them: the emulator's push subscription points at a route of the
 * relay, which mints the token Pub/Sub would (RS256, a key made at start, published at
 * /jwks.json) and forwards the request to the workload, returning the workload's answer.
 * The runtime's verifier accepts these tokens when given the relay's JWKS URL and issuer.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";

/** Where a route forwards to, and the identity its tokens carry. */
export interface PushTarget {
  /** The workload's push endpoint, e.g. `http://127.0.0.1:40123/`. */
  url: string;
  /** The token's `aud`: the subscription's oidcToken.audience (the workload's PUSH_AUDIENCE). */
  audience: string;
  /** The token's `email`: the service account the subscription pushes as (PUSH_SERVICE_ACCOUNT). */
  serviceAccountEmail: string;
  /** Longest the relay waits for the workload's answer, in seconds, as Pub/Sub waits up to the ack deadline. Default 600. */
  timeoutSeconds?: number;
}

export interface PushRelay {
  /** http://127.0.0.1:<port> — also the token issuer (iss). */
  readonly issuer: string;
  /** Where the keys are: `${issuer}/jwks.json`. */
  readonly jwksUrl: string;
  /** Registers a route and returns the URL the emulator's push subscription should push to. */
  route(consumer: string, target: PushTarget): string;
  /** Requests relayed per consumer, with the status the target answered. */
  readonly relayed: { consumer: string; status: number }[];
  /** Mints the token the relay would send for `target` (for tests of refusals). */
  token(target: Pick<PushTarget, "audience" | "serviceAccountEmail">): Promise<string>;
  close(): Promise<void>;
}

/** Token lifetime, in seconds: Google's ID tokens last an hour. */
const TOKEN_LIFETIME_SECONDS = 3600;

/** Status the relay answers when the workload cannot be reached; Pub/Sub treats it as a nack. */
const UNREACHABLE_STATUS = 502;

/** A stable numeric subject per service account, as Google's `sub` is the account's unique id. */
function subjectOf(email: string): string {
  const digest = createHash("sha256").update(email).digest();
  return (10n ** 20n + (digest.readBigUInt64BE(0) % (9n * 10n ** 20n))).toString();
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function reply(
  response: ServerResponse,
  status: number,
  body: string | Uint8Array,
  contentType = "text/plain; charset=utf-8",
): void {
  response.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}

/** Starts the relay on a free loopback port. */
export async function startPushRelay(): Promise<PushRelay> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const kid = `eventline-verify-${Date.now().toString(36)}`;
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const jwks = JSON.stringify({ keys: [jwk] });
  const routes = new Map<string, PushTarget>();
  const relayed: { consumer: string; status: number }[] = [];
  let issuer = "";

  const token = (target: Pick<PushTarget, "audience" | "serviceAccountEmail">): Promise<string> =>
    new SignJWT({ email: target.serviceAccountEmail, email_verified: true })
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .setIssuer(issuer)
      .setAudience(target.audience)
      .setSubject(subjectOf(target.serviceAccountEmail))
      .setIssuedAt()
      .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
      .sign(privateKey);

  const relay = async (
    consumer: string,
    target: PushTarget,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> => {
    const body = await readBody(request);
    let status: number;
    try {
      const answer = await fetch(target.url, {
        method: "POST",
        body,
        headers: {
          "content-type": request.headers["content-type"] ?? "application/json",
          authorization: `Bearer ${await token(target)}`,
        },
        signal: AbortSignal.timeout((target.timeoutSeconds ?? 600) * 1000),
      });
      status = answer.status;
      reply(
        response,
        status,
        new Uint8Array(await answer.arrayBuffer()),
        answer.headers.get("content-type") ?? "text/plain; charset=utf-8",
      );
    } catch (err) {
      status = UNREACHABLE_STATUS;
      reply(
        response,
        status,
        `the push relay could not reach ${consumer} at ${target.url}: ${err instanceof Error ? err.message : String(err)}\n`,
      );
    }
    relayed.push({ consumer, status });
  };

  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0]!;
    if (request.method === "GET" && path === "/jwks.json")
      return reply(response, 200, jwks, "application/json");
    const route = /^\/push\/([^/]+)$/.exec(path);
    const consumer = route === null ? undefined : decodeURIComponent(route[1]!);
    const target = consumer === undefined ? undefined : routes.get(consumer);
    if (request.method !== "POST" || consumer === undefined || target === undefined) {
      request.resume();
      return reply(
        response,
        404,
        `no push route ${path}; routes: ${[...routes.keys()].map((name) => `/push/${name}`).join(", ") || "none"}\n`,
      );
    }
    relay(consumer, target, request, response).catch((err: unknown) => {
      if (!response.headersSent) reply(response, 500, `the push relay failed: ${String(err)}\n`);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/jwks.json`,
    route(consumer, target) {
      routes.set(consumer, target);
      return `${issuer}/push/${encodeURIComponent(consumer)}`;
    },
    relayed,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
