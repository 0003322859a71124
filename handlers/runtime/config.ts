/**
 * The container's configuration, from its environment, checked before anything starts. Each
 * problem is one line naming the variable and the fix.
 *
 *   HANDLER                 the consumer to run (a consumer name in infra/system.ts). Required.
 *   MODE                    push (Cloud Run), pull (GKE) or local (against the emulators). Required.
 *   STACK                   the stack whose overrides apply (dev, prod, …). Required in push and pull
 *                           mode; default "local" in local mode.
 *   GOOGLE_CLOUD_PROJECT    the project, for the trace field of log lines. Default: none in push and
 *                           pull mode (the clients find the project themselves), "eventline-local" in
 *                           local mode.
 *   PORT                    the HTTP port (push requests, /healthz, /readyz, /metrics). Default 8080.
 *   LOG_LEVEL               trace, debug, info, warn, error, fatal or silent. Default info.
 *   PUSH_AUDIENCE           the audience of the push subscription's OIDC token. Required in push mode.
 *   PUSH_SERVICE_ACCOUNT    the service account the subscription pushes as (the token's email).
 *                           Default: any verified email.
 *   PUSH_JWKS_URL           where the token signing keys are. Default: Google's.
 *   PUSH_VERIFY=off         accept push requests without a token. Local mode only, and explicit.
 *   PULL_TRANSPORT          streaming or unary: how a pull consumer pulls. Default: unary against the
 *                           emulator (it ignores a stream's flow control), streaming against Pub/Sub.
 *   PUBSUB_EMULATOR_HOST,
 *   FIRESTORE_EMULATOR_HOST the emulators. Required in local mode.
 */
import type { LevelWithSilent } from "pino";
import { DEFAULT_PORT } from "./server";

export type Mode = "push" | "pull" | "local";

export type PullTransport = "streaming" | "unary";

/** Token verification of push requests: on with its parameters, or off (local mode only). */
export type PushVerification = { verify: false } | { verify: true; audience: string; serviceAccountEmail?: string; jwksUrl?: URL };

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

/** A configuration problem: one line, naming the variable and the fix. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The project id local mode uses when GOOGLE_CLOUD_PROJECT is unset. */
export const LOCAL_PROJECT_ID = "eventline-local";

const modes: readonly Mode[] = ["push", "pull", "local"];
const transports: readonly PullTransport[] = ["streaming", "unary"];
const levels: readonly LevelWithSilent[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

function required(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is not set: ${what}`);
  return value;
}

/**
 * How a push host verifies requests. Read only for a push consumer (the launcher knows which
 * consumers push once it has resolved the declaration).
 * @throws ConfigError when push mode lacks an audience, or PUSH_VERIFY=off is set outside local mode.
 */
export function pushVerification(env: NodeJS.ProcessEnv, mode: Mode): PushVerification {
  const audience = env["PUSH_AUDIENCE"]?.trim();
  const off = env["PUSH_VERIFY"]?.trim();
  if (off !== undefined && off !== "" && off !== "off") throw new ConfigError(`PUSH_VERIFY is "${off}": the only value it takes is "off"`);
  if (off === "off") {
    if (mode !== "local") throw new ConfigError("PUSH_VERIFY=off is accepted only with MODE=local: in the cloud every push request must carry a verified token");
    return { verify: false };
  }
  if (!audience) {
    throw new ConfigError(
      mode === "local"
        ? "PUSH_AUDIENCE is not set: set it to verify push tokens, or set PUSH_VERIFY=off to accept the emulator's unauthenticated pushes"
        : "PUSH_AUDIENCE is not set: MODE=push verifies the OIDC token of every request and needs the audience the push subscription uses",
    );
  }
  const jwks = env["PUSH_JWKS_URL"]?.trim();
  let jwksUrl: URL | undefined;
  if (jwks) {
    try {
      jwksUrl = new URL(jwks);
    } catch {
      throw new ConfigError(`PUSH_JWKS_URL "${jwks}" is not a URL`);
    }
  }
  const account = env["PUSH_SERVICE_ACCOUNT"]?.trim();
  return { verify: true, audience, ...(account ? { serviceAccountEmail: account } : {}), ...(jwksUrl !== undefined && { jwksUrl }) };
}

/**
 * Reads the configuration common to every consumer (push verification: {@link pushVerification}).
 * @throws ConfigError for the first problem found.
 */
export function readConfig(env: NodeJS.ProcessEnv): RuntimeConfig {
  const consumer = required(env, "HANDLER", "name the consumer to run, e.g. HANDLER=email-worker");
  const modeValue = required(env, "MODE", "set MODE=push (Cloud Run), MODE=pull (GKE) or MODE=local (emulators)");
  if (!modes.includes(modeValue as Mode)) throw new ConfigError(`MODE is "${modeValue}": use push, pull or local`);
  const mode = modeValue as Mode;
  const stack = mode === "local" ? env["STACK"]?.trim() || "local" : required(env, "STACK", "name the stack whose overrides apply, e.g. STACK=prod");
  const portValue = env["PORT"]?.trim() || String(DEFAULT_PORT);
  const port = Number(portValue);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(`PORT is "${portValue}": use a TCP port number`);
  const logLevel = (env["LOG_LEVEL"]?.trim() || "info") as LevelWithSilent;
  if (!levels.includes(logLevel)) throw new ConfigError(`LOG_LEVEL is "${logLevel}": use one of ${levels.join(", ")}`);
  const emulators = { pubsub: env["PUBSUB_EMULATOR_HOST"]?.trim() || undefined, firestore: env["FIRESTORE_EMULATOR_HOST"]?.trim() || undefined };
  if (mode === "local") {
    if (!emulators.pubsub) throw new ConfigError("PUBSUB_EMULATOR_HOST is not set: MODE=local runs against the Pub/Sub emulator (npm start sets it)");
    if (!emulators.firestore) throw new ConfigError("FIRESTORE_EMULATOR_HOST is not set: MODE=local runs against the Firestore emulator (npm start sets it)");
  }
  const projectId = env["GOOGLE_CLOUD_PROJECT"]?.trim() || (mode === "local" ? LOCAL_PROJECT_ID : undefined);
  const pullTransport = (env["PULL_TRANSPORT"]?.trim() || (emulators.pubsub ? "unary" : "streaming")) as PullTransport;
  if (!transports.includes(pullTransport)) throw new ConfigError(`PULL_TRANSPORT is "${pullTransport}": use streaming or unary`);
  return { consumer, mode, stack, projectId, port, logLevel, emulators, pullTransport };
}
