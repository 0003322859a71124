/**
 * The declaration as it was deployed: the part of a resolved system that decides what Pub/Sub
 * holds (topics, their schemas, subscriptions and their dead-letter wiring), as plain JSON.
 * The Pulumi program exports it as the stack output `declaration`, and `npm start` writes it
 * beside the emulators' state, so `eventline plan` can compare what is deployed with what the
 * declaration says now (plan.ts). Only what Pub/Sub cares about is kept: placement and scaling
 * change in place and need no plan.
 *
 * A record read back comes from outside (a file, a CLI's output), so {@link parseDeclarationRecord}
 * checks every field and names the first one that is wrong.
 */
import type { Encoding, ResolvedConsumer, ResolvedSystem, ResolvedTopic } from "./types";

/** Bumped when the record's shape changes; a record of another version is refused, not guessed at. */
export const DECLARATION_RECORD_VERSION = 1;

export interface TopicRecord {
  name: string;
  /** The topic's wrapper message, e.g. `viral.v1.ViralSharesTopic`. */
  schemaMessage: string;
  encoding: Encoding;
  /** sha256 of the Pub/Sub schema definition rendered from the wrapper, when the writer knew it. */
  schemaDigest?: string;
  /** That definition itself, so a plan can check a change's compatibility against it. */
  schemaDefinition?: string;
  retentionSeconds: number;
  orderingKey?: string;
}

export interface SubscriptionRecord {
  /** The consumer it belongs to: what stays the same when its subscription is replaced. */
  consumer: string;
  /** The Pub/Sub subscription's name. */
  name: string;
  topic: string;
  filter?: string;
  ordering: boolean;
  delivery: "push" | "pull";
  ackDeadlineSeconds: number;
  minBackoffSeconds: number;
  maxBackoffSeconds: number;
  maxDeliveryAttempts: number;
  exactlyOnce: boolean;
  retainAckedMessages: boolean;
  retentionSeconds: number;
  deadLetterTopic: string;
  parkingSubscription: string;
}

export interface DeclarationRecord {
  version: typeof DECLARATION_RECORD_VERSION;
  stack: string;
  topics: TopicRecord[];
  subscriptions: SubscriptionRecord[];
}

/** A record that does not parse or does not have the expected shape; the message names the field. */
export class DeclarationRecordError extends Error {
  override readonly name = "DeclarationRecordError";
}

function topicRecord(
  topic: ResolvedTopic,
  schema?: { digest: string; definition: string },
): TopicRecord {
  return {
    name: topic.name,
    schemaMessage: topic.schemaName,
    encoding: topic.encoding,
    ...(schema !== undefined && {
      schemaDigest: schema.digest,
      schemaDefinition: schema.definition,
    }),
    retentionSeconds: topic.retentionSeconds,
    ...(topic.orderingKey !== undefined && { orderingKey: topic.orderingKey }),
  };
}

function subscriptionRecord(consumer: ResolvedConsumer): SubscriptionRecord {
  return {
    consumer: consumer.name,
    name: consumer.subscription,
    topic: consumer.topic,
    ...(consumer.filter !== undefined && { filter: consumer.filter }),
    ordering: consumer.ordering,
    delivery: consumer.delivery,
    ackDeadlineSeconds: consumer.ackDeadlineSeconds,
    minBackoffSeconds: consumer.retry.minBackoffSeconds,
    maxBackoffSeconds: consumer.retry.maxBackoffSeconds,
    maxDeliveryAttempts: consumer.maxDeliveryAttempts,
    exactlyOnce: consumer.exactlyOnce,
    retainAckedMessages: consumer.retainAckedMessages,
    retentionSeconds: consumer.messageRetentionSeconds,
    deadLetterTopic: consumer.deadLetterTopic,
    parkingSubscription: consumer.parkingSubscription,
  };
}

/**
 * The record of `resolved`. `schemaOf` gives each topic's schema definition and its fingerprint;
 * the model cannot render a Pub/Sub schema itself (infra/gcp/pubsub-schema.ts does), so the
 * caller passes it.
 */
export function declarationRecord(
  resolved: ResolvedSystem,
  schemaOf?: (topic: ResolvedTopic) => { digest: string; definition: string },
): DeclarationRecord {
  return {
    version: DECLARATION_RECORD_VERSION,
    stack: resolved.stack,
    topics: resolved.topics.map((topic) => topicRecord(topic, schemaOf?.(topic))),
    subscriptions: resolved.consumers.map(subscriptionRecord),
  };
}

