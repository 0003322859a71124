/**
 * Builds what a container image's app directory would hold, from its Dockerfile, without
 * Docker: every stage the image needs gets a directory standing for its filesystem root, and
 * the Dockerfile's steps are carried out in it (./dockerfile.ts says which it interprets).
 * `npm ci` links the context's installed packages instead of downloading (./node-modules.ts),
 * `npx tsc` runs the stage's TypeScript compiler. What the final stage's WORKDIR holds is the
 * app directory verify runs workloads from, with the image's CMD, ENV, USER and EXPOSE.
 *
 * Builds are cached in `workDir/<key>`, the key a SHA-256 of the Dockerfile, its ignore file,
 * every context file a COPY takes, and the context's installed package tree when a stage runs
 * npm ci. A build is made in a scratch directory and renamed into place with its marker
 * (`image.json`) already written, so a directory under its key is always complete.
 */
import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { openBuildContext, type BuildContext, type ContextSource } from "./build-context";
import { planDockerfile, type BuildStage, type BuildStep, type DockerfilePlan } from "./dockerfile";
import { npmCiFromContext } from "./node-modules";
import { copyInto, copySymlink, linkTree } from "./tree-links";

const run = promisify(execFile);

/** Changes whenever what a build produces changes for the same inputs; part of the cache key. */
const BUILDER_VERSION = "eventline-verify-image-1";

/** The file in a finished build that marks it complete and holds its {@link ImageBuild}. */
const MARKER = "image.json";

/** What the image would run, and where its app directory is on this machine. */
export interface ImageBuild {
  /** Plays the final stage's WORKDIR (/app): what its COPY lines put there (dist/, node_modules/, package.json). */
  appDir: string;
  /** The final stage's CMD in argv form, e.g. ["node", "dist/handlers/main.js"]. */
  command: string[];
  /** The final stage's ENV, in order (later wins). */
  env: Record<string, string>;
  /** USER of the final stage, if any, e.g. "1000:1000". */
  user?: string;
  /** EXPOSEd ports. */
  exposed: number[];
  /** The final stage's base image as FROM names it, e.g. "node:20-slim"; its own files and ENV are not modelled. */
  baseImage: string;
  /** The cache key the build is stored under (hex SHA-256). */
  key: string;
  /** True when the build was found in the cache rather than made. */
  cached: boolean;
}

export interface BuildImageOptions {
  /** The Dockerfile, e.g. `handlers/Dockerfile`. */
  dockerfile: string;
  /** The build context directory (what `docker build` is given), e.g. the repository root. */
  context: string;
  /** Where builds are made and cached; each build is `workDir/<key>`. Created when missing. */
  workDir: string;
  /** Progress, one line at a time. Default: silent. */
  say?: (line: string) => void;
  /** How many builds to keep in `workDir`, the most recently made or reused, this one included. Default 3. */
  keep?: number;
}

