/**
 * The record of a resolved declaration with each topic's schema fingerprint: what the program
 * exports as the stack output `declaration`, what `npm start` keeps beside the emulators' state,
 * and what `eventline plan` compares them with. One function, so all three fingerprint a schema
 * the same way: the sha256 of the Pub/Sub schema definition the program deploys.
 */
import { createHash } from "node:crypto";
import { renderPubsubSchema } from "./gcp/pubsub-schema";
import { declarationRecord, type DeclarationRecord } from "./model/declaration-record";
import { reflectedType } from "./model/proto";
import type { ResolvedSystem, ResolvedTopic } from "./model/types";

/** The Pub/Sub schema definition of `topic`, as the program deploys it. */
export function schemaDefinition(topic: ResolvedTopic): string {
  return renderPubsubSchema(reflectedType(topic.schema), topic.encoding);
}

/** The record of `resolved`, each topic with its schema definition and that definition's sha256. */
export function declarationOf(resolved: ResolvedSystem): DeclarationRecord {
  return declarationRecord(resolved, (topic) => {
    const definition = schemaDefinition(topic);
    return { definition, digest: createHash("sha256").update(definition).digest("hex") };
  });
}
