/**
 * The local environment (`npm start`, `eventline dev`): the whole declared system on the
 * emulators, in one process. In order:
 *   1. the Pub/Sub and Firestore emulators: reused when *_EMULATOR_HOST is set, else started;
 *   2. the local server on PORT: the gateway, the push endpoints, the dashboard;
 *   3. the declaration provisioned into the emulator (reconcile.ts: created, updated, recreated);
 *   4. every implemented consumer hosted in its cloud mode (host.ts); the rest said once;
 * and `stop()` undoes all of it, emulators included, in the reverse order.
 */
import type { PubSub } from "@google-cloud/pubsub";
import type { Logger } from "pino";
import { registry as imageRegistry } from "../../handlers/registry";
import { noAuthentication, type Authenticate } from "../../handlers/gateway/admission";
import { EventGateway } from "../../handlers/gateway/gateway";
import { startGateway, type RunningGateway } from "../../handlers/gateway/run";
import { EventCodec } from "../../handlers/runtime/codec";
import { ClientRateLimit } from "../../handlers/tracker/rate-limit";
import { trackerRoutes } from "../../handlers/tracker/server";
import { eventTypesFor } from "../../handlers/declared";
import type { EventTypes } from "../../handlers/runtime/event-types";
import type { HandlerRegistry } from "../../handlers/runtime/handler";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { PubSubPublisher } from "../../handlers/runtime/publisher";
import { startTracing } from "../../handlers/runtime/tracing";
import type { ResolvedConsumer, ResolvedProducer } from "../../infra/model/types";
import { answers, firestoreClient, pubsubClient } from "./emulator-clients";
import { Dashboard } from "./dashboard-server";
import { DeadLetterBox } from "./dead-letters";
import { freePort, startEmulator, type EmulatorKind, type RunningEmulator } from "./emulators";
import { LocalHost } from "./host";
import { SpanStore } from "./span-store";
import { localGuard } from "./local-guard";
import { saveFirestore, savedExport } from "./saved-state";
import { localIssuer } from "./local-issuer";
import {
  checkEmulatorInstalled,
  checkEmulatorPort,
  checkGatewayPort,
  checkJava,
} from "./preflight";
import { describeReconcile, reconcile, type ReconcileReport } from "./reconcile";
import { localDeclarationFile, writeLocalDeclaration } from "./deployed-declaration";
import {
  LOCAL_STACK,
  LocalEnvironmentError,
  STATE_FILE,
  clearDevState,
  writeDevState,
  type LocalSettings,
} from "./settings";

export interface LocalEnvironmentOptions {
  settings: LocalSettings;
  logger: Logger;
  /** Handler implementations. Default: the image's (handlers/registry.ts). */
  registry?: HandlerRegistry;
  /** Tells the person starting it what is happening. Default: nothing. */
  say?: (line: string) => void;
  /** Extra hosts a tracking click may redirect to, besides this server. Default: EVENTLINE_REDIRECT_HOSTS. */
  redirectHosts?: readonly string[];
  /**
   * Whether the gateway authenticates producers (with the local issuer's tokens,
   * `eventline token <producer>`). Default true; false (`npm start -- --no-auth`) admits what
   * some declared producer may post, without a token.
   */
  authenticate?: boolean;
  /**
   * Redeliver nacked messages at once (the emulator's way) instead of after each subscription's
   * declared backoff (Pub/Sub's way, the default), for quick loops. Default false.
   */
  fastRetries?: boolean;
  /** Who may post what. Default: the declaration's producers (infra/system.ts). */
  producers?: readonly ResolvedProducer[];
  /**
   * Whether the process traces: every span kept in memory (span-store.ts) and served at
   * /api/traces for the dashboard and `eventline trace`. Default true.
   */
  tracing?: boolean;
  /**
   * Where to record the running environment for other CLI commands, or false for nowhere
   * (tests, which must not hide a developer's running `npm start`). Default: .eventline/dev.json.
   * The record of what was provisioned (declaration.json, for `eventline plan --stack local`) is
   * written beside it, and not at all when this is false.
   */
  stateFile?: string | false;
}

