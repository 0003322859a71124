/**
 * proto3 JSON (the form Pub/Sub validates JSON-encoded topics against, and the
 * gateway takes) ↔ the plain objects protobufjs works with. protobufjs's `verify`
 * rejects proto3 JSON's int64 strings, enum names and RFC 3339 timestamps, and its
 * `fromObject` coerces anything without complaint; so JSON is brought to protobufjs's
 * form here first, by reflection, leaving what does not fit for `verify` to report.
 */
import * as protobuf from "protobufjs";
import { reflectedType } from "../../infra/model/proto";
import type { MessageClass } from "../../infra/model/types";
import { rfc3339FromTimestamp, timestampFromRfc3339 } from "./timestamps";

const int64Types = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const floatTypes = new Set(["double", "float"]);
const specialFloats: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
};
const TIMESTAMP = "google.protobuf.Timestamp";

function fullName(type: protobuf.Type): string {
  return type.fullName.replace(/^\./, "");
}

function scalarFromJson(field: protobuf.Field, value: unknown): unknown {
  if (field.resolvedType instanceof protobuf.Enum && typeof value === "string") {
    return field.resolvedType.values[value] ?? value;
  }
  if (field.resolvedType instanceof protobuf.Type) {
    if (fullName(field.resolvedType) === TIMESTAMP && typeof value === "string") {
      try {
        return timestampFromRfc3339(value);
      } catch {
        return value;
      }
    }
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? objectFromJson(field.resolvedType, value as Record<string, unknown>)
      : value;
  }
  if (int64Types.has(field.type) && typeof value === "string" && /^-?\d+$/.test(value))
    return Number(value);
  if (floatTypes.has(field.type) && typeof value === "string" && value in specialFloats)
    return specialFloats[value];
  return value;
}

function objectFromJson(
  type: protobuf.Type,
  json: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field =
      type.fields[key] ?? type.fieldsArray.find((f) => f.options?.["json_name"] === key);
    if (field === undefined || value === null) {
      out[key] = value;
      continue;
    }
    field.resolve();
    if (field.map && value !== null && typeof value === "object") {
      out[field.name] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, scalarFromJson(field, v)]),
      );
    } else if (field.repeated && Array.isArray(value)) {
      out[field.name] = value.map((v: unknown) => scalarFromJson(field, v));
    } else {
      out[field.name] = scalarFromJson(field, value);
    }
  }
  return out;
}

/** A proto3 JSON object as protobufjs's `verify` and `fromObject` expect it for `message`. */
export function fromProto3Json(
  message: MessageClass,
  json: Record<string, unknown>,
): Record<string, unknown> {
  return objectFromJson(reflectedType(message), json);
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
