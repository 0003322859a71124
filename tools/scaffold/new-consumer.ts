/**
 * `eventline new consumer`: a consumer that runs at once. It adds the handler's contract and the
 * consumer to infra/system.ts, writes the handler from a template, registers it in
 * handlers/registry.ts, and writes a test that runs it with `runHandler` on each accepted type's
 * sample (tools/samples/events.ts). The declaration and the registry are edited through their
 * syntax trees (ts-morph), never by text search, and formatted with the project's Prettier, so a
 * hand-edited file stays as its author left it apart from the new entries.
 *
 * Everything is checked before anything is written: the name is new, the topic is declared, the
 * accepted types travel on that topic; a refusal names the closest declared name.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { format, resolveConfig } from "prettier";
import { Node, Project, SyntaxKind, type ObjectLiteralExpression, type SourceFile } from "ts-morph";
import { suggest } from "../../handlers/runtime/suggest";
import type { ResolvedSystem, ResolvedTopic } from "../../infra/model/types";

/** The repository root. */
const REPO = join(__dirname, "..", "..");

export interface NewConsumerRequest {
  /** kebab-case; names the consumer and its handler contract. */
  name: string;
  topic: string;
  accepts: readonly string[];
  delivery: "push" | "pull";
  /** One line: what it does. Default: a placeholder that says to write one. */
  description?: string;
}

/** What was written, relative to the repository, and what the person does next. */
export interface NewConsumerResult {
  handlerFile: string;
  testFile: string;
  edited: string[];
  next: string[];
}

/** A request the declaration cannot take; the message names what to change. */
export class ScaffoldError extends Error {
  override readonly name = "ScaffoldError";
}

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The declared topic `name`. @throws ScaffoldError naming the closest and listing them. */
export function declaredTopic(system: ResolvedSystem, name: string): ResolvedTopic {
  const topic = system.topics.find((t) => t.name === name);
  if (topic === undefined)
    throw new ScaffoldError(
      `no topic named ${name}${
        suggest(
          name,
          system.topics.map((t) => t.name),
        ) || "."
      } Topics: ${system.topics.map((t) => t.name).join(", ")}`,
    );
  return topic;
}

/** @throws ScaffoldError naming the first problem and its fix. */
export function checkRequest(system: ResolvedSystem, request: NewConsumerRequest): void {
  if (!KEBAB.test(request.name) || request.name.length > 30)
    throw new ScaffoldError(
      `${request.name} is not a consumer name: use lowercase words joined by "-", at most 30 characters (e.g. welcome-mailer)`,
    );
  if (system.consumers.some((c) => c.name === request.name || c.handler === request.name))
    throw new ScaffoldError(`a consumer or handler named ${request.name} is already declared`);
  const topic = declaredTopic(system, request.topic);
  if (request.accepts.length === 0)
    throw new ScaffoldError(
      `say which event types it accepts: --accepts <type...>; ${topic.name} carries ${topic.events.map((e) => e.type).join(", ")}`,
    );
  const carried = topic.events.map((e) => e.type);
  for (const type of request.accepts)
    if (!carried.includes(type))
      throw new ScaffoldError(
        `${topic.name} does not carry ${type}${suggest(type, carried) || "."} It carries ${carried.join(", ")}`,
      );
}

/** The handlers/ folder the topic's implemented handlers live in, or one named after the topic. */
function folderFor(system: ResolvedSystem, topic: string, registrySource: string): string {
  for (const consumer of system.consumers.filter((c) => c.topic === topic && !c.builtIn)) {
    const binding = camelCase(consumer.handler);
    const match = new RegExp(`import \\{ ${binding} \\} from "\\./([a-z-]+)/`).exec(registrySource);
    if (match !== null) return match[1]!;
  }
  return topic;
}

/** The object literal under `key` in the object passed to `defineSystem(...)`. */
export function declarationSection(
  file: SourceFile,
  key: "handlers" | "consumers" | "topics",
): ObjectLiteralExpression {
  const call = file
    .getDescendantsOfKind(SyntaxKind.CallExpression)
    .find((c) => c.getExpression().getText() === "defineSystem");
  const root = call?.getArguments()[0];
  if (root === undefined || !Node.isObjectLiteralExpression(root))
    throw new ScaffoldError("infra/system.ts: no defineSystem({ ... }) found to add to");
  const property = root.getProperty(key);
  const value =
    property !== undefined && Node.isPropertyAssignment(property)
      ? property.getInitializer()
      : undefined;
  if (value === undefined || !Node.isObjectLiteralExpression(value))
    throw new ScaffoldError(`infra/system.ts: no ${key}: { ... } in defineSystem`);
  return value;
}

