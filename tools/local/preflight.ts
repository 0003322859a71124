/**
 * What `npm start` checks before it starts an emulator, so a missing package or a busy port
 * is one line that says what to install or free, not a Java stack trace: the emulator is
 * installed, Java 17 or later is on the PATH, and the port is free.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { EMULATOR_COMMANDS, type EmulatorKind } from "./emulators";
import { LocalEnvironmentError } from "./settings";

/** The Debian packages of the Google Cloud SDK that carry each emulator. */
export const EMULATOR_PACKAGES: Readonly<Record<EmulatorKind, string>> = {
  pubsub: "google-cloud-cli-pubsub-emulator",
  firestore: "google-cloud-cli-firestore-emulator",
};

const labels: Readonly<Record<EmulatorKind, string>> = {
  pubsub: "Pub/Sub",
  firestore: "Firestore",
};
const hostVariables: Readonly<Record<EmulatorKind, string>> = {
  pubsub: "PUBSUB_EMULATOR_HOST",
  firestore: "FIRESTORE_EMULATOR_HOST",
};
const portVariables: Readonly<Record<EmulatorKind, string>> = {
  pubsub: "EVENTLINE_PUBSUB_PORT",
  firestore: "EVENTLINE_FIRESTORE_PORT",
};

/** The Java the emulators need. */
export const MIN_JAVA = 17;

/** @throws LocalEnvironmentError naming the package to install. */
export function checkEmulatorInstalled(
  kind: EmulatorKind,
  command: string = EMULATOR_COMMANDS[kind].command,
): void {
  if (!existsSync(command)) {
    throw new LocalEnvironmentError(
      `the ${labels[kind]} emulator is not installed (no ${command}): install the ${EMULATOR_PACKAGES[kind]} package (apt-get install ${EMULATOR_PACKAGES[kind]}; it needs Java ${MIN_JAVA}), or set ${hostVariables[kind]} to an emulator that runs elsewhere`,
    );
  }
}

/** The major version `java -version` reports, or undefined when there is no java. */
export function javaMajorVersion(java = "java"): number | undefined {
  const result = spawnSync(java, ["-version"], { encoding: "utf8" });
  if (result.error !== undefined) return undefined;
  // `openjdk version "17.0.15"`, or `"1.8.0_392"` for Java 8.
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  if (match === null) return undefined;
  return match[1] === "1" ? Number(match[2]) : Number(match[1]);
}

/** @throws LocalEnvironmentError when Java is missing or too old. */
export function checkJava(java = "java"): void {
  const major = javaMajorVersion(java);
  if (major === undefined)
    throw new LocalEnvironmentError(
      `Java is not installed: the emulators need Java ${MIN_JAVA} or later (apt-get install openjdk-${MIN_JAVA}-jre-headless)`,
    );
  if (major < MIN_JAVA)
    throw new LocalEnvironmentError(
      `Java ${major} is too old: the emulators need Java ${MIN_JAVA} or later (apt-get install openjdk-${MIN_JAVA}-jre-headless)`,
    );
}

/** True when nothing listens on 127.0.0.1:`port`. */
export async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** @throws LocalEnvironmentError naming the gateway's port and the way out, when it is taken. */
export async function checkGatewayPort(port: number): Promise<void> {
  if (port === 0 || (await portIsFree(port))) return;
  throw new LocalEnvironmentError(
    `port ${port} for the gateway and dashboard is in use: stop what runs there, or pick another port with PORT=<port>`,
  );
}

/** @throws LocalEnvironmentError naming the port, and the ways out, when it is taken. */
export async function checkEmulatorPort(kind: EmulatorKind, port: number): Promise<void> {
  if (await portIsFree(port)) return;
  throw new LocalEnvironmentError(
    `port ${port} for the ${labels[kind]} emulator is in use: stop what runs there, pick another port with ${portVariables[kind]}=<port>, or, if it is an emulator you want to reuse, set ${hostVariables[kind]}=127.0.0.1:${port}`,
  );
}
