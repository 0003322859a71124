/**
 * Firestore rules: the event store (`events/{id}`, docs/requirements.md PL-20) is the system's memory, so
 * production's database cannot be deleted by a stray `pulumi destroy`, and replay's queries have the composite
 * indexes they need (Firestore rejects an unindexed composite query instead of scanning).
 */
import type {
  PolicyResource,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { DatabaseArgs } from "@pulumi/gcp/firestore";
import type { Unwrap } from "@pulumi/pulumi";
import { forTypes, known, type RuleLevel } from "./rule";

const DATABASE = "gcp:firestore/database:Database";
const INDEX = "gcp:firestore/index:Index";
type Database = Unwrap<DatabaseArgs>;

export function firestoreDeleteProtection(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "firestore-delete-protection",
    description:
      "The Firestore database has delete protection, so neither a destroy nor a replacement can drop the event " +
      "store. Fix: set deleteProtectionState: DELETE_PROTECTION_ENABLED. Enforced where the stack's policy config " +
      "leaves it on (prod); dev disables it so dev stacks can be torn down.",
    enforcementLevel: level,
    validateResource: forTypes<Database>([DATABASE], (database, _args, report) => {
      const state = database.deleteProtectionState ?? "DELETE_PROTECTION_DISABLED";
      if (state !== "DELETE_PROTECTION_ENABLED") report(`deleteProtectionState is ${state}.`);
    }),
  };
}

/** The event store's collection, and the composite indexes replay queries by (each field, then time). */
export const EVENT_COLLECTION = "events";
export const REPLAY_INDEXES: readonly (readonly string[])[] = [
  ["type", "time"],
  ["correlationId", "time"],
  ["source", "time"],
];

/** The field paths of an index in order, without the `__name__` tiebreaker Firestore may add. */
function fieldPathsOf(index: PolicyResource): string[] | undefined {
  const fields = known(() => index.props["fields"] as { fieldPath?: string }[] | undefined);
  if (fields === undefined) return undefined;
  return fields
    .map((_, i) => known(() => fields[i]?.fieldPath) ?? "")
    .filter((path) => path !== "__name__");
}

export function firestoreReplayIndexes(level: RuleLevel): StackValidationPolicy {
  return {
    name: "firestore-replay-indexes",
    description:
      `Replay reads the event store by type, by correlation id and by source, each in time order, so the ` +
      `collection "${EVENT_COLLECTION}" has composite indexes (type, time), (correlationId, time) and ` +
      "(source, time). Fix: declare a gcp.firestore.Index for each missing one. Applies to stacks that declare " +
      "Firestore resources.",
    enforcementLevel: level,
    validateStack: (args, report) => {
      const firestore = args.resources.filter((r) => r.type === DATABASE || r.type === INDEX);
      if (firestore.length === 0) return;
      const declared = firestore
        .filter((r) => r.type === INDEX && known(() => r.props["collection"]) === EVENT_COLLECTION)
        .map(fieldPathsOf)
        .filter((paths): paths is string[] => paths !== undefined)
        .map((paths) => paths.join(","));
      // Reported on the database, where the missing indexes belong, when the stack declares one.
      const database = firestore.find((r) => r.type === DATABASE)?.urn;
      for (const wanted of REPLAY_INDEXES) {
        if (!declared.includes(wanted.join(","))) {
          report(
            `no composite index on ${EVENT_COLLECTION} over (${wanted.join(", ")}).`,
            database,
          );
        }
      }
    },
  };
}