export interface LocalEnvironment {
  /** The settings with the ports actually in use (PORT=0 becomes the one picked). */
  settings: LocalSettings;
  baseUrl: string;
  hosted: readonly ResolvedConsumer[];
  unimplemented: readonly ResolvedConsumer[];
  provisioned: ReconcileReport;
  /** Stops everything it started, emulators included. Safe to call twice. */
  stop(): Promise<void>;
}

const labels: Readonly<Record<EmulatorKind, string>> = {
  pubsub: "Pub/Sub",
  firestore: "Firestore",
};

async function emulatorFor(kind: EmulatorKind, settings: LocalSettings): Promise<RunningEmulator> {
  const host = kind === "pubsub" ? settings.pubsubHost : settings.firestoreHost;
  if (kind === "pubsub" ? settings.pubsubFromEnv : settings.firestoreFromEnv) {
    const variable = kind === "pubsub" ? "PUBSUB_EMULATOR_HOST" : "FIRESTORE_EMULATOR_HOST";
    if (!(await answers(host)))
      throw new LocalEnvironmentError(
        `${variable}=${host}, but no ${labels[kind]} emulator answers there: start it, or unset ${variable} and npm start starts one`,
      );
    return { kind, host, stop: async () => {} };
  }
  const port = Number(host.slice(host.lastIndexOf(":") + 1));
  checkEmulatorInstalled(kind);
  await checkEmulatorPort(kind, port);
  // Firestore's data from the last run, when there is some (saved-state.ts).
  const saved = kind === "firestore" ? savedExport(settings.stateDir) : undefined;
  try {
    return await startEmulator(kind, {
      port,
      ...(saved !== undefined && { extraArgs: [`--import-data=${saved}`] }),
    });
  } catch (err) {
    const output = (err as Error).message
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean);
    throw new LocalEnvironmentError(
      `the ${labels[kind]} emulator did not start on ${host}: ${output.at(-1) ?? output[0] ?? "no output"}`,
    );
  }
}

/**
 * Points this process's environment at the emulators, in local mode: handlers and their
 * adapters read it at call time to know they run locally (the email and text adapters then
 * write to a Firestore outbox instead of sending), and stray clients built without explicit
 * settings land here too.
 */
function targetEmulators(settings: LocalSettings): void {
  process.env["MODE"] = "local";
  process.env["PUBSUB_EMULATOR_HOST"] = settings.pubsubHost;
  process.env["FIRESTORE_EMULATOR_HOST"] = settings.firestoreHost;
  process.env["GOOGLE_CLOUD_PROJECT"] = settings.projectId;
  process.env["METADATA_SERVER_DETECTION"] = "none";
}

/** Starts both emulators at once; if one fails, the other is stopped again. */
async function startEmulators(settings: LocalSettings): Promise<RunningEmulator[]> {
  if (!settings.pubsubFromEnv || !settings.firestoreFromEnv) checkJava();
  const results = await Promise.allSettled([
    emulatorFor("pubsub", settings),
    emulatorFor("firestore", settings),
  ]);
  const failed = results.find(
    (result): result is PromiseRejectedResult => result.status === "rejected",
  );
  if (failed === undefined)
    return results.map((result) => (result as PromiseFulfilledResult<RunningEmulator>).value);
  await Promise.all(
    results.map((result) => (result.status === "fulfilled" ? result.value.stop() : undefined)),
  );
  throw failed.reason;
}

/**
 * One shutdown step, bounded: a step that hangs (a client waiting on a stream) must not keep the
 * emulators running, so after its bound the next step goes on and the person is told.
 */
async function boundedStep(
  say: (line: string) => void,
  logger: Logger,
  name: string,
  work: () => Promise<unknown>,
  boundMs = 10_000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">(
    (resolve) => (timer = setTimeout(() => resolve("late"), boundMs)),
  );
  const outcome = await Promise.race([
    work().then(
      () => "done" as const,
      (err: unknown) => err,
    ),
    late,
  ]);
  clearTimeout(timer);
  if (outcome === "late")
    say(`stopping: ${name} did not finish within ${boundMs / 1000} s; going on`);
  else if (outcome !== "done")
    say(
      `stopping: ${name} failed: ${(outcome as Error).message?.split("\n")[0] ?? String(outcome)}`,
    );
  logger.debug(
    { step: name, outcome: typeof outcome === "string" ? outcome : "failed" },
    "shutdown step",
  );
}

