/**
 * `eventline new event`: a new event type on a declared topic, usable at once. It adds the
 * payload's protobuf message beside the topic's other events (proto/<package>/…), a member of
 * the topic's `oneof event` with the next field number (a compatible change: a Pub/Sub schema
 * revision, never a new topic), regenerates proto/gen/, declares the type on the topic in
 * infra/system.ts and gives it a sample payload (tools/samples/events.ts), without which the
 * compiler refuses the declaration.
 *
 * Everything is checked before anything is written; a refusal names the closest declared name.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Node, Project, SyntaxKind } from "ts-morph";
import { suggest } from "../../handlers/runtime/suggest";
import type { ResolvedSystem } from "../../infra/model/types";
import { eventTypeName } from "../../infra/model/validate";
import { declarationSection, declaredTopic, formatted, ScaffoldError } from "./new-consumer";

export { ScaffoldError };

/** The repository root. */
const REPO = join(__dirname, "..", "..");

/** The scalar types a field may take from the command line; `[]` after one makes it repeated. */
export const FIELD_TYPES = ["string", "int64", "int32", "double", "bool"] as const;
type FieldType = (typeof FIELD_TYPES)[number];

export interface EventField {
  /** snake_case, as in the .proto; the payload's JSON uses its lowerCamelCase. */
  name: string;
  type: FieldType;
  repeated: boolean;
}

export interface NewEventRequest {
  /** com.<org>.<domain>.<action> */
  type: string;
  topic: string;
  fields: readonly EventField[];
  /** The payload field whose value is the event's subject (lowerCamelCase). */
  subject?: string;
  /** One line: what happened. */
  description?: string;
}

export interface NewEventResult {
  /** The protobuf message, e.g. `marketplace.v1.UserDeleted`. */
  message: string;
  edited: string[];
  next: string[];
}

const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function pascalCase(words: readonly string[]): string {
  return words
    .flatMap((word) => word.split("_"))
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");
}

/**
 * `name:type` or `name:type[]`, as `--field` takes it.
 * @throws ScaffoldError naming the allowed form and types.
 */
export function parseField(spec: string): EventField {
  const match = /^([^:]+):([a-z0-9]+)(\[\])?$/.exec(spec);
  const type = match?.[2] as FieldType | undefined;
  if (match === null || !SNAKE.test(match[1]!) || !FIELD_TYPES.includes(type!))
    throw new ScaffoldError(
      `--field ${spec}: expected <snake_case_name>:<type> or <name>:<type>[] with a type among ${FIELD_TYPES.join(", ")} (e.g. --field user_id:string --field tags:string[])`,
    );
  return { name: match[1]!, type: type!, repeated: match[3] !== undefined };
}

/** The message name a type gets: its domain and action, e.g. com.skillancer.user.deleted → UserDeleted. */
export function messageNameFor(type: string): string {
  const [, , domain, action] = type.split(".");
  return pascalCase([domain!, action!]);
}

/** @throws ScaffoldError naming the first problem and its fix. */
export function checkEventRequest(system: ResolvedSystem, request: NewEventRequest): void {
  if (!eventTypeName.test(request.type))
    throw new ScaffoldError(
      `${request.type} is not an event type: use com.<org>.<domain>.<action> in lowercase (e.g. com.skillancer.user.deleted)`,
    );
  const declared = system.topics.flatMap((t) => t.events.map((e) => e.type));
  if (declared.includes(request.type))
    throw new ScaffoldError(`${request.type} is already declared`);
  const topic = declaredTopic(system, request.topic);
  if (request.fields.length === 0)
    throw new ScaffoldError(
      "say what the event carries: --field <name>:<type> at least once (e.g. --field user_id:string)",
    );
  const names = request.fields.map((f) => f.name);
  const repeatedName = names.find((name, i) => names.indexOf(name) !== i);
  if (repeatedName !== undefined) throw new ScaffoldError(`--field ${repeatedName} is given twice`);
  if (request.subject !== undefined) {
    const camel = request.fields.map((f) => camelCase(f.name));
    const field = request.fields[camel.indexOf(request.subject)];
    if (field === undefined || field.type !== "string" || field.repeated)
      throw new ScaffoldError(
        `--subject ${request.subject} must name a string field of the event${suggest(request.subject, camel) || ""} (fields: ${camel.join(", ")})`,
      );
  }
  const message = messageNameFor(request.type);
  const pkg = topic.schemaName.slice(0, topic.schemaName.lastIndexOf("."));
  if (system.topics.some((t) => t.events.some((e) => e.messageName === `${pkg}.${message}`)))
    throw new ScaffoldError(
      `${pkg}.${message} already carries another event; name the action differently`,
    );
}

/** Every .proto under `dir`, proto/gen/ aside. */
function protoFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "gen" ? [] : protoFiles(path);
    return entry.name.endsWith(".proto") ? [path] : [];
  });
}

/** The file that defines `message <name> {`. */
function fileDefining(files: readonly string[], name: string): string {
  const pattern = new RegExp(`^message ${name} \\{`, "m");
  const file = files.find((f) => pattern.test(readFileSync(f, "utf8")));
  if (file === undefined) throw new ScaffoldError(`no .proto under proto/ defines ${name}`);
  return file;
}

/** `source` with `member` added to `message <topic>`'s `oneof event`, numbered after the last. */
function withOneofMember(source: string, topicMessage: string, member: string): string {
  const start = source.search(new RegExp(`^message ${topicMessage} \\{`, "m"));
  const oneof = source.indexOf("oneof event {", start);
  const end = source.indexOf("}", oneof);
  if (start < 0 || oneof < 0 || end < 0)
    throw new ScaffoldError(`message ${topicMessage} has no oneof event { ... } to add to`);
  const numbers = [...source.slice(oneof, end).matchAll(/=\s*(\d+)\s*;/g)].map((m) => Number(m[1]));
  const next = Math.max(0, ...numbers) + 1;
  const closing = source.lastIndexOf("\n", end) + 1;
  return `${source.slice(0, closing)}    ${member} = ${next};\n${source.slice(closing)}`;
}

