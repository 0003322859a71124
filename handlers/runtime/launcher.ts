/**
 * Starts one consumer's runtime, in three steps:
 *   1. configure: the settings read and checked, the declaration it is given resolved for the
 *      stack, the consumer and its handler found, the settings of the capabilities its
 *      contract uses checked; nothing has started if any of it fails;
 *   2. wire: one PubSub and one Firestore client, the publisher, the event store (archivers),
 *      the delivery pipeline, and the host the consumer's delivery calls for;
 *   3. serve: the HTTP server, then pulling. On SIGTERM or SIGINT it shuts down in order: the
 *      host drains, publishers flush, the event store writes what it holds, the server and
 *      the clients close.
 */
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import type { Logger } from "pino";
import type { Capability } from "../../infra/model/settings";
import { resolveSystem } from "../../infra/model/resolve";
import type { ResolvedConsumer, SystemSpec } from "../../infra/model/types";
import {
  databaseSetting,
  pullSubscriptions,
  pushVerification,
  readConfig,
  type PushVerification,
  type RuntimeConfig,
} from "./config";
import { DeliveryProcessor } from "./delivery";
import { EventStore } from "./event-store";
import { EventTypes } from "./event-types";
import type { HandlerRegistry, RegisteredHandler } from "./handler";
import { createLogger } from "./logger";
import { RuntimeMetrics } from "./metrics";
import { idTokenVerifier } from "./oidc";
import { PubSubPublisher } from "./publisher";
import { PullHost } from "./pull-host";
import { PushHost } from "./push-host";
import { OutsideCalls } from "./resilience";
import { startServer } from "./server";
import { ConfigError, Settings, useSettings } from "./settings";

export interface LaunchOptions {
  /** The declaration (infra/system.ts in the image), resolved for the STACK it runs in. */
  system: SystemSpec;
  /** Handler implementations by contract name. */
  registry: HandlerRegistry;
  /**
   * The check of each capability a contract may use (handlers/adapters/environment.ts): run
   * for the consumer's capabilities before it starts. Default: none, and a consumer whose
   * contract uses a capability refuses to start.
   */
  capabilityChecks?: Partial<Readonly<Record<Capability, (settings: Settings) => unknown>>>;
  /** The settings to read. Default: those of `env`. */
  settings?: Settings;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Stop on SIGTERM and SIGINT. Default true. */
  handleSignals?: boolean;
  /** Default: a Cloud Logging JSON logger at LOG_LEVEL. */
  logger?: Logger;
}

export interface RunningRuntime {
  consumer: ResolvedConsumer;
  /** The HTTP port (useful with PORT=0). */
  port: number;
  metrics: RuntimeMetrics;
  /** Drains and closes everything; resolves when done. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves with the exit code once the runtime has stopped: 0 after a stop, 1 after a fatal subscriber error. */
  stopped: Promise<number>;
}

// The emulator hosts come from the configuration, not the clients' own reading of the
// environment, so a runtime launched in-process with its own env (tests) reaches its emulators.
function createPubSub(config: RuntimeConfig): PubSub {
  const project = config.projectId !== undefined ? { projectId: config.projectId } : {};
  return new PubSub(
    config.emulators.pubsub !== undefined
      ? { ...project, apiEndpoint: config.emulators.pubsub, emulatorMode: true }
      : project,
  );
}

function createFirestore(config: RuntimeConfig, databaseId: string): Firestore {
  const target = {
    ...(config.projectId !== undefined && { projectId: config.projectId }),
    databaseId,
  };
  return new Firestore(
    config.emulators.firestore !== undefined
      ? { ...target, host: config.emulators.firestore, ssl: false }
      : target,
  );
}

/**
 * Runs the check of every capability the consumer's contract uses, and reports every problem
 * of all of them at once.
 * @throws ConfigError naming each missing or bad setting.
 */