interface LocalServerParts {
  port: number;
  projectId: string;
  eventTypes: EventTypes;
  pubsub: PubSub;
  publisher: PubSubPublisher;
  metrics: RuntimeMetrics;
  logger: Logger;
  host: LocalHost;
  dashboard: Dashboard;
  /** Hosts a click may redirect to besides this server. */
  redirectHosts: readonly string[];
  authenticate: Authenticate;
  producers: readonly ResolvedProducer[];
}

/** The one local server: the gateway's routes, then the tracker's, the push endpoints and the dashboard. */
async function startLocalServer(parts: LocalServerParts): Promise<RunningGateway> {
  const { port, eventTypes, host, dashboard, logger } = parts;
  const { rateLimit } = eventTypes.system.services.tracker;
  // Cards live on this server unless configured otherwise (handlers/viral/tracking-links.ts).
  const tracker = trackerRoutes({
    gateway: new EventGateway(new EventCodec(eventTypes), parts.publisher),
    logger,
    redirectHosts: [...parts.redirectHosts, `127.0.0.1:${port}`, `localhost:${port}`],
    ...(rateLimit !== undefined && { rateLimit: new ClientRateLimit(rateLimit) }),
  });
  return startGateway(
    { port, host: "127.0.0.1", projectId: parts.projectId, stack: LOCAL_STACK },
    {
      pubsub: parts.pubsub,
      logger,
      metrics: parts.metrics,
      authenticate: parts.authenticate,
      producers: parts.producers,
      guard: localGuard(port),
      fallback: async (request, response, url) =>
        (await tracker(request, response, url)) ||
        host.handlePush(request, response, url) ||
        dashboard.handle(request, response, url),
    },
  );
}

