/**
 * The consumer runtime's configuration, from its settings (infra/model/settings.ts lists and
 * documents every variable), checked before anything starts. Each problem is one line
 * naming the variable and the fix.
 *
 * Required: HANDLER and MODE everywhere; STACK in push and pull mode; PUSH_AUDIENCE for a push
 * consumer; the emulator hosts in local mode. Local mode defaults STACK to "local" and
 * GOOGLE_CLOUD_PROJECT to "eventline-local".
 */
import type { LevelWithSilent } from "pino";
import { DEFAULT_PORT } from "./server";
import { ConfigError, type Settings } from "./settings";
import { isSubscriptionOf } from "../../infra/model/resolve";

export type Mode = "push" | "pull" | "local";

export type PullTransport = "streaming" | "unary";

/** Token verification of push requests: on with its parameters, or off (local mode only). */
export type PushVerification =
  | { verify: false }
  | {
      verify: true;
      audience: string;
      serviceAccountEmail?: string;
      jwksUrl?: URL;
      issuer?: string;
    };

export interface RuntimeConfig {
  consumer: string;
  mode: Mode;
  stack: string;
  projectId: string | undefined;
  port: number;
  logLevel: LevelWithSilent;
  emulators: { pubsub: string | undefined; firestore: string | undefined };
  pullTransport: PullTransport;
}

/** The project id local mode uses when GOOGLE_CLOUD_PROJECT is unset. */
export const LOCAL_PROJECT_ID = "eventline-local";

const modes: readonly Mode[] = ["push", "pull", "local"];
const transports: readonly PullTransport[] = ["streaming", "unary"];
const levels: readonly LevelWithSilent[] = [
  "trace",
  "debug",
  "info",
  "warn",
  "error",
  "fatal",
  "silent",
];

/** PORT as a TCP port number. @throws ConfigError when it is not one. */
export function portSetting(settings: Settings): number {
  const value = settings.withDefault("PORT", String(DEFAULT_PORT));
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ConfigError(`PORT is "${value}": use a TCP port number`);
  return port;
}

/** LOG_LEVEL as pino's level. @throws ConfigError for an unknown level. */
export function logLevelSetting(settings: Settings): LevelWithSilent {
  const level = settings.withDefault("LOG_LEVEL") as LevelWithSilent;
  if (!levels.includes(level))
    throw new ConfigError(`LOG_LEVEL is "${level}": use one of ${levels.join(", ")}`);
  return level;
}

/** A setting that must be a URL, when set. @throws ConfigError when it is not one. */
export function urlSetting(
  settings: Settings,
  name: Parameters<Settings["get"]>[0],
): URL | undefined {
  const value = settings.get(name);
  if (value === undefined) return undefined;
  try {
    return new URL(value);
  } catch {
    throw new ConfigError(`${name} "${value}" is not a URL`);
  }
}

/**
 * How a push host verifies requests. Read only for a push consumer (the launcher knows which
 * consumers push once it has resolved the declaration).
 * @throws ConfigError when push mode lacks an audience, or PUSH_VERIFY=off is set outside local mode.
 */
export function pushVerification(settings: Settings, mode: Mode): PushVerification {
  const off = settings.get("PUSH_VERIFY");
  if (off !== undefined && off !== "off")
    throw new ConfigError(`PUSH_VERIFY is "${off}": the only value it takes is "off"`);
  if (off === "off") {
    if (mode !== "local")
      throw new ConfigError(
        "PUSH_VERIFY=off is accepted only with MODE=local: in the cloud every push request must carry a verified token",
      );
    return { verify: false };
  }
  const audience = settings.require(
    "PUSH_AUDIENCE",
    mode === "local"
      ? "set it to verify push tokens, or set PUSH_VERIFY=off to accept the emulator's unauthenticated pushes"
      : "MODE=push verifies the OIDC token of every request and needs the audience the push subscription uses",
  );
  const jwksUrl = urlSetting(settings, "TOKEN_JWKS_URL");
  const issuer = settings.get("TOKEN_ISSUER");
  const account = settings.get("PUSH_SERVICE_ACCOUNT");
  return {
    verify: true,
    audience,
    ...(account !== undefined && { serviceAccountEmail: account }),
    ...(jwksUrl !== undefined && { jwksUrl }),
    ...(issuer !== undefined && { issuer }),
  };
}

