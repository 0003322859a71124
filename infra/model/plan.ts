/**
 * What a deploy would do to Pub/Sub: the deployed declaration (declaration-record.ts) against
 * the current one, each difference classified by its consequence in Pub/Sub terms.
 *
 * - *create* / *delete*: a topic or consumer added or removed.
 * - *in place*: Pub/Sub updates the field of the existing resource; nothing is lost.
 * - *replace with migration*: the resource is replaced by a new one beside it that takes over
 *   what the old one holds: a consumer's filter changed, or its ordering turned off. The program
 *   names the new subscription after those fields (resolve.ts, subscriptionName) and declares the
 *   take-over and the retirement that move the consumer (infra/gcp/subscription-migration.ts).
 * - *refused*: Pub/Sub cannot make the change in place and nothing migrates what the old
 *   resource holds, so deploying it would fail or lose messages. Each refusal names the guard
 *   that refused it and the fix.
 *
 * Pub/Sub's own rules decide the classes: a subscription's name, topic, filter and message
 * ordering cannot change once it exists, nor a topic's name; every other field of either updates
 * in place. The program names its resources (they are not auto-named), so Pulumi's
 * create-before-delete replace fails with 409 ALREADY_EXISTS, and a delete-before-replace drops
 * the subscription's unacknowledged backlog and whatever is published while it is missing.
 */
import type { DeclarationRecord, SubscriptionRecord, TopicRecord } from "./declaration-record";
import { KEPT_SCHEMA_REVISIONS } from "./defaults";
import { subscriptionName } from "./resolve";

export type Consequence = "create" | "in-place" | "replace-with-migration" | "refused" | "delete";

/** Why a change is refused (the same names the policy pack reports). */
export type Guard =
  /** A replace-only subscription field changes and nothing migrates the subscription. */
  | "replace-without-migration"
  /** A filter or ordering change on a subscription that may hold a backlog, without a migration. */
  | "backlog-without-migration"
  /** A topic disappears and one with the same wrapper message appears: Pub/Sub cannot rename. */
  | "topic-rename"
  /** A topic's body encoding changes under the messages it already holds. */
  | "encoding-change"
  /** A topic's schema changes in a way that breaks wire or JSON compatibility with what it carries. */
  | "schema-incompatible";

/** The subscription fields Pub/Sub cannot change on an existing subscription. */
export const REPLACE_ONLY_SUBSCRIPTION_FIELDS = ["name", "topic", "filter", "ordering"] as const;

/** Of those, the ones whose change alters which messages are delivered, or how: a backlog matters. */
const BACKLOG_SENSITIVE_FIELDS: readonly string[] = ["filter", "ordering"];

export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

export interface PlannedChange {
  resource: "topic" | "schema" | "subscription";
  /** The topic's name, or the consumer's (a consumer keeps its name when its subscription is replaced). */
  name: string;
  consequence: Consequence;
  /** The fields that differ; empty for a create or delete. */
  fields: FieldChange[];
  /** What happens in Pub/Sub. */
  effect: string;
  /** For a refusal: the guards that refuse it, and what to do instead. */
  guards?: Guard[];
  fix?: string;
}

/** One way a new schema definition breaks compatibility with the deployed one (buf breaking's finding). */
export interface SchemaIncompatibility {
  /** The rule it breaks, e.g. FIELD_WIRE_JSON_COMPATIBLE_TYPE. */
  rule: string;
  /** What changed, naming the field, e.g. `Field "2" with name "b" on message "W" changed type…`. */
  message: string;
}

export interface PlanOptions {
  /**
   * What breaks compatibility in each topic whose schema definition changed, by topic name; a
   * topic missing here was not checked. The model cannot check it (buf does; tools/plan/).
   */
  schemaIncompatibilities?: ReadonlyMap<string, readonly SchemaIncompatibility[]>;
}

export interface Plan {
  stack: string;
  /** False when no deployed declaration was given: everything is planned as new. */
  deployedKnown: boolean;
  changes: PlannedChange[];
}

const show = (value: unknown): string =>
  value === undefined ? "none" : typeof value === "string" ? JSON.stringify(value) : String(value);

