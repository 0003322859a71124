/**
 * JSON Schema for the proto3 JSON form of a protobuf message (what the gateway takes and what
 * JSON topics carry), by reflection over proto/gen's descriptor. Nested messages become
 * `$ref`s into one definitions map, so shared and recursive messages are written once.
 */
import * as protobuf from "protobufjs";
import { protoRoot } from "../../infra/model/proto";

export type JsonSchema = Record<string, unknown>;

const int32Types = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32"]);
const int64Types = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

function fullName(type: protobuf.ReflectionObject): string {
  return type.fullName.replace(/^\./, "");
}

/** The proto3 JSON mapping of well-known types, which are not objects on the wire. */
const wellKnown: Record<string, JsonSchema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?\\d+(\\.\\d+)?s$" },
  "google.protobuf.Any": {
    type: "object",
    properties: { "@type": { type: "string" } },
    required: ["@type"],
  },
};

/** Collects the schemas of messages reachable from the ones asked for. */
export class JsonSchemaBuilder {
  /** Message full name → its schema. */
  readonly definitions: Record<string, JsonSchema> = {};

  /** @param refPrefix where the definitions will live in the document, e.g. `#/components/schemas/`. */
  constructor(private readonly refPrefix: string) {}

  /** A `$ref` to the message's schema, adding it (and what it references) to the definitions. */
  ref(messageName: string): JsonSchema {
    const type = protoRoot().lookupType(messageName);
    const name = fullName(type);
    if (wellKnown[name] !== undefined) return wellKnown[name]!;
    if (this.definitions[name] === undefined) {
      this.definitions[name] = {};
      this.definitions[name] = this.message(type);
    }
    return { $ref: `${this.refPrefix}${name}` };
  }

  private message(type: protobuf.Type): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    for (const field of type.fieldsArray) {
      field.resolve();
      const value = this.value(field);
      const schema = field.map
        ? { type: "object", additionalProperties: value }
        : field.repeated
          ? { type: "array", items: value }
          : value;
      properties[field.name] = field.comment ? { ...schema, description: field.comment } : schema;
    }
    return {
      type: "object",
      title: fullName(type),
      ...(type.comment ? { description: type.comment } : {}),
      properties,
      additionalProperties: false,
    };
  }

  private value(field: protobuf.Field): JsonSchema {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum)
      return { type: "string", enum: Object.keys(resolved.values) };
    if (resolved instanceof protobuf.Type) return this.ref(fullName(resolved));
    if (field.type === "string") return { type: "string" };
    if (field.type === "bool") return { type: "boolean" };
    if (field.type === "bytes") return { type: "string", contentEncoding: "base64" };
    if (int32Types.has(field.type)) return { type: "integer" };
    // proto3 JSON writes 64-bit integers as strings and reads either form.
    if (int64Types.has(field.type)) return { type: ["string", "integer"], pattern: "^-?\\d+$" };
    return { type: "number" };
  }
}