/** What is stored in the marker: the build, with the app directory relative to the build's own directory. */
interface StoredBuild extends Omit<ImageBuild, "appDir" | "cached"> {
  builder: string;
  appDirInBuild: string;
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** A stage's name for humans: its AS name, "image" for an unnamed last stage, else its index. */
function stageLabel(stage: BuildStage, final: boolean): string {
  return stage.name ?? (final ? "image" : String(stage.index));
}

/** The stage's directory: `0-build`, `2-image`. */
function stageDirectory(buildDir: string, stage: BuildStage, final: boolean): string {
  return join(buildDir, `${stage.index}-${stageLabel(stage, final)}`);
}

/** A path inside a stage (absolute, POSIX) on disk. */
function inStage(root: string, path: string): string {
  return join(root, ...path.split("/").filter(Boolean));
}

/** The context's entries every COPY of the needed stages takes, resolved once for the key and the build. */
async function resolveCopies(
  plan: DockerfilePlan,
  context: BuildContext,
  file: string,
): Promise<Map<BuildStep, ContextSource[]>> {
  const resolved = new Map<BuildStep, ContextSource[]>();
  for (const index of plan.needed) {
    for (const step of plan.stages[index]!.steps) {
      if (step.kind !== "copy" || !("context" in step.from)) continue;
      const sources: ContextSource[] = [];
      for (const source of step.sources)
        sources.push(...(await context.resolve(source, `${file}:${step.line}`)));
      resolved.set(step, sources);
    }
  }
  return resolved;
}

/** The cache key: everything the build's result depends on. */
async function cacheKey(
  dockerfileText: string,
  plan: DockerfilePlan,
  context: BuildContext,
  copies: Map<BuildStep, ContextSource[]>,
): Promise<string> {
  const hash = createHash("sha256");
  const field = (value: string | Buffer): void => {
    hash.update(String(value.length)).update(":").update(value);
  };
  field(BUILDER_VERSION);
  field(dockerfileText);
  field(context.ignoreText);
  const entries = new Map<string, "file" | "directory" | "symlink">();
  for (const sources of copies.values()) {
    for (const source of sources) {
      entries.set(source.path, source.type);
      for (const child of source.children) entries.set(child.path, child.type);
    }
  }
  for (const path of [...entries.keys()].sort()) {
    const type = entries.get(path)!;
    field(`${type} ${path}`);
    if (type === "file") field(await readFile(join(context.root, path)));
    if (type === "symlink") field(await readlink(join(context.root, path)));
  }
  const installs = plan.needed.some((index) =>
    plan.stages[index]!.steps.some((step) => step.kind === "npm-ci"),
  );
  const installed = join(context.root, "node_modules", ".package-lock.json");
  if (installs && existsSync(installed)) field(await readFile(installed));
  return hash.digest("hex");
}

async function readStored(buildDir: string): Promise<ImageBuild | undefined> {
  let stored: StoredBuild;
  try {
    stored = JSON.parse(await readFile(join(buildDir, MARKER), "utf8")) as StoredBuild;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (stored.builder !== BUILDER_VERSION) return undefined;
  const { builder: _builder, appDirInBuild, ...rest } = stored;
  return { ...rest, appDir: join(buildDir, appDirInBuild), cached: true };
}

/** Copies one COPY step's sources into the stage rooted at `root`. */
async function copyStep(
  step: Extract<BuildStep, { kind: "copy" }>,
  root: string,
  stageRoots: ReadonlyMap<number, string>,
  context: BuildContext,
  sources: ContextSource[] | undefined,
  where: string,
): Promise<void> {
  const dest = inStage(root, step.dest);
  const many = step.sources.length > 1 || (sources !== undefined && sources.length > 1);
  if (many && !step.destIsDirectory)
    throw new Error(
      `${where}: COPY with more than one source needs a destination directory ending in /, and ${step.dest} does not; add the /`,
    );
  const intoDirectory = async (): Promise<boolean> =>
    step.destIsDirectory || (await stat(dest).catch(() => undefined))?.isDirectory() === true;

  if ("stage" in step.from) {
    const fromRoot = stageRoots.get(step.from.stage)!;
    for (const source of step.sources) {
      if (/[*?[]/.test(source))
        throw new Error(
          `${where}: COPY --from with the wildcard ${source} is not interpreted by verify; name the path`,
        );
      const path = inStage(fromRoot, resolve("/", source));
      const stats = await lstat(path).catch(() => undefined);
      if (stats === undefined)
        throw new Error(
          `${where}: ${source} does not exist in stage ${step.from.stage} after its steps; check the path the earlier stage writes`,
        );
      const target =
        stats.isDirectory() || !(await intoDirectory()) ? dest : join(dest, basename(path));
      await linkTree(path, target);
    }
    return;
  }
  for (const source of sources ?? []) {
    const from = join(context.root, source.path);
    if (source.type === "directory") {
      await mkdir(dest, { recursive: true });
      for (const child of source.children) {
        const inner = source.path === "" ? child.path : child.path.slice(source.path.length + 1);
        const to = join(dest, ...inner.split("/"));
        if (child.type === "directory") await mkdir(to, { recursive: true });
        else if (child.type === "symlink") await copySymlink(join(context.root, child.path), to);
        else await copyInto(join(context.root, child.path), to);
      }
      continue;
    }
    const to = (await intoDirectory()) ? join(dest, basename(source.path)) : dest;
    if (source.type === "symlink") await copySymlink(from, to);
    else await copyInto(from, to);
  }
}

/** `npx tsc -p <project>` with the stage's own TypeScript, in the stage's working directory. */
async function compile(
  step: Extract<BuildStep, { kind: "tsc" }>,
  root: string,
  where: string,
): Promise<void> {
  const workdir = inStage(root, step.workdir);
  const tsc = join(workdir, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(tsc))
    throw new Error(
      `${where}: npx tsc needs typescript in ${step.workdir}/node_modules, and the stage has none (npx would download another package); run npm ci with typescript in devDependencies before this RUN`,
    );
  try {
    await run(process.execPath, [tsc, "-p", step.project], {
      cwd: workdir,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const failure = err as { stdout?: string; stderr?: string };
    const output = `${failure.stdout ?? ""}${failure.stderr ?? ""}`.split("\n").filter(Boolean);
    throw new Error(
      `${where}: tsc -p ${step.project} failed, as it would in docker build:\n  ${output.slice(0, 40).join("\n  ")}${output.length > 40 ? `\n  … ${output.length - 40} more lines` : ""}\nFix: make the project compile (npm run typecheck)`,
    );
  }
}

/** Removes builds beyond the `keep` most recently used, and scratch directories of builders no longer running. */
async function prune(workDir: string, keep: number, current: string): Promise<void> {
  const builds: { path: string; mtime: number }[] = [];
  for (const name of await readdir(workDir)) {
    const path = join(workDir, name);
    const partial = /^[0-9a-f]{64}\.partial-(\d+)-[0-9a-f]+$/.exec(name);
    if (partial !== null) {
      if (!processRunning(Number(partial[1]))) await rm(path, { recursive: true, force: true });
    } else if (/^[0-9a-f]{64}$/.test(name) && path !== current) {
      // The marker's time is when the build was last made or reused; a directory without one is not a build.
      const marker = await stat(join(path, MARKER)).catch(() => undefined);
      builds.push({ path, mtime: marker?.mtimeMs ?? 0 });
    }
  }
  builds.sort((a, b) => b.mtime - a.mtime);
  for (const build of builds.slice(Math.max(0, keep - 1)))
    await rm(build.path, { recursive: true, force: true });
}

function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The base image's Node.js major version, when it is an official node image. */
function nodeMajorOf(image: string): number | undefined {
  const match = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)/.exec(image);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Builds (or finds in the cache) the image the Dockerfile describes.
 * @throws UninterpretableDockerfileError for an instruction verify cannot carry out (naming its line);
 *   Error naming the line and the fix when a step fails (missing source, npm tree out of date, tsc errors).
 */
export async function buildImage(options: BuildImageOptions): Promise<ImageBuild> {
  const say = options.say ?? (() => undefined);
  const started = Date.now();
  const dockerfile = resolve(options.dockerfile);
  const context = await openBuildContext(resolve(options.context), dockerfile);
  const file = relative(context.root, dockerfile) || dockerfile;
  const text = await readFile(dockerfile, "utf8");
  const plan = planDockerfile(text, file);
  const copies = await resolveCopies(plan, context, file);
  const key = await cacheKey(text, plan, context, copies);
  const workDir = resolve(options.workDir);
  const buildDir = join(workDir, key);
  const finalStage = plan.stages[plan.stages.length - 1]!;
  const command = finalStage.command ?? missingCommand(file);
  let origin: BuildStage = finalStage;
  while ("stage" in origin.base) origin = plan.stages[origin.base.stage]!;
  const baseImage = origin.base.image;

  const major = nodeMajorOf(baseImage);
  if (major !== undefined && major !== Number(process.versions.node.split(".")[0])) {
    say(
      `warning: the image runs on ${baseImage}, and verify runs its CMD with this machine's Node.js ${process.version}`,
    );
  }

  const found = await readStored(buildDir);
  if (found !== undefined) {
    const now = new Date();
    await utimes(join(buildDir, MARKER), now, now);
    say(`image ${key.slice(0, 12)}: reused from ${buildDir} (${seconds(started)})`);
    return found;
  }

  await mkdir(workDir, { recursive: true });
  const scratch = join(workDir, `${key}.partial-${process.pid}-${randomBytes(4).toString("hex")}`);
  say(
    `image ${key.slice(0, 12)}: building ${file} (stages ${plan.needed.map((index) => stageLabel(plan.stages[index]!, index === finalStage.index)).join(", ")}) in ${buildDir}`,
  );
  try {
    const roots = new Map<number, string>();
    for (const index of plan.needed) {
      const stage = plan.stages[index]!;
      const root = stageDirectory(scratch, stage, index === finalStage.index);
      roots.set(index, root);
      const label = stageLabel(stage, index === finalStage.index);
      if ("stage" in stage.base) await linkTree(roots.get(stage.base.stage)!, root);
      else await mkdir(root, { recursive: true });
      for (const step of stage.steps) {
        const stepStarted = Date.now();
        const where = `${file}:${step.line}`;
        let note = "";
        switch (step.kind) {
          case "workdir":
            await mkdir(inStage(root, step.path), { recursive: true });
            break;
          case "copy":
            await copyStep(step, root, roots, context, copies.get(step), where);
            break;
          case "npm-ci": {
            const result = await npmCiFromContext({
              context: context.root,
              workdir: inStage(root, step.workdir),
              omitDev: step.omitDev,
              where,
            });
            note = `: ${result.packages} packages, ${result.linked} files linked${result.copied > 0 ? `, ${result.copied} copied` : ""}`;
            break;
          }
          case "tsc":
            await compile(step, root, where);
            break;
        }
        if (step.kind !== "workdir")
          say(`  ${label}: ${step.text}${note} (${seconds(stepStarted)})`);
      }
    }
    const finalRoot = roots.get(finalStage.index)!;
    const stored: StoredBuild = {
      builder: BUILDER_VERSION,
      appDirInBuild: relative(scratch, inStage(finalRoot, finalStage.workdir)),
      command,
      env: finalStage.env,
      ...(finalStage.user !== undefined && { user: finalStage.user }),
      exposed: finalStage.exposed,
      baseImage,
      key,
    };
    await writeFile(join(scratch, MARKER), `${JSON.stringify(stored, null, 2)}\n`);
    await moveIntoPlace(scratch, buildDir);
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
  await prune(workDir, options.keep ?? 3, buildDir);
  const built = (await readStored(buildDir))!;
  say(`image ${key.slice(0, 12)}: built in ${seconds(started)}; app directory ${built.appDir}`);
  return { ...built, cached: false };
}

/**
 * Renames the finished scratch directory to the build's key. When another build of the same
 * key got there first, its result is the same and is kept; a directory there without a marker
 * is not a build and is replaced.
 */
async function moveIntoPlace(scratch: string, buildDir: string): Promise<void> {
  try {
    await rename(scratch, buildDir);
  } catch (err) {
    if (!["EEXIST", "ENOTEMPTY"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
    if ((await readStored(buildDir)) !== undefined) {
      await rm(scratch, { recursive: true, force: true });
      return;
    }
    await rm(buildDir, { recursive: true, force: true });
    await rename(scratch, buildDir);
  }
}

function missingCommand(file: string): never {
  throw new Error(
    `${file}: the final stage has no CMD, and the base image's is not known to verify; add CMD ["node", "<entrypoint>.js"] to the final stage`,
  );
}