// ---- reading a record back, from outside ----

type Check = (value: unknown) => boolean;
const isString: Check = (value) => typeof value === "string";
const isName: Check = (value) => typeof value === "string" && value.length > 0;
const isBoolean: Check = (value) => typeof value === "boolean";
const isCount: Check = (value) => typeof value === "number" && Number.isFinite(value) && value >= 0;
const isEncoding: Check = (value) => value === "protobuf" || value === "json";
const isDelivery: Check = (value) => value === "push" || value === "pull";

const topicFields: Record<keyof TopicRecord, [Check, "required" | "optional"]> = {
  name: [isName, "required"],
  schemaMessage: [isName, "required"],
  encoding: [isEncoding, "required"],
  schemaDigest: [isString, "optional"],
  schemaDefinition: [isString, "optional"],
  retentionSeconds: [isCount, "required"],
  orderingKey: [isString, "optional"],
};

const subscriptionFields: Record<keyof SubscriptionRecord, [Check, "required" | "optional"]> = {
  consumer: [isName, "required"],
  name: [isName, "required"],
  topic: [isName, "required"],
  filter: [isString, "optional"],
  ordering: [isBoolean, "required"],
  delivery: [isDelivery, "required"],
  ackDeadlineSeconds: [isCount, "required"],
  minBackoffSeconds: [isCount, "required"],
  maxBackoffSeconds: [isCount, "required"],
  maxDeliveryAttempts: [isCount, "required"],
  exactlyOnce: [isBoolean, "required"],
  retainAckedMessages: [isBoolean, "required"],
  retentionSeconds: [isCount, "required"],
  deadLetterTopic: [isName, "required"],
  parkingSubscription: [isName, "required"],
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkEntries<T>(
  value: unknown,
  path: string,
  fields: Record<string, [Check, "required" | "optional"]>,
): T[] {
  if (!Array.isArray(value)) throw new DeclarationRecordError(`${path} is not a list`);
  return value.map((entry, index) => {
    const where = `${path}[${index}]`;
    if (!isObject(entry)) throw new DeclarationRecordError(`${where} is not an object`);
    for (const [field, [check, presence]] of Object.entries(fields)) {
      const present = Object.hasOwn(entry, field) && entry[field] !== undefined;
      if (!present) {
        if (presence === "required")
          throw new DeclarationRecordError(`${where}.${field} is missing`);
        continue;
      }
      if (!check(entry[field]))
        throw new DeclarationRecordError(
          `${where}.${field} has an unexpected value ${JSON.stringify(entry[field])}`,
        );
    }
    const unknown = Object.keys(entry).filter((key) => !Object.hasOwn(fields, key));
    if (unknown.length > 0)
      throw new DeclarationRecordError(`${where} has unknown fields: ${unknown.join(", ")}`);
    return entry as T;
  });
}

/** Names that must be unique within a list. */
function checkUnique(names: string[], what: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new DeclarationRecordError(`${what} ${name} appears twice`);
    seen.add(name);
  }
}

/**
 * Reads a record from JSON text (a file, `pulumi stack output declaration --json`).
 * `source` names where it came from, for the error.
 * @throws DeclarationRecordError naming the source and the first field that is wrong.
 */
export function parseDeclarationRecord(text: string, source: string): DeclarationRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DeclarationRecordError(`${source} is not JSON: ${(err as Error).message}`);
  }
  try {
    if (!isObject(parsed)) throw new DeclarationRecordError("the record is not a JSON object");
    if (parsed["version"] !== DECLARATION_RECORD_VERSION)
      throw new DeclarationRecordError(
        `version ${JSON.stringify(parsed["version"])} is not ${DECLARATION_RECORD_VERSION}, the version this eventline reads`,
      );
    if (!isName(parsed["stack"])) throw new DeclarationRecordError("stack is missing");
    const topics = checkEntries<TopicRecord>(parsed["topics"], "topics", topicFields);
    const subscriptions = checkEntries<SubscriptionRecord>(
      parsed["subscriptions"],
      "subscriptions",
      subscriptionFields,
    );
    checkUnique(
      topics.map((t) => t.name),
      "topic",
    );
    checkUnique(
      subscriptions.map((s) => s.consumer),
      "consumer",
    );
    return {
      version: DECLARATION_RECORD_VERSION,
      stack: parsed["stack"] as string,
      topics,
      subscriptions,
    };
  } catch (err) {
    if (err instanceof DeclarationRecordError)
      throw new DeclarationRecordError(`${source}: ${err.message}`);
    throw err;
  }
}
