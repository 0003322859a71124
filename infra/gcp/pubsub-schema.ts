/**
 * Renders a topic's wrapper message as a Pub/Sub schema definition. Pub/Sub takes ONE
 * self-contained .proto file with exactly one top-level message, and no imports
 * (https://cloud.google.com/pubsub/docs/schemas: "you must only define one top-level type;
 * import statements that reference other types aren't supported"). So every message and
 * enum the wrapper reaches, google.protobuf types included, is copied in as a nested type
 * of the wrapper, from the protobufjs reflection of proto/ (the same source the generated
 * code comes from). Field numbers and types are kept, so the binary encoding is unchanged.
 */
import * as protobuf from "protobufjs";
import type { Encoding } from "../model/types";

/** Thrown when a message cannot be expressed as one Pub/Sub schema. */
export class SchemaRenderError extends Error {
  override readonly name = "SchemaRenderError";
}

/** The nested name each reachable type gets inside the wrapper, by full name (`.pkg.Type`). */
type NestedNames = Map<string, string>;

function stripDot(fullName: string): string {
  return fullName.replace(/^\./, "");
}

function packageOf(type: protobuf.Type): string {
  const parts = stripDot(type.fullName).split(".");
  return parts.slice(0, -1).join(".");
}

/** Every message and enum reachable from `root` through its fields, in first-reached order. */
function reachableTypes(root: protobuf.Type): (protobuf.Type | protobuf.Enum)[] {
  const seen = new Map<string, protobuf.Type | protobuf.Enum>();
  const visit = (type: protobuf.Type): void => {
    for (const field of type.fieldsArray) {
      const target = field.resolve().resolvedType;
      if (target === null || target === root || seen.has(target.fullName)) continue;
      seen.set(target.fullName, target);
      if (target instanceof protobuf.Type) visit(target);
    }
  };
  visit(root);
  return [...seen.values()];
}

/**
 * Short names for the inlined types: the type's own name, or, when two packages both
 * have it, the full name with dots turned into underscores.
 */
function nestedNames(types: readonly (protobuf.Type | protobuf.Enum)[]): NestedNames {
  const count = new Map<string, number>();
  for (const type of types) count.set(type.name, (count.get(type.name) ?? 0) + 1);
  return new Map(
    types.map((type) => [
      type.fullName,
      count.get(type.name) === 1 ? type.name : stripDot(type.fullName).replace(/\./g, "_"),
    ]),
  );
}

function typeName(field: protobuf.Field, names: NestedNames): string {
  const target = field.resolvedType;
  return target === null ? field.type : (names.get(target.fullName) ?? target.name);
}

function renderField(
  field: protobuf.Field,
  names: NestedNames,
  indent: string,
  inOneof: boolean,
): string {
  const valueType = typeName(field, names);
  const name = field.protoName;
  if (field instanceof protobuf.MapField)
    return `${indent}map<${field.keyType}, ${valueType}> ${name} = ${field.id};`;
  const label = field.repeated
    ? "repeated "
    : !inOneof && field.options?.["proto3_optional"] === true
      ? "optional "
      : "";
  return `${indent}${label}${valueType} ${name} = ${field.id};`;
}

/** A oneof written by the author; proto3 `optional` fields carry a synthetic one. */
function isDeclaredOneof(oneof: protobuf.OneOf): boolean {
  return !oneof.fieldsArray.every((field) => field.options?.["proto3_optional"] === true);
}

function renderReserved(type: protobuf.Type, indent: string): string[] {
  const reserved = type.reserved ?? [];
  return reserved.map((entry) =>
    typeof entry === "string"
      ? `${indent}reserved "${entry}";`
      : `${indent}reserved ${entry[0] === entry[1] ? entry[0] : `${entry[0]} to ${entry[1]}`};`,
  );
}

function renderMessageBody(type: protobuf.Type, names: NestedNames, indent: string): string[] {
  const lines: string[] = [];
  const oneofs = type.oneofsArray.filter(isDeclaredOneof);
  const inOneof = new Set(oneofs.flatMap((oneof) => oneof.fieldsArray));
  for (const field of [...type.fieldsArray].sort((a, b) => a.id - b.id)) {
    if (!inOneof.has(field)) lines.push(renderField(field, names, indent, false));
  }
  for (const oneof of oneofs) {
    lines.push(`${indent}oneof ${oneof.name} {`);
    for (const field of oneof.fieldsArray)
      lines.push(renderField(field, names, `${indent}  `, true));
    lines.push(`${indent}}`);
  }
  return [...lines, ...renderReserved(type, indent)];
}

function renderEnum(type: protobuf.Enum, name: string, indent: string): string[] {
  const values = Object.entries(type.values).map(([key, id]) => `${indent}  ${key} = ${id};`);
  return [`${indent}enum ${name} {`, ...values, `${indent}}`];
}

/**
 * Enum values share the scope of their enclosing message (C++ scoping), so once every enum
 * sits inside the wrapper, two enums with the same value name would not compile.
 */
function checkEnumValueScope(
  root: protobuf.Type,
  types: readonly (protobuf.Type | protobuf.Enum)[],
): void {
  const owner = new Map<string, string>();
  for (const type of types) {
    if (!(type instanceof protobuf.Enum)) continue;
    for (const value of Object.keys(type.values)) {
      const previous = owner.get(value);
      if (previous !== undefined) {
        throw new SchemaRenderError(
          `${stripDot(root.fullName)}: enum value ${value} is declared by both ${previous} and ${stripDot(type.fullName)}, which share one scope in the Pub/Sub schema; prefix enum values with their enum's name (buf lint ENUM_VALUE_PREFIX)`,
        );
      }
      owner.set(value, stripDot(type.fullName));
    }
  }
}

/**
 * The Pub/Sub schema definition (type PROTOCOL_BUFFER) of a topic's wrapper message.
 * @param encoding the topic's encoding: a JSON topic cannot use google.protobuf types,
 *   whose JSON form (e.g. a Timestamp as an RFC 3339 string) the inlined copy would lose.
 * @throws SchemaRenderError naming the message and the fix when it cannot be rendered.
 */
export function renderPubsubSchema(root: protobuf.Type, encoding: Encoding): string {
  const types = reachableTypes(root);
  const wellKnown = types.filter((type) => stripDot(type.fullName).startsWith("google.protobuf."));
  if (encoding === "json" && wellKnown.length > 0) {
    throw new SchemaRenderError(
      `${stripDot(root.fullName)} reaches ${wellKnown.map((type) => stripDot(type.fullName)).join(", ")}, whose JSON form a Pub/Sub schema cannot express without imports; use plain fields (e.g. an RFC 3339 string) on JSON topics or encode the topic as protobuf`,
    );
  }
  checkEnumValueScope(root, types);
  const names = nestedNames(types);
  const pkg = packageOf(root);
  const nested = types.flatMap((type) =>
    type instanceof protobuf.Enum
      ? renderEnum(type, names.get(type.fullName)!, "  ")
      : [
          `  message ${names.get(type.fullName)!} {`,
          ...renderMessageBody(type, names, "    "),
          "  }",
        ],
  );
  return [
    'syntax = "proto3";',
    "",
    ...(pkg ? [`package ${pkg};`, ""] : []),
    `message ${root.name} {`,
    ...renderMessageBody(root, names, "  "),
    ...nested,
    "}",
    "",
  ].join("\n");
}
