/**
 * The gateway and the tracker as processes (MODE=gateway and MODE=tracker in the handler
 * image, on Cloud Run), and the gateway as the front door of `npm start`. Their settings
 * (infra/model/settings.ts): PORT, GOOGLE_CLOUD_PROJECT and STACK (required), LOG_LEVEL,
 * PUBSUB_EMULATOR_HOST; the tracker's also EVENTLINE_CARD_BASE_URL and
 * EVENTLINE_REDIRECT_HOSTS. Each answers /readyz once it serves, and 503 from SIGTERM on,
 * while it stops taking requests and flushes what it is publishing.
 */
import type { Server } from "node:http";
import { PubSub } from "@google-cloud/pubsub";
import type { Logger } from "pino";
import { eventTypesFor } from "../declared";
import { EventCodec } from "../runtime/codec";
import { portSetting, urlSetting } from "../runtime/config";
import { idTokenVerifier } from "../runtime/oidc";
import { RuntimeMetrics } from "../runtime/metrics";
import { PubSubPublisher } from "../runtime/publisher";
import { ConfigError, type Settings } from "../runtime/settings";
import { ClientRateLimit } from "../tracker/rate-limit";
import { trackerRoute } from "../tracker/server";
import { tokenAuthentication, type Authenticate } from "./admission";
import { EventGateway } from "./gateway";
import { startGatewayServer, startHttpServer, type GatewayServerOptions } from "./server";
import { shareChannels } from "./shares";

export interface GatewayConfig {
  port: number;
  /** Interface to listen on: all of them in a container, loopback locally. */
  host: string;
  projectId: string;
  stack: string;
}

/** The settings the gateway and the tracker share. @throws ConfigError naming a missing or bad variable. */
export function serviceConfig(
  settings: Settings,
  service: "gateway" | "tracker",
): GatewayConfig & { pubsubEmulator: string | undefined } {
  const projectId = settings.require(
    "GOOGLE_CLOUD_PROJECT",
    `the ${service} needs the project of its topics`,
  );
  const stack = settings.require(
    "STACK",
    "name the stack whose declaration applies, e.g. STACK=prod",
  );
  // Every interface: the container's network is the only way in.
  return {
    port: portSetting(settings),
    host: "0.0.0.0",
    projectId,
    stack,
    pubsubEmulator: settings.get("PUBSUB_EMULATOR_HOST"),
  };
}

/**
 * The hosts a tracking click may redirect to: the card base URL's, and those listed.
 * @throws ConfigError when the card base URL is missing or not a URL.
 */
export function redirectHosts(settings: Settings): string[] {
  const cardBase = settings.require(
    "EVENTLINE_CARD_BASE_URL",
    "clicks redirect to cards there (pulumi config set eventline:cardBaseUrl https://app.example.com)",
  );
  let cardHost: string;
  try {
    cardHost = new URL(cardBase).host;
  } catch {
    throw new ConfigError(`EVENTLINE_CARD_BASE_URL "${cardBase}" is not a URL`);
  }
  const listed = settings
    .withDefault("EVENTLINE_REDIRECT_HOSTS")
    .split(",")
    .map((host) => host.trim())
    .filter(Boolean);
  return [...new Set([cardHost, ...listed])];
}

export interface RunningGateway {
  server: Server;
  gateway: EventGateway;
  /** Stops taking requests, then flushes what is being published. */
  close(): Promise<void>;
}

export interface GatewayDependencies {
  pubsub: PubSub;
  logger: Logger;
  /** Who a request is from (admission.ts). */
  authenticate: Authenticate;
  metrics?: RuntimeMetrics;
  /** See {@link GatewayServerOptions.ready}. */
  ready?: GatewayServerOptions["ready"];
  /** See {@link GatewayServerOptions.fallback}. */
  fallback?: GatewayServerOptions["fallback"];
  /** See {@link GatewayServerOptions.guard}. */
  guard?: GatewayServerOptions["guard"];
  /** Who may post what. Default: the declaration's producers. */
  producers?: GatewayServerOptions["producers"];
  /** Requests per producer; null for none (the benchmarks' load). Default: the declaration's. */
  rateLimit?: { requests: number; perSeconds: number } | null;
}

/**
 * How the gateway in the image authenticates producers: their Google-signed ID tokens for its
 * audience, each email the account of a declared producer.
 * @throws ConfigError naming a missing or bad setting.
 */
