/**
 * The gateway as a process: MODE=gateway in the handler image (Cloud Run), and the front
 * door of `npm start`. Its settings come from the environment:
 *   PORT                        where it listens (Cloud Run sets it). Default 8080.
 *   GOOGLE_CLOUD_PROJECT        the project of the topics and the event store. Required.
 *   STACK                       whose declaration overrides apply. Default "dev".
 *   EVENTLINE_REDIRECT_HOSTS    comma-separated hosts a tracking click may redirect to, besides
 *                               the hosts of the two URLs below, where cards live
 *                               (handlers/viral/tracking-links.ts). Default: none.
 *   EVENTLINE_GATEWAY_URL       the gateway's public base URL. Default: none.
 *   EVENTLINE_CARD_BASE_URL     where cards are shown. Default: none.
 */
import type { Server } from "node:http";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import type { Logger } from "pino";
import { catalogFor } from "../runtime/catalog";
import { ConfigError } from "../runtime/config";
import { EventCodec } from "../runtime/codec";
import { RuntimeMetrics } from "../runtime/metrics";
import { PubSubPublisher } from "../runtime/publisher";
import { EventGateway } from "./gateway";
import { eventStoreInvitations } from "./invitations";
import { startGatewayServer, type GatewayServerOptions } from "./server";
import { shareChannels } from "./shares";

export interface GatewayConfig {
  port: number;
  /** Interface to listen on: all of them in a container, loopback locally. */
  host: string;
  projectId: string;
  stack: string;
  redirectHosts: string[];
}

/** The gateway's settings from `env`. @throws ConfigError naming a missing or bad variable. */
export function gatewayConfig(env: NodeJS.ProcessEnv): GatewayConfig {
  const projectId = env["GOOGLE_CLOUD_PROJECT"];
  if (!projectId) throw new ConfigError("GOOGLE_CLOUD_PROJECT is not set: the gateway needs the project of its topics");
  const port = Number(env["PORT"] ?? "8080");
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(`PORT is "${env["PORT"]}": use a TCP port number`);
  const listed = (env["EVENTLINE_REDIRECT_HOSTS"] ?? "").split(",").map((host) => host.trim()).filter(Boolean);
  const own = ["EVENTLINE_GATEWAY_URL", "EVENTLINE_CARD_BASE_URL"].flatMap((name) => {
    const url = env[name];
    if (!url) return [];
    try {
      return [new URL(url).host];
    } catch {
      throw new ConfigError(`${name} "${url}" is not a URL`);
    }
  });
  // Every interface: the container's network is the only way in.
  return { port, host: "0.0.0.0", projectId, stack: env["STACK"] ?? "dev", redirectHosts: [...new Set([...listed, ...own])] };
}

export interface RunningGateway {
  server: Server;
  gateway: EventGateway;
  /** Stops taking requests, then flushes what is being published. */
  close(): Promise<void>;
}

export interface GatewayDependencies {
  pubsub: PubSub;
  firestore: Firestore;
  logger: Logger;
  metrics?: RuntimeMetrics;
  /** See {@link GatewayServerOptions.fallback}. */
  fallback?: GatewayServerOptions["fallback"];
}

/** Starts the gateway with clients the caller owns (and closes). */
export async function startGateway(config: GatewayConfig, deps: GatewayDependencies): Promise<RunningGateway> {
  const catalog = catalogFor(config.stack);
  const publisher = new PubSubPublisher(deps.pubsub, catalog, deps.metrics ?? new RuntimeMetrics());
  const gateway = new EventGateway(new EventCodec(catalog), publisher);
  const server = await startGatewayServer({
    gateway,
    logger: deps.logger,
    port: config.port,
    host: config.host,
    redirectHosts: config.redirectHosts,
    lookupInvitation: eventStoreInvitations(deps.firestore),
    shareChannels: shareChannels(catalog.system),
    ...(deps.fallback && { fallback: deps.fallback }),
  });
  return {
    server,
    gateway,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await publisher.flush();
    },
  };
}

/** MODE=gateway: runs until SIGTERM, then closes cleanly within Cloud Run's grace period. */
export async function runGateway(env: NodeJS.ProcessEnv, logger: Logger): Promise<void> {
  const config = gatewayConfig(env);
  const pubsub = new PubSub({ projectId: config.projectId });
  const firestore = new Firestore({ projectId: config.projectId });
  const running = await startGateway(config, { pubsub, firestore, logger });
  logger.info({ port: config.port, stack: config.stack }, "gateway listening");
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  await running.close();
  await Promise.all([pubsub.close(), firestore.terminate()]);
}
