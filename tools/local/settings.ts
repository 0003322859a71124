/**
 * Where the local environment lives: the emulators' addresses, the project id, the gateway's
 * port. `npm start` reads them from the environment (or takes the defaults) and writes what
 * it started to `.eventline/dev.json`; every other CLI command reads the environment first,
 * then that file, then the defaults, so a command run in another terminal finds what
 * `npm start` started without being told, even on ports of its own.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_STATE_DIR } from "./saved-state";

/** The stack the local environment resolves the declaration for. */
export const LOCAL_STACK = "local";

/** Defaults when the environment sets nothing. */
export const localDefaults = {
  projectId: "eventline-local",
  pubsubPort: 8085,
  firestorePort: 8086,
  port: 8080,
} as const;

/** The local environment's addresses. */
export interface LocalSettings {
  /** GOOGLE_CLOUD_PROJECT. Default `eventline-local`. */
  projectId: string;
  /**
   * PUBSUB_EMULATOR_HOST (`host:port`) of a running emulator to use; otherwise where `npm start`
   * starts one: 127.0.0.1 on EVENTLINE_PUBSUB_PORT, default 8085.
   */
  pubsubHost: string;
  /** As pubsubHost, for Firestore: FIRESTORE_EMULATOR_HOST, or EVENTLINE_FIRESTORE_PORT, default 8086. */
  firestoreHost: string;
  /** PORT of the gateway and dashboard. Default 8080. */
  port: number;
  /** True where the host came from the *_EMULATOR_HOST variable: an emulator to reuse and never stop. */
  pubsubFromEnv: boolean;
  firestoreFromEnv: boolean;
  /**
   * EVENTLINE_STATE_DIR: where the Firestore emulator's data is saved when `npm start` stops
   * and restored from when it starts (saved-state.ts). Default `.eventline/firestore`.
   */
  stateDir: string;
}

/**
 * Something about the machine or the settings stops the local environment: a bad variable,
 * a missing emulator, a port in use, nothing answering. The message says what and what to do.
 */
export class LocalEnvironmentError extends Error {
  override readonly name = "LocalEnvironmentError";
}

function portOf(value: string, variable: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new LocalEnvironmentError(
      `${variable}=${value} is not a port; use a whole number 0..65535, e.g. ${variable}=8080`,
    );
  return port;
}

function hostOf(value: string, variable: string): string {
  const match = /^([^:\s]+):(\d+)$/.exec(value);
  if (match === null)
    throw new LocalEnvironmentError(
      `${variable}=${value} is not host:port; write it as e.g. ${variable}=127.0.0.1:8085`,
    );
  portOf(match[2]!, variable);
  return value;
}

/** The settings `npm start` uses, from `env` (default: this process's environment). */
export function localSettings(env: NodeJS.ProcessEnv = process.env): LocalSettings {
  const pubsub = env["PUBSUB_EMULATOR_HOST"];
  const firestore = env["FIRESTORE_EMULATOR_HOST"];
  const pubsubPort = env["EVENTLINE_PUBSUB_PORT"]
    ? portOf(env["EVENTLINE_PUBSUB_PORT"], "EVENTLINE_PUBSUB_PORT")
    : localDefaults.pubsubPort;
  const firestorePort = env["EVENTLINE_FIRESTORE_PORT"]
    ? portOf(env["EVENTLINE_FIRESTORE_PORT"], "EVENTLINE_FIRESTORE_PORT")
    : localDefaults.firestorePort;
  return {
    projectId: env["GOOGLE_CLOUD_PROJECT"] || localDefaults.projectId,
    pubsubHost: pubsub ? hostOf(pubsub, "PUBSUB_EMULATOR_HOST") : `127.0.0.1:${pubsubPort}`,
    firestoreHost: firestore
      ? hostOf(firestore, "FIRESTORE_EMULATOR_HOST")
      : `127.0.0.1:${firestorePort}`,
    port: env["PORT"] ? portOf(env["PORT"], "PORT") : localDefaults.port,
    pubsubFromEnv: Boolean(pubsub),
    firestoreFromEnv: Boolean(firestore),
    stateDir: env["EVENTLINE_STATE_DIR"] || DEFAULT_STATE_DIR,
  };
}

// ---- .eventline/dev.json: what the running `npm start` uses ----

/** Where `npm start` also writes its log lines, as JSON, for `eventline logs`; emptied at each start. */
export const LOCAL_LOG_FILE = join(__dirname, "..", "..", ".eventline", "logs", "local.jsonl");

/** The state file, in the (git-ignored) .eventline/ folder of the repository. */
export const STATE_FILE = join(__dirname, "..", "..", ".eventline", "dev.json");

interface DevState {
  pid: number;
  projectId: string;
  pubsubHost: string;
  firestoreHost: string;
  port: number;
}

/** Records the running environment for other commands. */
export function writeDevState(settings: LocalSettings, file = STATE_FILE): void {
  mkdirSync(join(file, ".."), { recursive: true });
  const state: DevState = {
    pid: process.pid,
    projectId: settings.projectId,
    pubsubHost: settings.pubsubHost,
    firestoreHost: settings.firestoreHost,
    port: settings.port,
  };
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
}

/** Removes the record, if it is this process's. */
export function clearDevState(file = STATE_FILE): void {
  if (readDevState(file)?.pid === process.pid) rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The running environment's record; undefined when there is none or its process is gone. */
export function readDevState(file = STATE_FILE): DevState | undefined {
  let state: DevState;
  try {
    state = JSON.parse(readFileSync(file, "utf8")) as DevState;
  } catch {
    return undefined;
  }
  return alive(state.pid) ? state : undefined;
}

/**
 * The settings a command that talks to the local environment uses: the environment's
 * variables where set, else what the running `npm start` recorded, else the defaults.
 */
export function clientSettings(
  env: NodeJS.ProcessEnv = process.env,
  file = STATE_FILE,
): LocalSettings {
  const state = readDevState(file);
  const fromState: NodeJS.ProcessEnv =
    state === undefined
      ? {}
      : {
          GOOGLE_CLOUD_PROJECT: state.projectId,
          PUBSUB_EMULATOR_HOST: state.pubsubHost,
          FIRESTORE_EMULATOR_HOST: state.firestoreHost,
          PORT: String(state.port),
        };
  const defined = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  return localSettings({ ...fromState, ...defined });
}
