/**
 * Runs one workload as its platform would run the image's container, on this machine: the
 * image's CMD (or the declared command/args, with Kubernetes' rules), from the image's app
 * directory, with exactly the image's ENV, the declared environment and the caller's overrides.
 * Nothing else of this process's environment reaches it (PATH aside), so a variable the
 * declaration forgot fails here as it would in the cloud.
 *
 * Each workload is its own process group. The platform sends SIGTERM to the container's main
 * process and SIGKILL to all of it after the grace period; stop() does the same. No workload
 * outlives this process: its groups are killed when it exits, and on SIGINT, SIGTERM or SIGHUP
 * when nothing else handles that signal.
 *
 * What is not reproduced: the image's filesystem beyond the app directory (the base image's
 * files, a read-only root), USER (the process runs as this user), and the base image's own ENV
 * (PATH, NODE_VERSION). `notes` on the running container says which of these apply.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, delimiter, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import type { ImageBuild } from "./image";

/** Output lines kept per container; older ones are dropped. */
export const OUTPUT_LINES_KEPT = 5000;

/** How long to wait for a process's remaining output after it exits, in milliseconds. */
const OUTPUT_DRAIN_MS = 1000;

/** A volume: files materialized in a local directory that stands in for `mountPath`. */
export interface VolumeMount {
  /** Where the container sees the volume, absolute, e.g. "/secrets/smtp" or "/tmp". */
  mountPath: string;
  /** File name → content. Names are single path segments, as Secret and ConfigMap keys are. Empty for an emptyDir. */
  files: Record<string, string>;
}

export interface ContainerSpec {
  /** The workload's name, for messages and the temp directory. */
  name: string;
  /** The built image (./image.ts). */
  image: ImageBuild;
  /** Kubernetes semantics: command replaces the image's ENTRYPOINT/CMD, args replace CMD. Both absent: the image's CMD. */
  command?: string[];
  /** See {@link ContainerSpec.command}. `$(VAR)` in command and args expands from the environment, as Kubernetes does. */
  args?: string[];
  /** The declared environment, already resolved to strings (secrets resolved by the caller). Image ENV < this. */
  env: Record<string, string>;
  /** Variables the caller overrides to point at this machine (emulator hosts, PORT, ...); they win over both. */
  overrides: Record<string, string>;
  /**
   * Mounted volumes: materialized under a temp dir (removed when the process exits); every value
   * of the image's ENV and the declared env that is a mountPath or under one is rewritten to the
   * local dir, and listed in {@link RunningContainer.rewrites}. Default: none.
   */
  mounts?: VolumeMount[];
  /** Called with each output line as it arrives. Default: none (lines are kept in `output`). */
  onOutput?: (line: string, stream: "stdout" | "stderr") => void;
}

/** How the process ended. */
export interface ContainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningContainer {
  readonly name: string;
  readonly pid: number;
  /** The argv run (`node` resolved to this process's Node.js). */
  readonly argv: readonly string[];
  /** Exactly the environment the process got. */
  readonly env: Readonly<Record<string, string>>;
  /** mountPath → the local directory standing in for it. */
  readonly mounts: Readonly<Record<string, string>>;
  /** Environment values rewritten from a mountPath to its local directory. */
  readonly rewrites: readonly { variable: string; from: string; to: string }[];
  /** Where this differs from the platform (USER not applied, mounts rewritten, ...), one sentence each. */
  readonly notes: readonly string[];
  /** stdout and stderr lines so far (bounded, keep the last {@link OUTPUT_LINES_KEPT}). */
  readonly output: string[];
  /** Resolves when the process exits (and its remaining output has been read). */
  readonly exited: Promise<ContainerExit>;
  /**
   * SIGTERM to the main process, then SIGKILL to its whole group after graceSeconds; resolves
   * with how it ended and how long it took. `signal: "SIGTERM"` means the process had no SIGTERM
   * handler: as PID 1 in a container it would have ignored SIGTERM and been killed after the grace period.
   */
  stop(graceSeconds: number): Promise<ContainerExit & { seconds: number; killed: boolean }>;
}

const groups = new Set<number>();
let hooksInstalled = false;

/** Signals a process group; ESRCH (already gone) is the expected race, not an error. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

function killAllGroups(): void {
  for (const pid of groups) signalGroup(pid, "SIGKILL");
  groups.clear();
}

/** Kills every workload when this process exits, or dies of a signal nothing else handles. */
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once("exit", killAllGroups);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      // Another handler owns shutdown (and stops its containers); exit still kills what is left.
      if (process.listenerCount(signal) > 1) return;
      killAllGroups();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Kubernetes' `$(VAR)` expansion: a defined variable is replaced, `$$(` is a literal `$(`, anything else stays. */
export function expandReferences(word: string, env: Readonly<Record<string, string>>): string {
  return word.replace(
    /\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g,
    (match, name: string | undefined) => {
      if (match === "$$") return "$";
      return name !== undefined && env[name] !== undefined ? env[name]! : match;
    },
  );
}

/** The argv the platform would run: Kubernetes' command/args rules over the image's CMD (the image has no ENTRYPOINT). */
function argvOf(spec: ContainerSpec, env: Readonly<Record<string, string>>): string[] {
  const argv =
    spec.command !== undefined
      ? [...spec.command, ...(spec.args ?? [])]
      : spec.args !== undefined
        ? [...spec.args]
        : [...spec.image.command];
  if (argv.length === 0)
    throw new Error(
      `${spec.name}: the command to run is empty; declare a command or args, or give the image a CMD`,
    );
  const expanded =
    spec.command !== undefined || spec.args !== undefined
      ? argv.map((word) => expandReferences(word, env))
      : argv;
  if (expanded[0] === "node" || basename(expanded[0]!) === "node") expanded[0] = process.execPath;
  return expanded;
}

