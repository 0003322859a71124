/**
 * proto3 JSON (the form Pub/Sub validates JSON-encoded topics against, and the
 * gateway takes) ↔ the plain objects protobufjs works with. protobufjs's `verify`
 * rejects proto3 JSON's int64 strings, enum names and RFC 3339 timestamps, and its
 * `fromObject` coerces anything without complaint; so JSON is brought to protobufjs's
 * form here first, by reflection, leaving what does not fit for `verify` to report.
 *
 * Strict, at every depth: a key that is not a field of its message (`__proto__` and
 * `constructor` included) is refused with its path (decoding a message from one of our topics
 * may skip it instead: {@link UnknownFields}); so are a field given
 * twice (by its name and its json_name), a timestamp that is not RFC 3339, an int64 beyond
 * 2^53 (this system's int64 fields are JS numbers), and `__proto__` as a map key (a JS object
 * cannot hold it). Map fields otherwise take any key.
 */
import * as protobuf from "protobufjs";
import { reflectedType } from "../../infra/model/proto";
import type { MessageClass } from "../../infra/model/types";
import { timestampProblem } from "./cloudevents";
import { formatJsonPath, type JsonPath } from "./strict-json";
import { rfc3339FromTimestamp, timestampFromRfc3339 } from "./timestamps";

const int64Types = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const floatTypes = new Set(["double", "float"]);
const specialFloats: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
};
const TIMESTAMP = "google.protobuf.Timestamp";

/**
 * What a key that is no field of its message gets: refused (what comes from outside, at the
 * gateway), or skipped (a message from one of our own topics, which a producer on a newer
 * compatible definition may have sent with a field this code does not know yet; protobuf
 * binary skips unknown fields the same way).
 */
export type UnknownFields = "refuse" | "ignore";

/** proto3 JSON that does not fit its message, with the path of the value at fault. */
export class ProtoJsonError extends Error {
  override readonly name = "ProtoJsonError";
  constructor(
    readonly kind: "unknown-field" | "duplicate-key" | "invalid-payload",
    message: string,
    /** Where, as strict-json's formatJsonPath writes it. */
    readonly path: string,
  ) {
    super(message);
  }
}

function fullName(type: protobuf.Type): string {
  return type.fullName.replace(/^\./, "");
}

function invalid(path: JsonPath, problem: string): never {
  const where = formatJsonPath(path);
  throw new ProtoJsonError("invalid-payload", `${where}: ${problem}`, where);
}

function scalarFromJson(
  field: protobuf.Field,
  value: unknown,
  path: JsonPath,
  unknownFields: UnknownFields,
): unknown {
  if (field.resolvedType instanceof protobuf.Enum && typeof value === "string") {
    const values = field.resolvedType.values;
    if (!Object.hasOwn(values, value))
      invalid(
        path,
        `${JSON.stringify(value.slice(0, 40))} is not one of ${Object.keys(values).join(", ")}`,
      );
    return values[value];
  }
  if (field.resolvedType instanceof protobuf.Type) {
    if (fullName(field.resolvedType) === TIMESTAMP && typeof value === "string") {
      const problem = timestampProblem(value);
      if (problem !== undefined) invalid(path, `${JSON.stringify(value.slice(0, 40))} ${problem}`);
      return timestampFromRfc3339(value);
    }
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? objectFromJson(field.resolvedType, value as Record<string, unknown>, path, unknownFields)
      : value;
  }
  if (int64Types.has(field.type)) {
    const number = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof number === "number" && Number.isInteger(number) && !Number.isSafeInteger(number))
      invalid(path, `${String(value)} is beyond ±2^53, more than this system's int64 fields hold`);
    return number;
  }
  if (
    floatTypes.has(field.type) &&
    typeof value === "string" &&
    Object.hasOwn(specialFloats, value)
  )
    return specialFloats[value];
  return value;
}

/** The field a proto3 JSON key names: the field's name, or its json_name. */
function fieldNamed(type: protobuf.Type, key: string): protobuf.Field | undefined {
  if (Object.hasOwn(type.fields, key)) return type.fields[key];
  return type.fieldsArray.find((f) => f.options?.["json_name"] === key);
}

function objectFromJson(
  type: protobuf.Type,
  json: Record<string, unknown>,
  path: JsonPath,
  unknownFields: UnknownFields,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const at = [...path, key];
    const field = fieldNamed(type, key);
    if (field === undefined && unknownFields === "ignore" && key !== "__proto__") continue;
    if (field === undefined) {
      const where = formatJsonPath(at);
      throw new ProtoJsonError(
        "unknown-field",
        `unknown field ${where}: ${fullName(type)} has no field ${formatJsonPath([key.slice(0, 64)])} (fields: ${type.fieldsArray.map((f) => f.name).join(", ")})`,
        where,
      );
    }
    if (Object.hasOwn(out, field.name)) {
      const where = formatJsonPath(at);
      throw new ProtoJsonError(
        "duplicate-key",
        `${where}: the field ${field.name} is given twice (by its name and its json_name)`,
        where,
      );
    }
    if (value === null) {
      out[field.name] = null;
      continue;
    }
    field.resolve();
    if (field.map && typeof value === "object" && !Array.isArray(value)) {
      out[field.name] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => {
          if (k === "__proto__") invalid([...at, k], "__proto__ cannot be a map key here");
          return [k, scalarFromJson(field, v, [...at, k], unknownFields)];
        }),
      );
    } else if (field.repeated && Array.isArray(value)) {
      out[field.name] = value.map((v: unknown, i) =>
        scalarFromJson(field, v, [...at, i], unknownFields),
      );
    } else {
      out[field.name] = scalarFromJson(field, value, at, unknownFields);
    }
  }
  return out;
}

/**
 * A proto3 JSON object as protobufjs's `verify` and `fromObject` expect it for `message`.
 * @param path where the object is in its document, for the refusals' paths. Default: the root.
 * @param options.unknownFields see {@link UnknownFields}. Default "refuse".
 * @throws ProtoJsonError for an unknown field (unless ignored), a field given twice, or a value that cannot be
 *   converted; a value of the wrong type is left for `verify` to report.
 */
export function fromProto3Json(
  message: MessageClass,
  json: Record<string, unknown>,
  path: JsonPath = [],
  options: { unknownFields?: UnknownFields } = {},
): Record<string, unknown> {
  return objectFromJson(reflectedType(message), json, path, options.unknownFields ?? "refuse");
}

function timestampsToJson(
  type: protobuf.Type,
  object: Record<string, unknown>,
): Record<string, unknown> {
  for (const field of type.fieldsArray) {
    const value = object[field.name];
    if (
      value === undefined ||
      value === null ||
      !(field.resolve().resolvedType instanceof protobuf.Type)
    )
      continue;
    const nested = field.resolvedType as protobuf.Type;
    const convert = (v: unknown): unknown =>
      fullName(nested) === TIMESTAMP
        ? rfc3339FromTimestamp(v as { seconds?: number; nanos?: number })
        : timestampsToJson(nested, v as Record<string, unknown>);
    if (field.map)
      object[field.name] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, convert(v)]),
      );
    else object[field.name] = Array.isArray(value) ? value.map(convert) : convert(value);
  }
  return object;
}

/** The proto3 JSON form of a message: int64 as strings, enums by name, timestamps in RFC 3339. */
export function toProto3Json(message: MessageClass, instance: object): Record<string, unknown> {
  const object = message.toObject(instance, { longs: String, enums: String, json: true });
  return timestampsToJson(reflectedType(message), object);
}
