/**
 * Starts and stops the Pub/Sub and Firestore emulators that the local runtime, `npm start`
 * and the tests run against. Each emulator runs in its own process group on 127.0.0.1, so
 * stopping it kills the JVM the launcher script forks as well; the JVM heap is capped
 * because the emulators' memory only grows: they keep everything they are given.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where the Google Cloud SDK installs the emulators. */
export const EMULATOR_COMMANDS = {
  pubsub: {
    command: "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",
    args: (port: number) => [`--host=127.0.0.1`, `--port=${port}`],
  },
  firestore: {
    command: "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator",
    args: (port: number) => ["start", `--host=127.0.0.1`, `--port=${port}`],
  },
} as const;

export type EmulatorKind = keyof typeof EMULATOR_COMMANDS;

/** The environment variable the Google clients read to find each emulator. */
export const EMULATOR_HOST_VARIABLES: Readonly<Record<EmulatorKind, string>> = {
  pubsub: "PUBSUB_EMULATOR_HOST",
  firestore: "FIRESTORE_EMULATOR_HOST",
};

export interface EmulatorOptions {
  /** Port to listen on. Default: a free port chosen by the OS. */
  port?: number;
  /** JVM maximum heap, as `-Xmx` takes it. Default `"512m"`: enough for a test suite, and it stops runaway growth. */
  maxHeap?: string;
  /** How long to wait for the emulator to answer, in milliseconds. Default 60 000. */
  startTimeoutMs?: number;
  /** More command-line flags (the Firestore emulator's `--import-data=<file>`). Default none. */
  extraArgs?: readonly string[];
}

/** A running emulator. */
export interface RunningEmulator {
  kind: EmulatorKind;
  /** `127.0.0.1:<port>`, the form PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST take. */
  host: string;
  /** Stops the emulator's whole process group; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Ports {@link freePort} has handed out in this process. */
const handedOut = new Set<number>();

/**
 * Where {@link freePort} picks: below the ports the OS gives out by itself (32768 and up on
 * Linux, 49152 and up on macOS and Windows), to listeners on port 0 and to every outgoing
 * connection. A port from that range could be taken by a connection in the seconds before the
 * process it was handed to binds it: `npm start` binds its port only once the emulators are up,
 * and a test run that makes thousands of connections meanwhile took it once.
 */
export const FREE_PORT_RANGE = { first: 20_000, last: 32_767 } as const;

/** Where ports handed out are reserved across processes: one file per port. */
const RESERVATIONS = join(tmpdir(), "eventline-ports");
/** How long a port handed out stays reserved against other processes, in milliseconds. */
const RESERVATION_MS = 10 * 60_000;

/**
 * Reserves `port` against every other process on the machine that picks with {@link freePort}
 * (the test files running side by side, a benchmark, `npm start`): false when another reserved
 * it in the last {@link RESERVATION_MS}. Where no reservation can be written, the check that
 * nothing listens is all there is.
 */
function reserve(port: number): boolean {
  const file = join(RESERVATIONS, String(port));
  try {
    mkdirSync(RESERVATIONS, { recursive: true });
    writeFileSync(file, String(process.pid), { flag: "wx" });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") return true;
  }
  try {
    if (Date.now() - statSync(file).mtimeMs < RESERVATION_MS) return false;
    writeFileSync(file, String(process.pid));
    return true;
  } catch {
    return false;
  }
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on, in {@link FREE_PORT_RANGE}, never one this
 * process or another picking here was given in the last minutes: two workloads started side by
 * side must not share one, and each binds its port only some seconds after it is handed out.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port =
      FREE_PORT_RANGE.first +
      Math.floor(Math.random() * (FREE_PORT_RANGE.last - FREE_PORT_RANGE.first + 1));
    if (handedOut.has(port) || !(await canListen(port)) || !reserve(port)) {
      if (attempt >= 200)
        throw new Error(
          `no free port found in ${FREE_PORT_RANGE.first}-${FREE_PORT_RANGE.last} after ${attempt} tries`,
        );
      continue;
    }
    handedOut.add(port);
    return port;
  }
}

/** True when a listener on 127.0.0.1:`port` can be opened (it is closed again at once). */
async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  const listening = once(server, "listening").then(
    () => true,
    () => false,
  );
  server.once("error", () => undefined);
  server.listen(port, "127.0.0.1");
  if (!(await listening)) return false;
  server.close();
  await once(server, "close");
  return true;
}

/** True once an HTTP GET of the emulator's root answers (both emulators answer "Ok"). */
async function answers(host: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

const running = new Set<ChildProcess>();

/** Kills a process group; ESRCH (already gone) is the expected race, not an error. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

// A parent that exits without stopping its emulators must not leave JVMs behind.
process.once("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});

/**
 * Starts one emulator and waits until it answers.
 * @throws Error with the emulator's output when it exits early or does not answer in time.
 */
export async function startEmulator(
  kind: EmulatorKind,
  options: EmulatorOptions = {},
): Promise<RunningEmulator> {
  const port = options.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const { command, args } = EMULATOR_COMMANDS[kind];
  const child = spawn(command, [...args(port), ...(options.extraArgs ?? [])], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, JAVA_TOOL_OPTIONS: `-Xmx${options.maxHeap ?? "512m"}` },
  });
  running.add(child);
  let output = "";
  const collect = (chunk: Buffer): void => {
    // Only the start-up output is kept, for the error message; a long run's logs are dropped.
    if (output.length < 20_000) output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    running.delete(child);
  });

  const stop = async (): Promise<void> => {
    if (hasExited) return;
    killGroup(child, "SIGTERM");
    const killer = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
    await exited;
    clearTimeout(killer);
    // The launcher script exits before the JVM it forked; make sure the group is gone.
    killGroup(child, "SIGKILL");
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  while (!(await answers(host))) {
    if (hasExited)
      throw new Error(`the ${kind} emulator exited before answering on ${host}:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `the ${kind} emulator did not answer on ${host} within ${options.startTimeoutMs ?? 60_000} ms:\n${output}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return { kind, host, stop };
}

/**
 * The emulator of `kind` named by its environment variable when one is set (reused, and
 * never stopped by the caller), otherwise a new one.
 */
export async function emulatorFromEnvOrStart(
  kind: EmulatorKind,
  options: EmulatorOptions = {},
): Promise<RunningEmulator> {
  const existing = process.env[EMULATOR_HOST_VARIABLES[kind]];
  if (existing) return { kind, host: existing, stop: async () => {} };
  return startEmulator(kind, options);
}

/** Deletes every document of a project's database in the Firestore emulator (its documented reset endpoint). */
export async function clearFirestoreEmulator(
  host: string,
  projectId: string,
  databaseId = "(default)",
): Promise<void> {
  const response = await fetch(
    `http://${host}/emulator/v1/projects/${projectId}/databases/${databaseId}/documents`,
    { method: "DELETE" },
  );
  if (!response.ok)
    throw new Error(
      `clearing the Firestore emulator failed: ${response.status} ${await response.text()}`,
    );
}