function differences<T extends object>(
  before: T,
  after: T,
  fields: readonly (keyof T & string)[],
): FieldChange[] {
  return fields
    .filter((field) => before[field] !== after[field])
    .map((field) => ({ field, from: show(before[field]), to: show(after[field]) }));
}

const TOPIC_IN_PLACE: readonly (keyof TopicRecord & string)[] = ["retentionSeconds", "orderingKey"];
const SUBSCRIPTION_IN_PLACE: readonly (keyof SubscriptionRecord & string)[] = [
  "delivery",
  "ackDeadlineSeconds",
  "minBackoffSeconds",
  "maxBackoffSeconds",
  "maxDeliveryAttempts",
  "exactlyOnce",
  "retainAckedMessages",
  "retentionSeconds",
];

function planTopic(before: TopicRecord, after: TopicRecord, options: PlanOptions): PlannedChange[] {
  const planned: PlannedChange[] = [];
  const encoding = differences(before, after, ["encoding"]);
  if (encoding.length > 0)
    planned.push({
      resource: "topic",
      name: after.name,
      consequence: "refused",
      fields: encoding,
      effect: `the messages already on ${after.name} keep the ${before.encoding} encoding, and its consumers would decode them as ${after.encoding}: they would be dead-lettered as undecodable`,
      guards: ["encoding-change"],
      fix: `declare a new topic with encoding "${after.encoding}" beside ${after.name}, move its producers and consumers to it, and remove ${after.name} once its subscriptions are drained`,
    });
  const inPlace = differences(before, after, TOPIC_IN_PLACE);
  if (inPlace.length > 0)
    planned.push({
      resource: "topic",
      name: after.name,
      consequence: "in-place",
      fields: inPlace,
      effect: `topic ${after.name} is updated in place (retention applies to what it keeps from now on; the ordering key is the publishers')`,
    });
  const schema = differences(before, after, ["schemaMessage"]);
  if (
    before.schemaDigest !== undefined &&
    after.schemaDigest !== undefined &&
    before.schemaDigest !== after.schemaDigest
  )
    schema.push({
      field: "schema definition",
      from: before.schemaDigest.slice(0, 12),
      to: after.schemaDigest.slice(0, 12),
    });
  const incompatible = options.schemaIncompatibilities?.get(after.name) ?? [];
  if (schema.length > 0 && incompatible.length > 0)
    planned.push({
      resource: "schema",
      name: after.name,
      consequence: "refused",
      fields: schema,
      effect: `the new definition of schema ${after.name} breaks compatibility with the messages ${after.name} carries and its producers and consumers: ${incompatible.map((issue) => `${issue.message} (${issue.rule})`).join("; ")}`,
      guards: ["schema-incompatible"],
      fix: `add fields instead of changing or removing them (a removed field's number and name stay reserved), or declare a new topic with a new wrapper (a v2 package) and move producers and consumers to it`,
    });
  else if (schema.length > 0) {
    const checked = options.schemaIncompatibilities?.has(after.name) === true;
    planned.push({
      resource: "schema",
      name: after.name,
      consequence: "in-place",
      fields: schema,
      effect: `commits the new definition (sha256 ${after.schemaDigest ?? "unknown"}) as a revision of schema ${after.name}, deleting its oldest revisions beyond ${KEPT_SCHEMA_REVISIONS} first; the topic and its subscriptions stay. ${checked ? "It is compatible with the one deployed (buf breaking, WIRE_JSON)." : "Its compatibility was not checked here; Pub/Sub refuses a protobuf revision that changes more than optional fields."}`,
    });
  }
  return planned;
}

/** The fields Pub/Sub cannot change on an existing subscription, as the plan and the policy pack see them. */
export type ReplaceOnlyFields = Pick<
  SubscriptionRecord,
  "consumer" | "name" | "topic" | "filter" | "ordering"
>;

/**
 * What a change to `before`'s replace-only fields does, or undefined when none of them changes:
 * a replace with migration when the program migrates it, else a refusal. Shared with the policy
 * pack (policies/pubsub-replace.ts), so both say the same.
 *
 * The program migrates a subscription whose new name is the one it derives from the new topic,
 * filter and ordering (it pairs every such name with a take-over and a retirement), unless Pub/Sub
 * cannot seek the new one to the old one's snapshot: another topic, or ordering turned on.
 */
