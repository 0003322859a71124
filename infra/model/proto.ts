/**
 * Reflection over the generated descriptor (proto/gen/descriptor.ts): full message
 * names, topic wrappers' oneof members, field lists. The static classes the
 * declaration names carry no reflection of their own.
 */
import * as protobuf from "protobufjs";
import { descriptor } from "../../proto/gen/descriptor";
import type { MessageClass } from "./types";

let root: protobuf.Root | undefined;

/** The reflection root of every message under proto/, built once. */
export function protoRoot(): protobuf.Root {
  if (root === undefined) {
    root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
    root.resolveAll();
  }
  return root;
}

/** The full protobuf name of a generated class, e.g. `viral.v1.ViralShareRequested`. */
export function messageNameOf(message: MessageClass): string {
  const url = message.getTypeUrl("");
  return url.slice(url.lastIndexOf("/") + 1);
}

/** The reflected type of a generated class. */
export function reflectedType(message: MessageClass): protobuf.Type {
  return protoRoot().lookupType(messageNameOf(message));
}

/** The members of a topic wrapper's single oneof: field name (camelCase) → full message name. */
export function oneofMembers(schema: MessageClass): {
  oneof: string | undefined;
  members: Map<string, string>;
} {
  const type = reflectedType(schema);
  const oneofs = type.oneofsArray;
  const members = new Map<string, string>();
  if (oneofs.length !== 1) return { oneof: undefined, members };
  const [oneof] = oneofs;
  for (const field of oneof!.fieldsArray) {
    if (field.resolvedType instanceof protobuf.Type)
      members.set(field.name, field.resolvedType.fullName.replace(/^\./, ""));
  }
  return { oneof: oneof!.name, members };
}

/** True when the message has a top-level field of that (camelCase) name. */
export function hasField(message: MessageClass, field: string): boolean {
  return reflectedType(message).fields[field] !== undefined;
}