/** Starts the local environment. @throws LocalEnvironmentError for what the person can fix. */
export async function startLocalEnvironment(
  options: LocalEnvironmentOptions,
): Promise<LocalEnvironment> {
  const say = options.say ?? (() => {});
  const { logger } = options;
  const started = performance.now();
  const eventTypes = eventTypesFor(LOCAL_STACK);
  const stateFile = options.stateFile ?? STATE_FILE;

  // Before the emulators start, so a busy port does not cost their start-up time.
  await checkGatewayPort(options.settings.port);
  targetEmulators(options.settings);
  say(
    `starting the emulators (Pub/Sub ${options.settings.pubsubHost}${options.settings.pubsubFromEnv ? ", reused" : ""}, Firestore ${options.settings.firestoreHost}${options.settings.firestoreFromEnv ? ", reused" : ""})…`,
  );
  const restoring =
    !options.settings.firestoreFromEnv && savedExport(options.settings.stateDir) !== undefined;
  const emulators = await startEmulators(options.settings);
  if (restoring)
    say(
      `Firestore holds what the last run saved in ${options.settings.stateDir} (npx eventline reset starts clean)`,
    );
  // Every span is kept (no sampling locally): the trace view is for following any event.
  const spans = options.tracing === false ? undefined : new SpanStore();
  const tracing =
    spans === undefined
      ? undefined
      : startTracing({ serviceName: "eventline-local", processors: [spans] });
  const pubsub = pubsubClient(options.settings);
  const firestore = firestoreClient(options.settings);
  const metrics = new RuntimeMetrics();
  const publisher = new PubSubPublisher(pubsub, eventTypes, metrics);
  const deadLetters = new DeadLetterBox(pubsub);
  // The hosts log every start, drain and stop per consumer at info: noise at the default level.
  // Handlers' own lines (ctx.log) keep the chosen level: they are what a developer looks for.
  const hostLogger = logger.level === "info" ? logger.child({}, { level: "warn" }) : logger;
  const host = new LocalHost({
    handlerLogLevel: logger.level,
    ...(options.fastRetries === true && { fastRetries: true }),
    eventTypes,
    registry: options.registry ?? imageRegistry,
    pubsub,
    firestore,
    publisher,
    metrics,
    logger: hostLogger,
    projectId: options.settings.projectId,
  });
  const dashboard = new Dashboard({
    system: eventTypes.system,
    metrics,
    firestore,
    deadLetters,
    publisher,
    hosted: host.hosted.map((c) => c.name),
    logger,
    ...(spans !== undefined && { spans }),
  });

  let server: RunningGateway | undefined;
  let stopping: Promise<void> | undefined;
  const step = (name: string, work: () => Promise<unknown>, boundMs?: number): Promise<void> =>
    boundedStep(say, logger, name, work, boundMs);
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      dashboard.stop();
      await step("the consumers", () => host.stop());
      if (server !== undefined) {
        // Keep-alive connections (the emulator's pushes, browsers) would hold close() open.
        const force = setTimeout(() => server?.server.closeAllConnections(), 2000);
        await step("the gateway", () => server!.close());
        clearTimeout(force);
      }
      await step("publishing", () => publisher.flush());
      await step("the dead-letter reader", () => deadLetters.close(), 3000);
      await step("the Pub/Sub client", () => pubsub.close(), 3000);
      await step("the Firestore client", () => firestore.terminate(), 3000);
      if (!options.settings.firestoreFromEnv)
        await step(
          `saving the Firestore data to ${options.settings.stateDir}`,
          async () => {
            await saveFirestore(
              options.settings.firestoreHost,
              options.settings.projectId,
              options.settings.stateDir,
            );
            say(`saved the Firestore data to ${options.settings.stateDir} for the next start`);
          },
          60_000,
        );
      await step("the emulators", () => Promise.all(emulators.map((emulator) => emulator.stop())));
      if (tracing !== undefined) await step("tracing", () => tracing.shutdown(), 3000);
      if (stateFile !== false) clearDevState(stateFile);
    })());

  try {
    // A free port is picked up front (PORT=0) so the push endpoints and redirect hosts can name it.
    const port = options.settings.port === 0 ? await freePort() : options.settings.port;
    const settings = { ...options.settings, port };
    const baseUrl = `http://127.0.0.1:${port}`;
    // Tracking links in invitations must lead back here (handlers/adapters/environment.ts reads it).
    process.env["EVENTLINE_TRACKER_URL"] ??= baseUrl;
    const redirectHosts =
      options.redirectHosts ??
      (process.env["EVENTLINE_REDIRECT_HOSTS"] ?? "")
        .split(",")
        .map((h) => h.trim())
        .filter(Boolean);
    const producers = options.producers ?? eventTypes.system.producers;
    const authenticate =
      options.authenticate === false
        ? noAuthentication
        : (await localIssuer()).authentication(producers);
    if (options.authenticate === false)
      say(
        "producer authentication is OFF (--no-auth): the gateway admits what any declared producer may post, without a token",
      );
    server = await startLocalServer({
      authenticate,
      producers,
      port,
      projectId: settings.projectId,
      eventTypes,
      pubsub,
      publisher,
      metrics,
      logger,
      host,
      dashboard,
      redirectHosts,
    });

    say(
      `provisioning ${eventTypes.system.topics.length} topics and ${eventTypes.system.consumers.length} consumers into the emulator…`,
    );
    const provisioned = await reconcile(pubsub, eventTypes.system, {
      pushEndpoints: host.pushEndpoints(baseUrl),
    });
    const changes = describeReconcile(provisioned);
    for (const line of changes.length > 0
      ? changes
      : ["the emulator already matches the declaration; nothing changed"])
      say(line);
    // What the emulators now hold, for `eventline plan --stack local` to compare the next change with.
    if (stateFile !== false)
      writeLocalDeclaration(eventTypes.system, localDeclarationFile(stateFile));

    host.start();
    dashboard.start();
    if (host.unimplemented.length > 0) {
      say(
        `not hosted, no implementation yet (handlers/registry.ts): ${host.unimplemented.map((c) => c.name).join(", ")}; their subscriptions are provisioned and keep what arrives`,
      );
    }
    say(
      `hosting ${host.hosted.length} consumers (${host.hosted.filter((c) => c.delivery === "pull").length} pull, ${host.hosted.filter((c) => c.delivery === "push").length} push) after ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    if (stateFile !== false) writeDevState(settings, stateFile);
    return {
      settings,
      baseUrl,
      hosted: host.hosted,
      unimplemented: host.unimplemented,
      provisioned,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