export function subscriptionReplacement(
  before: ReplaceOnlyFields,
  after: ReplaceOnlyFields,
): PlannedChange | undefined {
  const fields = differences(before, after, REPLACE_ONLY_SUBSCRIPTION_FIELDS);
  if (fields.length === 0) return undefined;
  const names = fields.map((change) => change.field).filter((field) => field !== "name");
  const changed = names.length > 0 ? names.join(", ") : "name";
  const backlogSensitive = names.some((field) => BACKLOG_SENSITIVE_FIELDS.includes(field));
  const refused = (effect: string, guards: Guard[], fix: string): PlannedChange => ({
    resource: "subscription",
    name: after.consumer,
    consequence: "refused",
    fields,
    effect,
    guards,
    fix,
  });
  const newConsumerFix =
    `keep ${after.consumer} as deployed and declare a new consumer beside it with the new ${changed}; ` +
    `remove ${after.consumer} once its backlog is 0 (both see what is published meanwhile, so the handler's effects ` +
    `must tolerate that)`;
  if (before.topic !== after.topic)
    return refused(
      `Pub/Sub cannot move a subscription to another topic, and a snapshot of ${before.name} only seeks subscriptions of ${before.topic}: ` +
        `a subscription on ${after.topic} cannot take over its backlog, which would be lost with it`,
      ["replace-without-migration"],
      newConsumerFix,
    );
  if (!before.ordering && after.ordering)
    return refused(
      `Pub/Sub refuses to seek an ordered subscription to an unordered one's snapshot (FAILED_PRECONDITION), since it ` +
        `may redeliver out of order: the new subscription cannot take over ${before.name}'s backlog`,
      ["backlog-without-migration"],
      newConsumerFix,
    );
  // A new name alone is no change the program migrates: the deployed subscription was named
  // otherwise (before names carried the hash), and it has no take-over to update.
  const migrates =
    names.length > 0 &&
    after.name !== before.name &&
    after.name ===
      subscriptionName(after.consumer, {
        topic: after.topic,
        filter: after.filter,
        ordering: after.ordering,
      });
  if (!migrates)
    return refused(
      `Pub/Sub cannot change a subscription's ${changed}: subscription ${before.name} would be replaced without a migration. ` +
        `Created first under the same name, the new one fails with 409 ALREADY_EXISTS; deleted first, the old one's ` +
        `unacknowledged messages are lost, and so is what ${after.topic} receives until the new one exists`,
      backlogSensitive
        ? ["replace-without-migration", "backlog-without-migration"]
        : ["replace-without-migration"],
      `let the program name the subscription (infra/model/resolve.ts, subscriptionName: ${subscriptionName(after.consumer, after)}), ` +
        `which declares its migration; or ${newConsumerFix}`,
    );
  return {
    resource: "subscription",
    name: after.consumer,
    consequence: "replace-with-migration",
    fields,
    effect:
      `Pub/Sub cannot change a subscription's ${changed}: ${after.name} is created beside ${before.name} and takes over its ` +
      `unacknowledged backlog (snapshot and seek); the workers move to it and drain ${before.name}, which is deleted once ` +
      `it has delivered none of its backlog for its quiet window (a deploy waits up to 15 minutes for that). What both ` +
      `deliver is applied once: the processed records are the consumer's. Its dead-letter topic and parked letters stay`,
  };
}

function planSubscription(before: SubscriptionRecord, after: SubscriptionRecord): PlannedChange[] {
  const planned: PlannedChange[] = [];
  const replacement = subscriptionReplacement(before, after);
  if (replacement !== undefined) planned.push(replacement);
  const inPlace = differences(before, after, SUBSCRIPTION_IN_PLACE);
  if (inPlace.length > 0) {
    const moves = inPlace.some((change) => change.field === "delivery");
    planned.push({
      resource: "subscription",
      name: after.consumer,
      consequence: "in-place",
      fields: inPlace,
      effect:
        `subscription ${before.name} is updated in place and keeps its backlog` +
        (moves
          ? `; its push configuration changes and the consumer's workload moves (${before.delivery} → ${after.delivery})`
          : ""),
    });
  }
  return planned;
}