function checkCapabilities(
  consumer: ResolvedConsumer,
  settings: Settings,
  checks: LaunchOptions["capabilityChecks"] = {},
): void {
  const problems: string[] = [];
  for (const capability of consumer.contract.uses) {
    const check = checks[capability];
    if (check === undefined) {
      problems.push(
        `consumer ${consumer.name} uses ${capability}, which this image has no settings check for (handlers/adapters/environment.ts)`,
      );
      continue;
    }
    try {
      check(settings);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.message.split("\n"));
    }
  }
  if (problems.length > 0)
    throw new ConfigError(
      `consumer ${consumer.name} cannot start; ${problems.length === 1 ? "a setting is" : "settings are"} missing or wrong:\n  ${problems.join("\n  ")}`,
    );
}

/** What the configuration step settles before anything starts. */
interface LaunchPlan {
  config: RuntimeConfig;
  eventTypes: EventTypes;
  consumer: ResolvedConsumer;
  handler: RegisteredHandler;
  /** How the push host verifies requests; undefined for a pull consumer. */
  push: PushVerification | undefined;
  /** The one Firestore database it works in: the event store for an archiver, else the state database. */
  database: string;
  /** For a pull consumer, the subscription it is leaving and drains too; undefined when none. */
  draining: string | undefined;
}

/**
 * Reads and checks everything the consumer needs to start.
 * @throws ConfigError naming what is missing or wrong, and how to set it.
 */
function configure(options: LaunchOptions): LaunchPlan {
  const settings = options.settings ?? new Settings(options.env ?? process.env);
  useSettings(settings);
  const config = readConfig(settings);
  const eventTypes = new EventTypes(resolveSystem(options.system, config.stack));
  const { system } = eventTypes;
  const consumer = system.consumers.find((c) => c.name === config.consumer);
  if (consumer === undefined) {
    throw new ConfigError(
      `HANDLER is "${config.consumer}", which is not a declared consumer (stack ${config.stack}); declared: ${system.consumers.map((c) => c.name).join(", ")}`,
    );
  }
  if (config.mode !== "local" && consumer.delivery !== config.mode) {
    throw new ConfigError(
      `consumer ${consumer.name} is declared with delivery "${consumer.delivery}"; run it with MODE=${consumer.delivery}`,
    );
  }
  const handler = options.registry[consumer.handler];
  if (handler === undefined)
    throw new ConfigError(
      `handler ${consumer.handler} (consumer ${consumer.name}) is declared but has no implementation yet: add it to handlers/registry.ts`,
    );
  const push = consumer.delivery === "push" ? pushVerification(settings, config.mode) : undefined;
  // A pull consumer's workers pull the subscription their deploy gave them (the take-over's).
  const pulls =
    consumer.delivery === "pull"
      ? pullSubscriptions(settings, consumer.name, consumer.subscription)
      : undefined;
  const database = databaseSetting(settings, handler.kind === "archiver" ? "event-store" : "state");
  checkCapabilities(consumer, settings, options.capabilityChecks);
  return {
    config,
    eventTypes,
    consumer: pulls === undefined ? consumer : { ...consumer, subscription: pulls.subscription },
    handler,
    push,
    database,
    draining: pulls?.draining,
  };
}

/** The host the consumer's delivery calls for, feeding `processor`. */
function hostFor(
  plan: LaunchPlan,
  processor: DeliveryProcessor,
  pubsub: PubSub,
  logger: Logger,
  onFatal: () => void,
): PushHost | PullHost {
  const { push, config } = plan;
  if (push === undefined)
    return new PullHost({ processor, pubsub, logger, transport: config.pullTransport, onFatal });
  const verify = push.verify
    ? idTokenVerifier({
        audience: push.audience,
        ...(push.serviceAccountEmail !== undefined && {
          serviceAccountEmail: push.serviceAccountEmail,
        }),
        ...(push.jwksUrl !== undefined && { jwks: push.jwksUrl }),
        ...(push.issuer !== undefined && { issuer: push.issuer }),
      })
    : false;
  return new PushHost({ processor, logger, verify });
}

