/**
 * The build context as Docker sends it to the builder: the files under the context directory
 * less what the ignore file excludes. The ignore file is the Dockerfile's own
 * `<Dockerfile>.dockerignore` when it exists (BuildKit's rule), else `<context>/.dockerignore`;
 * its patterns follow Docker's semantics (anchored at the context root, `**`, `!` exceptions,
 * last match wins), which differ from .gitignore's, hence @balena/dockerignore.
 */
import { existsSync } from "node:fs";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import dockerignore from "@balena/dockerignore";

/** One entry of the context that a COPY takes. */
export interface ContextEntry {
  /** Path relative to the context root, POSIX separators. */
  path: string;
  type: "file" | "directory" | "symlink";
}

/** What one COPY source names: the entry itself and, for a directory, what is under it. */
export interface ContextSource {
  /** The source's path relative to the context root. */
  path: string;
  type: ContextEntry["type"];
  /** For a directory: every entry under it that the ignore file keeps, sorted; otherwise empty. */
  children: ContextEntry[];
}

export interface BuildContext {
  /** The context directory, absolute. */
  root: string;
  /** The ignore file in force, or undefined when there is none. */
  ignoreFile: string | undefined;
  /** Its text ("" without one); part of the build's cache key. */
  ignoreText: string;
  /** Whether the ignore file excludes a context-relative path. */
  excluded(path: string): boolean;
  /**
   * The entries a COPY source takes (wildcards `*`, `?` and `[...]` expanded per path segment).
   * @throws Error naming the source when it is missing, excluded, or outside the context.
   */
  resolve(source: string, where: string): Promise<ContextSource[]>;
}

const WILDCARD = /[*?[]/;

/** Go's filepath.Match for one path segment, as a regular expression. */
function segmentPattern(segment: string): RegExp {
  let pattern = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === "*") pattern += "[^/]*";
    else if (c === "?") pattern += "[^/]";
    else if (c === "[") {
      const end = segment.indexOf("]", i + 1);
      if (end < 0) throw new Error(`the pattern "${segment}" has an unclosed [`);
      const body = segment.slice(i + 1, end);
      pattern += `[${body.startsWith("^") ? `^${body.slice(1)}` : body}]`;
      i = end;
    } else if (c === "\\" && i + 1 < segment.length) pattern += `\\${segment[++i]}`;
    else pattern += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${pattern}$`);
}

async function typeOf(path: string): Promise<ContextEntry["type"] | undefined> {
  try {
    const stats = await lstat(path);
    return stats.isSymbolicLink() ? "symlink" : stats.isDirectory() ? "directory" : "file";
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Opens the context at `root` for the Dockerfile at `dockerfile`.
 * @throws Error when the context directory does not exist.
 */
export async function openBuildContext(root: string, dockerfile: string): Promise<BuildContext> {
  if (!existsSync(root))
    throw new Error(
      `the build context ${root} does not exist; pass the directory docker build would be given (the repository root)`,
    );
  const ignoreFile = [`${dockerfile}.dockerignore`, join(root, ".dockerignore")].find((candidate) =>
    existsSync(candidate),
  );
  const ignoreText = ignoreFile === undefined ? "" : await readFile(ignoreFile, "utf8");
  const matcher = dockerignore().add(ignoreText);
  const excluded = (path: string): boolean => path !== "" && matcher.ignores(path);
  // Literal prefixes of the `!` exceptions: a directory none of them reaches into is skipped whole.
  const exceptionPrefixes = ignoreText
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.startsWith("!"))
    .map((line) => posix.normalize(line.slice(1).trim()).replace(/^\/+/, ""))
    .map((pattern) => pattern.split(/[*?[\\]/)[0]!);
  const mayReinclude = (directory: string): boolean =>
    exceptionPrefixes.some(
      (prefix) => `${directory}/`.startsWith(prefix) || prefix.startsWith(`${directory}/`),
    );

  const walk = async (directory: string, into: ContextEntry[]): Promise<void> => {
    const names = (await readdir(join(root, directory))).sort();
    for (const name of names) {
      const path = directory === "" ? name : `${directory}/${name}`;
      const type = (await typeOf(join(root, path)))!;
      const skip = excluded(path);
      if (type === "directory") {
        if (!skip) into.push({ path, type });
        if (!skip || mayReinclude(path)) await walk(path, into);
      } else if (!skip) {
        into.push({ path, type });
      }
    }
  };

  /** Context-relative paths matching a (possibly wildcard) source. */
  const expand = async (source: string): Promise<string[]> => {
    if (!WILDCARD.test(source))
      return (await typeOf(join(root, source))) === undefined ? [] : [source];
    let candidates = [""];
    for (const segment of source.split("/")) {
      const next: string[] = [];
      for (const base of candidates) {
        if (!WILDCARD.test(segment)) {
          const path = base === "" ? segment : `${base}/${segment}`;
          if ((await typeOf(join(root, path))) !== undefined) next.push(path);
          continue;
        }
        const pattern = segmentPattern(segment);
        if ((await typeOf(join(root, base))) !== "directory") continue;
        for (const name of (await readdir(join(root, base))).sort())
          if (pattern.test(name)) next.push(base === "" ? name : `${base}/${name}`);
      }
      candidates = next;
    }
    return candidates;
  };

  const resolve = async (source: string, where: string): Promise<ContextSource[]> => {
    const normalized = posix.normalize(source.replace(/^\/+/, "")).replace(/\/+$/, "");
    const path = normalized === "." ? "" : normalized;
    if (path === ".." || path.startsWith("../"))
      throw new Error(
        `${where}: the source ${source} is outside the build context ${root}; copy only what is under the context`,
      );
    const sources: ContextSource[] = [];
    for (const match of await expand(path)) {
      const type = match === "" ? "directory" : (await typeOf(join(root, match)))!;
      const children: ContextEntry[] = [];
      if (type === "directory") await walk(match, children);
      if (excluded(match) && children.length === 0) continue;
      sources.push({ path: match, type, children });
    }
    if (sources.length === 0) {
      throw new Error(
        `${where}: ${source} is not in the build context ${root}${ignoreFile !== undefined ? ` or is excluded by ${ignoreFile}` : ""}; create it, or stop excluding it (a "!${path}" line in the ignore file)`,
      );
    }
    return sources;
  };

  return { root, ignoreFile, ignoreText, excluded, resolve };
}