/** Writes the mounts' files under `root`; mountPath → local directory. */
async function materialize(
  name: string,
  mounts: readonly VolumeMount[],
  root: string,
): Promise<Record<string, string>> {
  const local: Record<string, string> = {};
  for (const [index, mount] of mounts.entries()) {
    if (!mount.mountPath.startsWith("/"))
      throw new Error(
        `${name}: the mountPath "${mount.mountPath}" is not absolute; mount paths start with /`,
      );
    const directory = join(root, `${index}${mount.mountPath.replace(/[^A-Za-z0-9._-]+/g, "-")}`);
    await mkdir(directory, { recursive: true });
    for (const [file, content] of Object.entries(mount.files)) {
      if (file === "" || file === "." || file === ".." || file.includes("/"))
        throw new Error(
          `${name}: the file "${file}" of the volume at ${mount.mountPath} is not a plain file name; name files without /`,
        );
      await writeFile(join(directory, file), content);
    }
    local[mount.mountPath.replace(/\/+$/, "") || "/"] = directory;
  }
  return local;
}

/** Rewrites values that are a mountPath or under one (the longest mountPath wins). */
function rewriteMounted(
  env: Record<string, string>,
  mounts: Readonly<Record<string, string>>,
): { variable: string; from: string; to: string }[] {
  const paths = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const rewrites: { variable: string; from: string; to: string }[] = [];
  for (const [variable, value] of Object.entries(env)) {
    const path = paths.find(
      (candidate) =>
        value === candidate || value.startsWith(candidate === "/" ? "/" : `${candidate}/`),
    );
    if (path === undefined) continue;
    const to = mounts[path]! + value.slice(path === "/" ? 0 : path.length);
    env[variable] = to;
    rewrites.push({ variable, from: value, to });
  }
  return rewrites;
}

/**
 * Starts the workload and returns once the process is running.
 * @throws Error when the program cannot be started (not found, not executable), naming it.
 */
export async function startContainer(spec: ContainerSpec): Promise<RunningContainer> {
  installHooks();
  const notes: string[] = [];
  const mounted = spec.mounts ?? [];
  const scratch =
    mounted.length > 0
      ? await mkdtemp(
          join(tmpdir(), `eventline-verify-${spec.name.replace(/[^A-Za-z0-9_-]+/g, "-")}-`),
        )
      : undefined;
  const mounts = scratch !== undefined ? await materialize(spec.name, mounted, scratch) : {};

  const declared: Record<string, string> = { ...spec.image.env, ...spec.env };
  const rewrites = rewriteMounted(declared, mounts);
  const env: Record<string, string> = {
    // The image's PATH is not known; this machine's, with this Node.js first, finds the same programs.
    PATH: [dirname(process.execPath), process.env["PATH"] ?? ""].filter(Boolean).join(delimiter),
    ...declared,
    ...spec.overrides,
  };
  for (const [variable, value] of Object.entries(env)) {
    if (typeof value !== "string")
      throw new Error(
        `${spec.name}: the environment variable ${variable} is ${typeof value}, not a string; resolve it before starting the container`,
      );
  }
  for (const rewrite of rewrites)
    notes.push(
      `${rewrite.variable}=${rewrite.from} points into a mounted volume; it is ${rewrite.to} here`,
    );
  if (spec.image.user !== undefined)
    notes.push(
      `USER ${spec.image.user} is not applied: the process runs as uid ${process.getuid?.() ?? "?"}`,
    );

  const argv = argvOf(spec, env);
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    cwd: spec.image.appDir,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    await Promise.race([
      once(child, "spawn"),
      once(child, "error").then(([err]) => Promise.reject(err as Error)),
    ]);
  } catch (err) {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      `${spec.name}: could not start ${argv[0]} in ${spec.image.appDir} (${code ?? String(err)}); check the command and that the image was built`,
      { cause: err },
    );
  }
  const pid = child.pid!;
  groups.add(pid);

  const output: string[] = [];
  const collect = (stream: "stdout" | "stderr") => (line: string) => {
    output.push(line);
    if (output.length > OUTPUT_LINES_KEPT * 1.1)
      output.splice(0, output.length - OUTPUT_LINES_KEPT);
    spec.onOutput?.(line, stream);
  };
  const streamsClosed = Promise.all(
    (["stdout", "stderr"] as const).map((stream) => {
      const lines = createInterface({ input: child[stream]! });
      lines.on("line", collect(stream));
      return once(lines, "close");
    }),
  );

  const exited = new Promise<ContainerExit>((resolve) => {
    child.once("exit", (code, signal) => {
      // The platform removes the whole container: nothing the workload started stays behind.
      signalGroup(pid, "SIGKILL");
      groups.delete(pid);
      const drained = Promise.race([
        streamsClosed,
        new Promise((wait) => setTimeout(wait, OUTPUT_DRAIN_MS)),
      ]);
      void drained
        .then(() =>
          scratch !== undefined ? rm(scratch, { recursive: true, force: true }) : undefined,
        )
        .finally(() => resolve({ code, signal }));
    });
  });

  let stopping: ReturnType<RunningContainer["stop"]> | undefined;
  const stop = (graceSeconds: number): ReturnType<RunningContainer["stop"]> =>
    (stopping ??= (async () => {
      const started = Date.now();
      let killed = false;
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(pid, "SIGTERM");
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
        }
      }
      const timer = setTimeout(() => {
        killed = true;
        signalGroup(pid, "SIGKILL");
      }, graceSeconds * 1000);
      const result = await exited;
      clearTimeout(timer);
      return { ...result, seconds: (Date.now() - started) / 1000, killed };
    })());

  return { name: spec.name, pid, argv, env, mounts, rewrites, notes, output, exited, stop };
}
