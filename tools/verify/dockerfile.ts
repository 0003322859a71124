/**
 * Reads a Dockerfile into a build plan that verify can carry out without Docker: its stages,
 * and per stage the steps that change files (WORKDIR, COPY, the RUN forms below) and the state
 * the image ends with (ENV, USER, EXPOSE, CMD). Interpreting only what is listed keeps the plan
 * honest: every other instruction, and every RUN command but these, is an error naming its line,
 * because verify cannot know what it would have done to the image.
 *
 *   RUN npm ci [--ignore-scripts] [--omit=dev] [&& npm cache clean --force]
 *   RUN npx tsc -p <tsconfig>
 *
 * Words are processed as Docker's shell lexer does (quotes, the escape character, `$VAR`,
 * `${VAR}`, `${VAR:-word}`, `${VAR:+word}`), against the variables earlier ENV lines of the
 * stage set. A variable the base image would set (PATH, NODE_VERSION) is not known here and is
 * an error rather than a silent empty string.
 */
import { posix } from "node:path";
import {
  DockerfileParser,
  Env,
  From,
  type Instruction,
  JSONInstruction,
  ModifiableInstruction,
  type Flag,
} from "dockerfile-ast";

/** Where a step comes from: its 1-based line and its text (continuations joined), for progress and errors. */
interface StepOrigin {
  line: number;
  text: string;
}

/** A file-changing step of a stage, with paths inside the stage's filesystem (absolute, POSIX). */
export type BuildStep = StepOrigin &
  (
    | { kind: "workdir"; path: string }
    | {
        kind: "copy";
        /** Source paths as written (after variable expansion): relative to the context, or absolute in the stage `from`. */
        sources: string[];
        /** Where the sources come from: the build context, or an earlier stage (by index). */
        from: { context: true } | { stage: number };
        /** The destination, absolute. */
        dest: string;
        /** True when the destination was written as a directory (ends in `/`, or is `.`). */
        destIsDirectory: boolean;
      }
    | { kind: "npm-ci"; omitDev: boolean; workdir: string }
    | { kind: "tsc"; project: string; workdir: string }
  );

/** One `FROM` and what follows it up to the next. */
export interface BuildStage {
  index: number;
  /** The `AS` name, lower-cased as Docker compares them; undefined for an unnamed stage. */
  name: string | undefined;
  /** 1-based line of the FROM. */
  line: number;
  /** What it starts from: an image (whose files and settings verify does not have), or an earlier stage. */
  base: { image: string } | { stage: number };
  steps: BuildStep[];
  /** The state after the stage's last instruction. */
  env: Record<string, string>;
  workdir: string;
  user: string | undefined;
  exposed: number[];
  command: string[] | undefined;
}

export interface DockerfilePlan {
  /** Every stage, in file order; the last one is the image. */
  stages: BuildStage[];
  /** The stages the image needs (the last and those it copies from or builds on), in build order. */
  needed: number[];
}

const INTERPRETED =
  "verify interprets FROM, WORKDIR, COPY, ENV, USER, EXPOSE, CMD (exec form), and RUN only as `npm ci [--ignore-scripts] [--omit=dev] [&& npm cache clean --force]` or `npx tsc -p <tsconfig>`";

/** A Dockerfile line verify cannot carry out; the message names the file, the line and the fix. */
export class UninterpretableDockerfileError extends Error {
  override readonly name = "UninterpretableDockerfileError";
}

/** Where an instruction is, for messages: `handlers/Dockerfile:27`. */
interface Located {
  file: string;
  line: number;
  text: string;
}

function fail(
  at: Located,
  problem: string,
  fix = `rewrite it in one of those forms, or teach tools/verify/dockerfile.ts what it does`,
): never {
  throw new UninterpretableDockerfileError(
    `${at.file}:${at.line}: \`${at.text}\`: ${problem}. ${INTERPRETED}. Fix: ${fix}.`,
  );
}

type Variables = ReadonlyMap<string, string>;

/**
 * Docker's word processing of one argument as written: quotes removed, escapes applied,
 * variables expanded. `quotes: false` for JSON-form strings, whose quoting JSON already did.
 */