export function producerAuthentication(settings: Settings, stack: string): Authenticate {
  const audience = settings.require(
    "EVENTLINE_GATEWAY_AUDIENCE",
    "producers' ID tokens are issued for it (the program sets the gateway's custom audience)",
  );
  const text = settings.require(
    "EVENTLINE_PRODUCER_ACCOUNTS",
    "the gateway maps each token's account to a declared producer (the program sets it)",
  );
  let accounts: unknown;
  try {
    accounts = JSON.parse(text);
  } catch {
    throw new ConfigError(
      'EVENTLINE_PRODUCER_ACCOUNTS is not JSON: give {"<producer>": "<service account email>", …}',
    );
  }
  if (
    accounts === null ||
    typeof accounts !== "object" ||
    Array.isArray(accounts) ||
    !Object.values(accounts).every((email) => typeof email === "string")
  ) {
    throw new ConfigError(
      "EVENTLINE_PRODUCER_ACCOUNTS must map producer names to service account emails",
    );
  }
  const jwks = urlSetting(settings, "TOKEN_JWKS_URL");
  const issuer = settings.get("TOKEN_ISSUER");
  const verify = idTokenVerifier({
    audience,
    requireVerifiedEmail: true,
    ...(jwks !== undefined && { jwks }),
    ...(issuer !== undefined && { issuer }),
  });
  return tokenAuthentication(
    eventTypesFor(stack).system.producers,
    accounts as Record<string, string>,
    verify,
  );
}

/** An EventGateway over its own publisher: what the gateway and the tracker publish through. */
export function publishingGateway(
  stack: string,
  pubsub: PubSub,
  metrics = new RuntimeMetrics(),
): { gateway: EventGateway; publisher: PubSubPublisher } {
  const eventTypes = eventTypesFor(stack);
  const publisher = new PubSubPublisher(pubsub, eventTypes, metrics);
  return { gateway: new EventGateway(new EventCodec(eventTypes), publisher), publisher };
}

function closing(server: Server, publisher: PubSubPublisher): () => Promise<void> {
  return async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await publisher.flush();
  };
}

/** Starts the gateway with clients the caller owns (and closes). */
export async function startGateway(
  config: GatewayConfig,
  deps: GatewayDependencies,
): Promise<RunningGateway> {
  const { gateway, publisher } = publishingGateway(config.stack, deps.pubsub, deps.metrics);
  const eventTypes = eventTypesFor(config.stack);
  const rateLimit =
    deps.rateLimit === undefined ? eventTypes.system.services.gateway.rateLimit : deps.rateLimit;
  const server = await startGatewayServer({
    gateway,
    logger: deps.logger,
    authenticate: deps.authenticate,
    producers: deps.producers ?? eventTypes.system.producers,
    eventTypes,
    ...(rateLimit !== null &&
      rateLimit !== undefined && { rateLimit: new ClientRateLimit(rateLimit) }),
    ...(deps.guard && { guard: deps.guard }),
    port: config.port,
    host: config.host,
    shareChannels: shareChannels(eventTypes.system),
    ...(deps.ready && { ready: deps.ready }),
    ...(deps.fallback && { fallback: deps.fallback }),
  });
  return { server, gateway, close: closing(server, publisher) };
}

/** Runs until SIGTERM, answering /readyz 503 from then on while `close` runs. */
async function serveUntilSigterm(
  logger: Logger,
  stopping: { value: boolean },
  close: () => Promise<void>,
): Promise<void> {
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  stopping.value = true;
  logger.info("SIGTERM: draining");
  await close();
}

function pubsubFor(config: ReturnType<typeof serviceConfig>): PubSub {
  return new PubSub({
    projectId: config.projectId,
    ...(config.pubsubEmulator !== undefined && {
      apiEndpoint: config.pubsubEmulator,
      emulatorMode: true,
    }),
  });
}

/** MODE=gateway: runs until SIGTERM, then closes cleanly within Cloud Run's grace period. */
export async function runGateway(settings: Settings, logger: Logger): Promise<void> {
  const config = serviceConfig(settings, "gateway");
  const pubsub = pubsubFor(config);
  const authenticate = producerAuthentication(settings, config.stack);
  const stopping = { value: false };
  const running = await startGateway(config, {
    pubsub,
    logger,
    authenticate,
    ready: () => !stopping.value,
  });
  logger.info({ port: config.port, stack: config.stack }, "gateway listening");
  await serveUntilSigterm(logger, stopping, running.close);
  await pubsub.close();
}

/** MODE=tracker: the funnel's links, rate-limited per client, until SIGTERM. */
export async function runTracker(settings: Settings, logger: Logger): Promise<void> {
  const config = serviceConfig(settings, "tracker");
  const hosts = redirectHosts(settings);
  const { rateLimit } = eventTypesFor(config.stack).system.services.tracker;
  const pubsub = pubsubFor(config);
  const { gateway, publisher } = publishingGateway(config.stack, pubsub);
  const stopping = { value: false };
  const route = trackerRoute({
    gateway,
    logger,
    redirectHosts: hosts,
    behindProxy: true,
    ready: () => !stopping.value,
    ...(rateLimit !== undefined && { rateLimit: new ClientRateLimit(rateLimit) }),
  });
  const server = await startHttpServer(route, logger, config);
  logger.info(
    { port: config.port, stack: config.stack, redirectHosts: hosts },
    "tracker listening",
  );
  await serveUntilSigterm(logger, stopping, closing(server, publisher));
  await pubsub.close();
}