function handlerSource(request: NewConsumerRequest, binding: string): string {
  return `/**
 * ${request.name}: ${request.description ?? "what it does, in one line"}. Its contract (what it accepts
 * and emits) is in infra/system.ts, \`handlers.${request.name}\`; its consumer, \`consumers.${request.name}\`.
 */
import { defineHandler } from "../runtime/handler";

export const ${binding} = defineHandler({
  name: "${request.name}",
  accepts: [${request.accepts.map((t) => JSON.stringify(t)).join(", ")}],
  async handle(event, ctx) {
    // Write through ctx.transaction (or a projection: handlers/runtime/projections.ts), and
    // publish what the contract emits with ctx.publish; both commit once per event.
    ctx.log.info({ type: event.type, subject: event.meta.subject ?? null }, "${request.name} handled an event");
  },
});
`;
}

function testSource(request: NewConsumerRequest, binding: string, handlerModule: string): string {
  return `import { describe, expect, it } from "vitest";
import { runHandler } from "../../handlers/testing/run-handler";
import { samplePayloads } from "../../tools/samples/events";
import { useEmulators } from "../support/emulators";
import { ${binding} } from "${handlerModule}";

const emulators = useEmulators({ pubsub: false });

describe("${request.name}", () => {
  it.each([${request.accepts.map((t) => JSON.stringify(t)).join(", ")}] as const)("handles a sample %s", async (type) => {
    const run = await runHandler(
      ${binding},
      { type, data: samplePayloads[type] },
      { firestore: emulators.firestore },
    );
    expect(run.outcome).toEqual({ action: "ack", result: "handled" });
    expect(run.logs.map((line) => line["message"])).toContain("${request.name} handled an event");
  });
});
`;
}

export async function formatted(file: string, text: string): Promise<string> {
  const config = (await resolveConfig(file)) ?? {};
  return format(text, { ...config, filepath: file });
}

/**
 * Adds the consumer. Writes nothing when a check fails.
 * @param root the repository (tests pass a copy).
 */
export async function newConsumer(
  system: ResolvedSystem,
  request: NewConsumerRequest,
  root = REPO,
): Promise<NewConsumerResult> {
  checkRequest(system, request);
  const binding = camelCase(request.name);
  const registryPath = join(root, "handlers", "registry.ts");
  const folder = folderFor(system, request.topic, readFileSync(registryPath, "utf8"));
  const handlerPath = join(root, "handlers", folder, `${request.name}.ts`);
  const testPath = join(root, "test", "handlers", `${request.name}.test.ts`);
  for (const path of [handlerPath, testPath])
    if (existsSync(path))
      throw new ScaffoldError(
        `${relative(root, path)} exists already; move it or pick another name`,
      );

  const project = new Project({ skipAddingFilesFromTsConfig: true });
  const systemPath = join(root, "infra", "system.ts");
  const declaration = project.addSourceFileAtPath(systemPath);
  declarationSection(declaration, "handlers").addPropertyAssignment({
    name: JSON.stringify(request.name),
    initializer: `{ accepts: [${request.accepts.map((t) => JSON.stringify(t)).join(", ")}], description: ${JSON.stringify(request.description ?? `${request.name}: what it does, in one line`)} }`,
  });
  declarationSection(declaration, "consumers").addPropertyAssignment({
    name: JSON.stringify(request.name),
    initializer: `{ handler: ${JSON.stringify(request.name)}, topic: ${JSON.stringify(request.topic)}, delivery: ${JSON.stringify(request.delivery)} }`,
  });

  const registry = project.addSourceFileAtPath(registryPath);
  const registryCall = registry
    .getDescendantsOfKind(SyntaxKind.CallExpression)
    .find((c) => c.getExpression().getText() === "registryOf");
  if (registryCall === undefined)
    throw new ScaffoldError("handlers/registry.ts: no registryOf(...) found to add to");
  registryCall.addArgument(binding);
  registry.addImportDeclaration({
    namedImports: [binding],
    moduleSpecifier: `./${folder}/${request.name}`,
  });

  const handlerModule = `../../handlers/${folder}/${request.name}`;
  const writes: [string, string][] = [
    [systemPath, declaration.getFullText()],
    [registryPath, registry.getFullText()],
    [handlerPath, handlerSource(request, binding)],
    [testPath, testSource(request, binding, handlerModule)],
  ];
  // Formatted first, written after: a formatting failure leaves every file as it was.
  const ready = await Promise.all(
    writes.map(async ([path, text]) => [path, await formatted(path, text)] as const),
  );
  for (const [path, text] of ready) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return {
    handlerFile: relative(root, handlerPath),
    testFile: relative(root, testPath),
    edited: ["infra/system.ts", "handlers/registry.ts"],
    next: [
      `write what it does in ${relative(root, handlerPath)} (and its test)`,
      `give it a description, emits and placement in infra/system.ts (handlers.${request.name}, consumers.${request.name})`,
      `npx vitest run ${relative(root, testPath)}`,
      "npm start: it runs with the others; npx eventline logs " +
        request.name +
        " -f shows its lines",
    ],
  };
}