export function processWord(
  raw: string,
  vars: Variables,
  escape: string,
  at: Located,
  quotes = true,
): string {
  let out = "";
  let i = 0;
  let inDouble = false;
  const lookup = (name: string): string | undefined => vars.get(name);
  const readBraced = (): string => {
    // After "${": up to the matching "}", nested braces included.
    let depth = 1;
    let body = "";
    while (i < raw.length) {
      const c = raw[i++]!;
      if (c === "{") depth++;
      if (c === "}" && --depth === 0) return body;
      body += c;
    }
    return fail(at, `"\${${body}" has no closing brace`, "close the variable reference with }");
  };
  const expand = (): string => {
    if (raw[i] === "{") {
      i++;
      const body = readBraced();
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?$/s.exec(body);
      if (match === null)
        return fail(
          at,
          `"\${${body}}" is a variable form verify does not expand`,
          "use $NAME, ${NAME}, ${NAME:-word} or ${NAME:+word}",
        );
      const name = match[1]!;
      const operator = match[2];
      const word = match[3];
      const value = lookup(name);
      if (operator === undefined) return value ?? unknown(name);
      const set = operator.startsWith(":")
        ? value !== undefined && value !== ""
        : value !== undefined;
      const alternative = processWord(word ?? "", vars, escape, at, quotes);
      return operator.endsWith("-") ? (set ? value! : alternative) : set ? alternative : "";
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(raw.slice(i))?.[0];
    if (name === undefined) return "$";
    i += name.length;
    return lookup(name) ?? unknown(name);
  };
  const unknown = (name: string): never =>
    fail(
      at,
      `$${name} is not set by an earlier ENV of this stage, and the base image's variables are not known to verify`,
      `set ${name} with ENV before this line, or write the value out`,
    );
  while (i < raw.length) {
    const c = raw[i++]!;
    if (quotes && c === escape) {
      const next = raw[i];
      if (next === undefined) break;
      if (inDouble && next !== '"' && next !== "$" && next !== escape) {
        out += c;
        continue;
      }
      out += next;
      i++;
    } else if (quotes && !inDouble && c === "'") {
      const end = raw.indexOf("'", i);
      if (end < 0) fail(at, "a single quote is not closed", "close the quote");
      out += raw.slice(i, end);
      i = end + 1;
    } else if (quotes && c === '"') {
      inDouble = !inDouble;
    } else if (c === "$") {
      out += expand();
    } else {
      out += c;
    }
  }
  if (inDouble) fail(at, "a double quote is not closed", "close the quote");
  return out;
}

/** The text of a range of the document, with line continuations (escape + newline) removed. */
function textOf(
  lines: readonly string[],
  range: { start: { line: number; character: number }; end: { line: number; character: number } },
  escape: string,
): string {
  const parts: string[] = [];
  for (let line = range.start.line; line <= range.end.line; line++) {
    const text = lines[line] ?? "";
    const from = line === range.start.line ? range.start.character : 0;
    const to = line === range.end.line ? range.end.character : text.length;
    parts.push(text.slice(from, to));
  }
  return parts.join("\n").split(`${escape}\n`).join("").split(`${escape}\r\n`).join("");
}

/** An exec-form argument list (`["node", "main.js"]`), or undefined for the shell form. */
function execForm(instruction: Instruction, escape: string, at: Located): string[] | undefined {
  const content = instruction.getRawArgumentsContent();
  if (content === null) return undefined;
  const text = content.split(`${escape}\n`).join("").split(`${escape}\r\n`).join("").trim();
  if (!text.startsWith("[")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail(
      at,
      "its argument list starts with [ but is not a JSON array",
      'write it as a JSON array of strings, e.g. ["node", "dist/main.js"]',
    );
  }
  if (!Array.isArray(parsed) || !parsed.every((item): item is string => typeof item === "string")) {
    return fail(
      at,
      "its JSON form holds something other than strings",
      'write it as a JSON array of strings, e.g. ["node", "dist/main.js"]',
    );
  }
  return parsed;
}

function flagsOf(instruction: Instruction): Flag[] {
  return instruction instanceof ModifiableInstruction ? instruction.getFlags() : [];
}

/** The absolute form of `path` against the working directory. */
function absolute(path: string, workdir: string): string {
  return posix.resolve(workdir, path);
}

/** `RUN` words → the step they stand for; anything but the interpreted forms fails. */
function runStep(words: string[], workdir: string, at: Located): BuildStep[] {
  const commands: string[][] = [[]];
  for (const word of words) {
    if (word === "&&") commands.push([]);
    else if (/[;|&<>`()]|\$\(/.test(word))
      fail(at, `"${word}" is shell syntax verify does not run`);
    else commands[commands.length - 1]!.push(word);
  }
  const steps: BuildStep[] = [];
  let installed = false;
  for (const command of commands) {
    const [program, sub, ...rest] = command;
    if (program === "npm" && sub === "ci") {
      const unknownOption = rest.find(
        (option) => option !== "--ignore-scripts" && option !== "--omit=dev",
      );
      if (unknownOption !== undefined)
        fail(
          at,
          `npm ci ${unknownOption} is an option verify does not interpret`,
          "use npm ci with --ignore-scripts and/or --omit=dev only",
        );
      // verify copies the packages of the checkout's node_modules and runs no install script:
      // the image's own `npm ci` runs with --ignore-scripts, and no dependency needs one
      // (README, "Dependencies and versions").
      steps.push({
        kind: "npm-ci",
        line: at.line,
        text: at.text,
        omitDev: rest.includes("--omit=dev"),
        workdir,
      });
      installed = true;
    } else if (
      program === "npm" &&
      sub === "cache" &&
      rest.join(" ") === "clean --force" &&
      installed
    ) {
      // Nothing was downloaded, so there is no cache to clean.
    } else if (
      program === "npx" &&
      sub === "tsc" &&
      rest.length === 2 &&
      (rest[0] === "-p" || rest[0] === "--project")
    ) {
      steps.push({ kind: "tsc", line: at.line, text: at.text, project: rest[1]!, workdir });
    } else {
      fail(at, `RUN ${command.join(" ")} is a command verify cannot interpret`);
    }
  }
  return steps;
}

function parsePort(word: string, at: Located): number {
  const match = /^(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(word);
  const port = match === null ? NaN : Number(match[1]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    fail(
      at,
      `EXPOSE ${word} is not a port (or is a range, which verify does not expand)`,
      "write one port per word, e.g. EXPOSE 8080",
    );
  return port;
}

/**
 * Reads `text` (the Dockerfile at `file`, named in errors) into a plan.
 * @throws UninterpretableDockerfileError for the first instruction verify cannot carry out.
 */
export function planDockerfile(text: string, file: string): DockerfilePlan {
  const dockerfile = DockerfileParser.parse(text);
  const escape = dockerfile.getEscapeCharacter();
  const lines = text.split("\n").map((line) => line.replace(/\r$/, ""));
  const stages: BuildStage[] = [];
  let stage: BuildStage | undefined;
  let vars = new Map<string, string>();

  const stageIndex = (reference: string, at: Located): number | undefined => {
    const byName = stages.findIndex((candidate) => candidate.name === reference.toLowerCase());
    if (byName >= 0) return byName;
    if (/^\d+$/.test(reference)) {
      const index = Number(reference);
      if (index >= stages.length)
        fail(
          at,
          `stage ${index} is not an earlier stage`,
          "refer to a stage defined above this line",
        );
      return index;
    }
    return undefined;
  };

  for (const instruction of dockerfile.getInstructions()) {
    const line = instruction.getRange().start.line + 1;
    const keyword = instruction.getKeyword();
    const at: Located = {
      file,
      line,
      text: textOf(lines, instruction.getRange(), escape).replace(/\s+/g, " ").trim(),
    };
    const words = (): string[] =>
      instruction
        .getArguments()
        .map((argument) =>
          processWord(textOf(lines, argument.getRange(), escape), vars, escape, at),
        );
    const unexpectedFlags = (allowed: readonly string[]): void => {
      const flag = flagsOf(instruction).find((candidate) => !allowed.includes(candidate.getName()));
      if (flag !== undefined)
        fail(at, `the flag --${flag.getName()} is not interpreted`, `drop --${flag.getName()}`);
    };

    if (keyword === "FROM" && instruction instanceof From) {
      unexpectedFlags(["platform"]);
      const [image, as, name, ...extra] = words();
      if (
        image === undefined ||
        (as !== undefined && (as.toLowerCase() !== "as" || name === undefined)) ||
        extra.length > 0
      )
        fail(at, "FROM takes an image and an optional AS <name>", "write FROM <image> [AS <name>]");
      const parent = stageIndex(image!, at);
      const base = parent !== undefined ? stages[parent]! : undefined;
      stage = {
        index: stages.length,
        name: name?.toLowerCase(),
        line,
        base: parent !== undefined ? { stage: parent } : { image: image! },
        steps: [],
        env: { ...base?.env },
        workdir: base?.workdir ?? "/",
        user: base?.user,
        exposed: [...(base?.exposed ?? [])],
        command: base?.command,
      };
      stages.push(stage);
      vars = new Map(Object.entries(stage.env));
      continue;
    }
    if (stage === undefined)
      fail(at, `${keyword} comes before the first FROM`, "start the Dockerfile with FROM");
    const current: BuildStage = stage!;

    switch (keyword) {
      case "WORKDIR": {
        unexpectedFlags([]);
        const [path, ...extra] = words();
        if (path === undefined || extra.length > 0)
          fail(at, "WORKDIR takes one path", "write WORKDIR <path>");
        current.workdir = absolute(path!, current.workdir);
        current.steps.push({ kind: "workdir", line, text: at.text, path: current.workdir });
        break;
      }
      case "ENV": {
        if (!(instruction instanceof Env)) fail(at, "ENV could not be read");
        const properties = (instruction as Env).getProperties();
        if (properties.length === 0) fail(at, "ENV sets nothing", "write ENV NAME=value");
        // Every value of one ENV line sees the variables as they were before the line, as Docker does.
        const before: Variables = new Map(vars);
        for (const property of properties) {
          const range = property.getValueRange();
          const value =
            range === null ? "" : processWord(textOf(lines, range, escape), before, escape, at);
          current.env[property.getName()] = value;
          vars.set(property.getName(), value);
        }
        break;
      }
      case "USER": {
        unexpectedFlags([]);
        const [user, ...extra] = words();
        if (user === undefined || extra.length > 0)
          fail(at, "USER takes one user[:group]", "write USER 1000:1000");
        current.user = user;
        break;
      }
      case "EXPOSE": {
        unexpectedFlags([]);
        for (const word of words()) {
          const port = parsePort(word, at);
          if (!current.exposed.includes(port)) current.exposed.push(port);
        }
        break;
      }
      case "CMD": {
        const argv = execForm(instruction, escape, at);
        if (argv === undefined)
          fail(
            at,
            "CMD is in shell form, which runs /bin/sh -c",
            'write it in exec form, e.g. CMD ["node", "dist/handlers/main.js"]',
          );
        if (argv!.length === 0)
          fail(at, "CMD is empty", 'name the program, e.g. CMD ["node", "dist/handlers/main.js"]');
        current.command = argv;
        break;
      }
      case "COPY": {
        unexpectedFlags(["from", "chown", "link"]);
        const fromFlag =
          flagsOf(instruction)
            .find((flag) => flag.getName() === "from")
            ?.getValue() ?? undefined;
        const json =
          instruction instanceof JSONInstruction ? execForm(instruction, escape, at) : undefined;
        const all =
          json !== undefined
            ? json.map((word) => processWord(word, vars, escape, at, false))
            : words();
        if (all.length < 2)
          fail(
            at,
            "COPY takes at least one source and a destination",
            "write COPY <source>... <destination>",
          );
        const written = all[all.length - 1]!;
        const sources = all.slice(0, -1);
        let from: { context: true } | { stage: number } = { context: true };
        if (fromFlag !== undefined) {
          const index = stageIndex(fromFlag, at);
          if (index === undefined)
            fail(
              at,
              `--from=${fromFlag} names an image, not an earlier stage, and verify pulls no images`,
              "copy from a stage of this Dockerfile",
            );
          if (index === current.index)
            fail(at, `--from=${fromFlag} is this stage itself`, "copy from an earlier stage");
          from = { stage: index! };
        }
        const destIsDirectory =
          written.endsWith("/") ||
          posix.basename(written) === "." ||
          posix.basename(written) === "..";
        current.steps.push({
          kind: "copy",
          line,
          text: at.text,
          sources,
          from,
          dest: absolute(written, current.workdir),
          destIsDirectory,
        });
        break;
      }
      case "RUN": {
        unexpectedFlags(["mount"]);
        const mount = flagsOf(instruction).find((flag) => flag.getName() === "mount");
        if (mount !== undefined && !/(^|,)type=cache(,|$)/.test(mount.getValue() ?? ""))
          fail(
            at,
            `--mount=${mount.getValue() ?? ""} is not a cache mount`,
            "use only --mount=type=cache, or drop the mount",
          );
        const argv = execForm(instruction, escape, at) ?? words();
        current.steps.push(...runStep(argv, current.workdir, at));
        break;
      }
      default:
        fail(at, `${keyword} is an instruction verify cannot interpret`);
    }
  }
  if (stages.length === 0)
    throw new UninterpretableDockerfileError(
      `${file}: no FROM: it is not a Dockerfile verify can build. Fix: start it with FROM <image>.`,
    );

  const needed = new Set<number>();
  const visit = (index: number): void => {
    if (needed.has(index)) return;
    needed.add(index);
    const { base, steps } = stages[index]!;
    if ("stage" in base) visit(base.stage);
    for (const step of steps)
      if (step.kind === "copy" && "stage" in step.from) visit(step.from.stage);
  };
  visit(stages.length - 1);
  return { stages, needed: [...needed].sort((a, b) => a - b) };
}
