/**
 * `RUN npm ci` in a stage, without the network: the stage's node_modules is made from the
 * build context's already-installed node_modules, by hard links at the same relative paths,
 * so hoisting is what the lock file says. A plain `npm ci` takes the whole tree; `--omit=dev`
 * takes only the production closure that `npm ls --omit=dev --all --parseable` lists, so a
 * runtime import of a devDependency fails here as it fails in the image.
 *
 * That is faithful only while the context's node_modules is what its lock file installs, and
 * the stage's lock file is the context's: both are checked, and a mismatch is an error.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { promisify } from "node:util";
import { linkTree, type LinkCount } from "./tree-links";

const run = promisify(execFile);

/** Entries of node_modules that npm itself keeps besides packages; other dot-entries are tool caches (.vite, .cache). */
const NPM_ENTRIES = new Set([".bin", ".package-lock.json"]);

export interface NpmCiOptions {
  /** The build context, whose node_modules was installed by `npm ci` or `npm install`. */
  context: string;
  /** The stage's working directory on disk, holding the package.json and package-lock.json COPY put there. */
  workdir: string;
  /** `--omit=dev`: only the production closure. */
  omitDev: boolean;
  /** `<Dockerfile>:<line>`, for messages. */
  where: string;
}

export interface NpmCiResult extends LinkCount {
  /** Packages put into the stage's node_modules (a plain npm ci counts the whole installed tree). */
  packages: number;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [left, right] = await Promise.all([readFile(a), readFile(b)]);
  return left.equals(right);
}

/**
 * The package directories `npm ls` lists for the context (the root itself left out).
 * @throws Error when npm reports problems: the installed tree does not match the lock file.
 */
async function installedPackages(
  context: string,
  omitDev: boolean,
  where: string,
): Promise<string[]> {
  const args = ["ls", "--all", "--parseable", ...(omitDev ? ["--omit=dev"] : [])];
  try {
    const { stdout } = await run("npm", args, { cwd: context, maxBuffer: 64 * 1024 * 1024 });
    return stdout
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && line !== context);
  } catch (err) {
    const failure = err as { code?: unknown; stderr?: string };
    if (failure.code === "ENOENT")
      throw new Error(
        `${where}: npm ci needs npm to list the context's packages, and npm is not on PATH; install Node.js with npm`,
      );
    const detail = (failure.stderr ?? String(err))
      .split("\n")
      .filter(Boolean)
      .slice(0, 8)
      .join("\n  ");
    throw new Error(
      `${where}: the context's node_modules does not match its package-lock.json (npm ${args.join(" ")}):\n  ${detail}\nFix: run npm ci in ${context}`,
    );
  }
}

/** Fills `<workdir>/node_modules` as `npm ci [--omit=dev]` would. */
export async function npmCiFromContext(options: NpmCiOptions): Promise<NpmCiResult> {
  const { context, workdir, omitDev, where } = options;
  for (const file of ["package.json", "package-lock.json"]) {
    if (!existsSync(join(workdir, file)))
      throw new Error(
        `${where}: npm ci needs ${file} in the stage's working directory, and there is none; COPY it before this RUN`,
      );
    if (!(await sameFile(join(workdir, file), join(context, file)))) {
      throw new Error(
        `${where}: the stage's ${file} is not the context's, and verify makes node_modules from the context's installed tree; COPY the context's ${file}`,
      );
    }
  }
  const installed = join(context, "node_modules");
  if (!existsSync(join(installed, ".package-lock.json")))
    throw new Error(
      `${where}: ${installed} was not installed by npm (no .package-lock.json); run npm ci in ${context}`,
    );

  const packages = await installedPackages(context, omitDev, where);
  const target = join(workdir, "node_modules");
  await rm(target, { recursive: true, force: true });
  if (!omitDev) {
    const count = await linkTree(
      installed,
      target,
      (path) => !path.includes("/") && path.startsWith(".") && !NPM_ENTRIES.has(path),
    );
    return { packages: packages.length, ...count };
  }
  const total: NpmCiResult = { packages: 0, linked: 0, copied: 0 };
  for (const directory of packages) {
    const path = relative(context, directory);
    if (!path.startsWith(`node_modules${sep}`))
      throw new Error(
        `${where}: npm lists ${directory}, which is outside ${installed} (a linked package); verify copies only installed packages`,
      );
    // Optional dependencies for other platforms are listed by the lock but not installed.
    if (!existsSync(directory)) continue;
    // A package's own node_modules holds nested packages, which npm lists (and this copies) on their own.
    const count = await linkTree(
      directory,
      join(workdir, path),
      (inner) => inner === "node_modules",
    );
    total.packages++;
    total.linked += count.linked;
    total.copied += count.copied;
  }
  return total;
}