/** Topics removed and added in one change that carry the same wrapper message: a rename. */
function renames(removed: TopicRecord[], added: TopicRecord[]): Map<string, TopicRecord> {
  const byMessage = new Map(added.map((topic) => [topic.schemaMessage, topic]));
  return new Map(
    removed.flatMap((topic) => {
      const to = byMessage.get(topic.schemaMessage);
      return to === undefined ? [] : [[topic.name, to] as const];
    }),
  );
}

/**
 * The plan from `deployed` (undefined when nothing is known to be deployed) to `current`.
 * Changes come topics first, then subscriptions, each in the current declaration's order,
 * removals last.
 */
export function planChanges(
  current: DeclarationRecord,
  deployed?: DeclarationRecord,
  options: PlanOptions = {},
): Plan {
  const before = deployed ?? { ...current, topics: [], subscriptions: [] };
  const changes: PlannedChange[] = [];

  const topicsBefore = new Map(before.topics.map((topic) => [topic.name, topic]));
  const topicsNow = new Set(current.topics.map((topic) => topic.name));
  const removedTopics = before.topics.filter((topic) => !topicsNow.has(topic.name));
  const addedTopics = current.topics.filter((topic) => !topicsBefore.has(topic.name));
  const renamed = renames(removedTopics, addedTopics);
  const renameTargets = new Set([...renamed.values()].map((topic) => topic.name));

  for (const topic of current.topics) {
    const old = topicsBefore.get(topic.name);
    if (old !== undefined) changes.push(...planTopic(old, topic, options));
    else if (!renameTargets.has(topic.name))
      changes.push({
        resource: "topic",
        name: topic.name,
        consequence: "create",
        fields: [],
        effect: `topic ${topic.name} and its schema are created`,
      });
  }
  for (const [from, to] of renamed)
    changes.push({
      resource: "topic",
      name: from,
      consequence: "refused",
      fields: [{ field: "name", from: JSON.stringify(from), to: JSON.stringify(to.name) }],
      effect: `Pub/Sub cannot rename a topic: ${from} would be deleted with the messages it retains, its producers' publishes would fail with NOT_FOUND, and ${to.name} would start empty`,
      guards: ["topic-rename"],
      fix: `declare ${to.name} as a new topic beside ${from}, move ${from}'s producers to it, move its consumers once their backlog on ${from} is 0, then remove ${from}`,
    });

  const subscriptionsBefore = new Map(before.subscriptions.map((s) => [s.consumer, s]));
  const consumersNow = new Set(current.subscriptions.map((s) => s.consumer));
  for (const subscription of current.subscriptions) {
    const old = subscriptionsBefore.get(subscription.consumer);
    if (old !== undefined) changes.push(...planSubscription(old, subscription));
    else
      changes.push({
        resource: "subscription",
        name: subscription.consumer,
        consequence: "create",
        fields: [],
        effect: `subscription ${subscription.name} on ${subscription.topic} is created with its dead-letter topic ${subscription.deadLetterTopic} and parking subscription ${subscription.parkingSubscription}; it receives what is published from then on`,
      });
  }
  for (const subscription of before.subscriptions.filter((s) => !consumersNow.has(s.consumer)))
    changes.push({
      resource: "subscription",
      name: subscription.consumer,
      consequence: "delete",
      fields: [],
      effect: `subscription ${subscription.name} is deleted with its unacknowledged messages, and ${subscription.deadLetterTopic} with ${subscription.parkingSubscription} and its parked dead letters`,
    });
  for (const topic of removedTopics.filter((topic) => !renamed.has(topic.name)))
    changes.push({
      resource: "topic",
      name: topic.name,
      consequence: "delete",
      fields: [],
      effect: `topic ${topic.name} is deleted with the messages it retains; a producer still publishing to it fails with NOT_FOUND`,
    });

  return { stack: current.stack, deployedKnown: deployed !== undefined, changes };
}

/** The refused changes of a plan. */
export function refusals(plan: Plan): PlannedChange[] {
  return plan.changes.filter((change) => change.consequence === "refused");
}