/** Runs every shutdown step, in order, even when one fails: the process must exit inside its grace period. */
async function runSteps(
  logger: Logger,
  steps: readonly [string, () => Promise<unknown> | undefined][],
): Promise<boolean> {
  let clean = true;
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      clean = false;
      logger.error({ err }, `shutdown: could not ${what}`);
    }
  }
  return clean;
}

/**
 * Starts the consumer HANDLER names, in MODE.
 * @throws ConfigError (one line per problem) for a configuration problem; nothing has started then.
 */
export async function launch(options: LaunchOptions): Promise<RunningRuntime> {
  const plan = configure(options);
  const { config, consumer, handler, eventTypes } = plan;
  if (config.mode === "local") {
    // Against the emulators, the clients must not look for the cloud's metadata server first.
    process.env["METADATA_SERVER_DETECTION"] ??= "none";
  }

  const logger =
    options.logger ??
    createLogger({
      level: config.logLevel,
      ...(config.projectId !== undefined && { projectId: config.projectId }),
      base: { consumer: consumer.name },
    });
  const metrics = new RuntimeMetrics();
  metrics.collectProcessMetrics();
  const pubsub = createPubSub(config);
  // One client on one database: an archiver's account may write only the event store, and a
  // handler's only the state database (infra/gcp/firestore-access.ts).
  const firestore = createFirestore(config, plan.database);
  const publisher = new PubSubPublisher(pubsub, eventTypes, metrics);
  const eventStore =
    handler.kind === "archiver"
      ? new EventStore(firestore, eventTypes, {
          throttling: config.emulators.firestore === undefined,
        })
      : undefined;
  const processor = new DeliveryProcessor({
    consumer,
    handler,
    eventTypes,
    firestore,
    publisher,
    metrics,
    logger,
    outsideCalls: new OutsideCalls(logger),
    ...(eventStore !== undefined && { eventStore }),
    ...(config.projectId !== undefined && { projectId: config.projectId }),
    relayOutboxes: true,
  });
  processor.outboxRelay?.start();

  let resolveStopped: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  let exitCode = 0;
  const stop = (): Promise<void> => (stopping ??= shutdown());
  const host = hostFor(plan, processor, pubsub, logger, () => {
    exitCode = 1;
    void stop();
  });
  const server = await startServer({
    port: config.port,
    registry: metrics.registry,
    ready: () => host.ready,
    ...(host instanceof PushHost && { handle: host.handle }),
  });
  if (host instanceof PullHost) host.start();
  // The subscription it is leaving, drained beside the new one until its retirement deletes it;
  // its processed records make what both deliver apply once.
  const drainingHost =
    plan.draining === undefined
      ? undefined
      : new PullHost({
          processor,
          pubsub,
          logger,
          transport: config.pullTransport,
          subscription: plan.draining,
          draining: true,
          onFatal: (error) => {
            logger.info(
              { err: error, subscription: plan.draining },
              "stopped draining the old subscription (retired)",
            );
            void drainingHost?.stop();
          },
        });
  drainingHost?.start();
  if (plan.push?.verify === false)
    logger.warn("push token verification is OFF (PUSH_VERIFY=off, local mode)");
  logger.info(
    { mode: config.mode, stack: config.stack, port: server.port, delivery: consumer.delivery },
    `${consumer.name} started`,
  );

  async function shutdown(): Promise<void> {
    logger.info("shutting down");
    const clean = await runSteps(logger, [
      ["drain the host", () => host.stop()],
      ["drain the old subscription's host", () => drainingHost?.stop()],
      ["stop the outbox relay", () => processor.outboxRelay?.stop()],
      ["flush the publishers", () => publisher.flush()],
      ["write the event store's pending appends", () => eventStore?.close()],
      ["close the HTTP server", () => server.close()],
      ["close the Pub/Sub client", () => pubsub.close()],
      ["close the Firestore client", () => firestore.terminate()],
    ]);
    if (!clean) exitCode = 1;
    logger.info({ exitCode }, "stopped");
    resolveStopped(exitCode);
  }

  if (options.handleSignals ?? true) {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => void stop());
  }
  return { consumer, port: server.port, metrics, stop, stopped };
}