/**
 * Reads the configuration common to every consumer (push verification: {@link pushVerification}).
 * @throws ConfigError for the first problem found.
 */
export function readConfig(settings: Settings): RuntimeConfig {
  const consumer = settings.require(
    "HANDLER",
    "name the consumer to run, e.g. HANDLER=email-worker",
  );
  const modeValue = settings.require(
    "MODE",
    "set MODE=push (Cloud Run), MODE=pull (GKE) or MODE=local (emulators); MODE=gateway and MODE=tracker run those services",
  );
  if (!modes.includes(modeValue as Mode))
    throw new ConfigError(
      `MODE is "${modeValue}": use push, pull or local for a consumer, gateway or tracker for those services`,
    );
  const mode = modeValue as Mode;
  const stack =
    mode === "local"
      ? settings.withDefault("STACK", "local")
      : settings.require("STACK", "name the stack whose overrides apply, e.g. STACK=prod");
  const port = portSetting(settings);
  const logLevel = logLevelSetting(settings);
  const emulators = {
    pubsub: settings.get("PUBSUB_EMULATOR_HOST"),
    firestore: settings.get("FIRESTORE_EMULATOR_HOST"),
  };
  if (mode === "local") {
    if (!emulators.pubsub)
      throw new ConfigError(
        "PUBSUB_EMULATOR_HOST is not set: MODE=local runs against the Pub/Sub emulator (npm start sets it)",
      );
    if (!emulators.firestore)
      throw new ConfigError(
        "FIRESTORE_EMULATOR_HOST is not set: MODE=local runs against the Firestore emulator (npm start sets it)",
      );
  }
  const projectId =
    mode === "local"
      ? settings.withDefault("GOOGLE_CLOUD_PROJECT", LOCAL_PROJECT_ID)
      : settings.get("GOOGLE_CLOUD_PROJECT");
  const pullTransport = (settings.get("PULL_TRANSPORT") ??
    (emulators.pubsub ? "unary" : "streaming")) as PullTransport;
  if (!transports.includes(pullTransport))
    throw new ConfigError(`PULL_TRANSPORT is "${pullTransport}": use streaming or unary`);
  return { consumer, mode, stack, projectId, port, logLevel, emulators, pullTransport };
}

/** The subscriptions a pull consumer pulls: its own, and the one it is leaving while that one drains. */
export interface PullSubscriptions {
  subscription: string;
  draining?: string;
}

/**
 * SUBSCRIPTION (default `declared`) and DRAINING_SUBSCRIPTION, each one of consumer `name`'s.
 * @throws ConfigError for a subscription of another consumer.
 */
export function pullSubscriptions(
  settings: Settings,
  name: string,
  declared: string,
): PullSubscriptions {
  const subscription = settings.get("SUBSCRIPTION") ?? declared;
  const draining = settings.get("DRAINING_SUBSCRIPTION");
  for (const [setting, value] of [
    ["SUBSCRIPTION", subscription],
    ["DRAINING_SUBSCRIPTION", draining],
  ] as const)
    if (value !== undefined && !isSubscriptionOf(name, value))
      throw new ConfigError(
        `${setting} is "${value}", which is not a subscription of consumer ${name} (${name}-<8 hex>)`,
      );
  return {
    subscription,
    ...(draining !== undefined && draining !== subscription && { draining }),
  };
}

/** What a consumer keeps in Firestore: the event store (archivers), or its own state (everyone else). */
export type DatabaseRole = "event-store" | "state";

/**
 * The Firestore database a consumer works in, read from its role's setting only: an archiver is
 * given the event store's (FIRESTORE_EVENT_STORE_DATABASE), every other consumer the state
 * database (FIRESTORE_STATE_DATABASE), and each reads no other, so `eventline verify` sees that
 * a workload is given exactly the database it uses. "(default)" when unset (the emulator).
 */
export function databaseSetting(settings: Settings, role: DatabaseRole): string {
  return settings.withDefault(
    role === "event-store" ? "FIRESTORE_EVENT_STORE_DATABASE" : "FIRESTORE_STATE_DATABASE",
  );
}