function sampleValue(field: EventField): string {
  const one =
    field.type === "string"
      ? JSON.stringify(`${field.name.replace(/_/g, "-")}-1`)
      : field.type === "bool"
        ? "true"
        : "1";
  return field.repeated ? `[${one}]` : one;
}

/**
 * Adds the event type. Writes nothing when a check fails; regenerates proto/gen/ with the
 * repository's own generator (npm run proto:gen).
 * @param root the repository (tests pass a copy).
 */
export async function newEvent(
  system: ResolvedSystem,
  request: NewEventRequest,
  root = REPO,
): Promise<NewEventResult> {
  checkEventRequest(system, request);
  const topic = system.topics.find((t) => t.name === request.topic)!;
  const message = messageNameFor(request.type);
  const pkg = topic.schemaName.slice(0, topic.schemaName.lastIndexOf("."));
  const topicMessage = topic.schemaName.slice(pkg.length + 1);
  const files = protoFiles(join(root, "proto"));
  // The new message goes beside the topic's first event's, so a domain's events stay in one file.
  const eventsFile = fileDefining(files, topic.events[0]!.messageName.slice(pkg.length + 1));
  const topicsFile = fileDefining(files, topicMessage);

  const body = request.fields
    .map((f, i) => `  ${f.repeated ? "repeated " : ""}${f.type} ${f.name} = ${i + 1};`)
    .join("\n");
  const comment = request.description ?? `${request.type}: what happened, in one line.`;
  const edits = new Map<string, string>();
  edits.set(
    eventsFile,
    `${readFileSync(eventsFile, "utf8").trimEnd()}\n\n// ${comment}\nmessage ${message} {\n${body}\n}\n`,
  );
  const member = `${message} ${request.type.split(".").slice(2).join("_")}`;
  edits.set(
    topicsFile,
    withOneofMember(
      edits.get(topicsFile) ?? readFileSync(topicsFile, "utf8"),
      topicMessage,
      member,
    ),
  );

  const project = new Project({ skipAddingFilesFromTsConfig: true });
  const systemPath = join(root, "infra", "system.ts");
  const declaration = project.addSourceFileAtPath(systemPath);
  const topics = declarationSection(declaration, "topics");
  const topicEntry = topics
    .getProperties()
    .find(
      (p) =>
        Node.isPropertyAssignment(p) &&
        [request.topic, JSON.stringify(request.topic)].includes(p.getName()),
    );
  const events =
    topicEntry !== undefined && Node.isPropertyAssignment(topicEntry)
      ? topicEntry.getInitializerIfKind(SyntaxKind.ObjectLiteralExpression)?.getProperty("events")
      : undefined;
  const eventsObject =
    events !== undefined && Node.isPropertyAssignment(events)
      ? events.getInitializerIfKind(SyntaxKind.ObjectLiteralExpression)
      : undefined;
  if (eventsObject === undefined)
    throw new ScaffoldError(`infra/system.ts: no topics.${request.topic}.events to add to`);
  eventsObject.addPropertyAssignment({
    name: JSON.stringify(request.type),
    initializer: `{ message: ${pkg}.${message}, description: ${JSON.stringify(comment)}${
      request.subject !== undefined ? `, subject: ${JSON.stringify(request.subject)}` : ""
    } }`,
  });

  const samplesPath = join(root, "tools", "samples", "events.ts");
  const samples = project.addSourceFileAtPath(samplesPath);
  const payloads = samples
    .getVariableDeclaration("samplePayloads")
    ?.getInitializerIfKind(SyntaxKind.ObjectLiteralExpression);
  if (payloads === undefined)
    throw new ScaffoldError("tools/samples/events.ts: no samplePayloads = { ... } to add to");
  payloads.addPropertyAssignment({
    name: JSON.stringify(request.type),
    initializer: `{ ${request.fields.map((f) => `${camelCase(f.name)}: ${sampleValue(f)}`).join(", ")} }`,
  });

  const ready = await Promise.all(
    [
      [systemPath, declaration.getFullText()],
      [samplesPath, samples.getFullText()],
    ].map(async ([path, text]) => [path!, await formatted(path!, text!)] as const),
  );
  for (const [path, text] of edits) writeFileSync(path, text);
  for (const [path, text] of ready) writeFileSync(path, text);
  const generated = spawnSync(
    process.execPath,
    [join(root, "node_modules", "tsx", "dist", "cli.mjs"), join("proto", "generate.ts")],
    { cwd: root, encoding: "utf8" },
  );
  if (generated.status !== 0)
    throw new ScaffoldError(
      `proto:gen failed after the .proto edits (fix them, then npm run proto:gen):\n${generated.stderr}`,
    );
  return {
    message: `${pkg}.${message}`,
    edited: [
      ...[...edits.keys()].map((f) => relative(root, f)),
      "proto/gen/",
      "infra/system.ts",
      "tools/samples/events.ts",
    ],
    next: [
      `write its fields' meaning in ${relative(root, eventsFile)} (message ${message}) and a realistic sample in tools/samples/events.ts`,
      `say who emits it: a handler's emits in infra/system.ts, or a producer's posts`,
      `say who takes it: npx eventline new consumer <name> --topic ${request.topic} --accepts ${request.type}`,
      "npm run proto:breaking: a new optional message on the topic is a compatible schema revision",
    ],
  };
}
