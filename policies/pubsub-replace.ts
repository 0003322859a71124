/**
 * A subscription replaced without a migration: the guard `eventline plan` applies
 * (infra/model/plan.ts), applied again to what the program is about to deploy. Pub/Sub cannot
 * change a subscription's name, topic, filter or message ordering; a change to any of them
 * replaces the subscription, which fails (409 ALREADY_EXISTS, its name is fixed) or, deleted
 * first, loses its unacknowledged backlog and what is published until the new one exists.
 * A replace the program migrates passes: the new subscription carries the name the program
 * derives from its topic, filter and ordering (which it pairs with a take-over and a
 * retirement), on the same topic, with ordering not turned on (plan.ts, subscriptionReplacement).
 *
 * The policy server gives a rule no previous state, so the stack's deployed declaration (its
 * `declaration` output) comes in as the rule's `deployed` setting: the preview workflow merges it
 * into the stack's pack config, and `npm run policy -- --deployed <file>` does the same offline.
 * Without it (a stack that has not deployed one yet) there is nothing to compare and the rule
 * passes. Values unknown during a preview (the topic of a topic created in the same update) are
 * compared once known.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import type { SubscriptionArgs } from "@pulumi/gcp/pubsub";
import type { Unwrap } from "@pulumi/pulumi";
import {
  DeclarationRecordError,
  parseDeclarationRecord,
  type DeclarationRecord,
  type SubscriptionRecord,
} from "../infra/model/declaration-record";
import { subscriptionReplacement } from "../infra/model/plan";
import { isParkingSubscription } from "./conventions";
import { SUBSCRIPTION } from "./pubsub-subscriptions";
import { forTypes, known, policyProxy, shortName, type RuleLevel } from "./rule";

type Subscription = Unwrap<SubscriptionArgs>;

/** The policy's name: the setting `deployed` is given under it in the pack config. */
export const SUBSCRIPTION_REPLACE = "pubsub-subscription-replace";

/** The label infra/gcp/consumer-subscription.ts gives a subscription: the consumer it belongs to. */
const CONSUMER_LABEL = "consumer";

interface ReplaceSettings {
  deployed: unknown;
}

/** The deployed declaration from the setting, checked as any outside input is; undefined when none is given. */
function deployedRecord(value: unknown): DeclarationRecord | undefined {
  if (value === null || value === undefined) return undefined;
  return parseDeclarationRecord(JSON.stringify(value), `${SUBSCRIPTION_REPLACE}.deployed`);
}

/** `{ value }` when the value is known (present or absent), undefined while it is unknown during a preview. */
function readKnown<T>(read: () => T): { value: T } | undefined {
  try {
    return { value: read() };
  } catch (err) {
    if (err instanceof policyProxy.UnknownValueError) return undefined;
    throw err;
  }
}

/** The deployed subscription this one is: the same consumer (its label), else the same Pub/Sub name. */
function deployedCounterpart(
  record: DeclarationRecord,
  sub: Subscription,
  resourceName: string,
): SubscriptionRecord | undefined {
  const consumer = known(() => sub.labels?.[CONSUMER_LABEL]);
  const name = known(() => sub.name) ?? resourceName;
  return (
    record.subscriptions.find((s) => s.consumer === consumer) ??
    record.subscriptions.find((s) => s.name === name)
  );
}

export function subscriptionReplace(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: SUBSCRIPTION_REPLACE,
    description:
      "A subscription's name, topic, filter and message ordering are not changed under a deployed subscription " +
      "without a migration: Pub/Sub cannot change them in place, and replacing the subscription fails or loses " +
      "its backlog (guards replace-without-migration and backlog-without-migration); a filter change or ordering " +
      "turned off under the name the program derives is migrated and passes. Fix: run eventline plan for " +
      "the stack and follow the fix it gives; give the rule the stack's deployed declaration as its `deployed` " +
      "setting (pulumi stack output declaration --json).",
    enforcementLevel: level,
    configSchema: {
      properties: {
        deployed: {
          type: ["object", "null"],
          default: null,
          description: "The stack's deployed declaration (its `declaration` output), or null.",
        },
      },
    },
    validateResource: forTypes<Subscription>([SUBSCRIPTION], (sub, args, report) => {
      if (isParkingSubscription(sub, args.name)) return;
      let record: DeclarationRecord | undefined;
      try {
        record = deployedRecord(args.getConfig<ReplaceSettings>().deployed);
      } catch (err) {
        if (!(err instanceof DeclarationRecordError)) throw err;
        report(`cannot compare with the deployed declaration: ${err.message}.`);
        return;
      }
      if (record === undefined) return;
      const before = deployedCounterpart(record, sub, args.name);
      if (before === undefined) return; // a new subscription: created beside what exists
      // A value unknown during the preview cannot be compared yet: it counts as unchanged until known.
      const name = readKnown(() => sub.name);
      const topic = readKnown(() => sub.topic);
      const filter = readKnown(() => sub.filter);
      const ordering = readKnown(() => sub.enableMessageOrdering);
      const filterNow = filter === undefined ? before.filter : filter.value || undefined;
      const change = subscriptionReplacement(before, {
        consumer: before.consumer,
        name: name === undefined ? before.name : (name.value ?? args.name),
        topic:
          topic === undefined || typeof topic.value !== "string"
            ? before.topic
            : shortName(topic.value),
        ...(filterNow !== undefined && { filter: filterNow }),
        ordering: ordering === undefined ? before.ordering : ordering.value === true,
      });
      // A replace the program migrates (take-over and retirement) passes; only a refusal reports.
      if (change?.consequence !== "refused") return;
      const refusal = change;
      const fields = refusal.fields.map((f) => `${f.field} ${f.from} → ${f.to}`).join("; ");
      report(
        `${fields}: ${refusal.effect}. Guards: ${refusal.guards!.join(", ")}. Fix: ${refusal.fix}.`,
      );
    }),
  };
}
