/**
 * The event store: a Firestore database of its own (`eventline:eventStoreDatabase`, default
 * `eventline-events`) holding `events/`, which the archivers alone append to and the replay
 * tools only read (infra/model/databases.ts), the composite indexes replay queries it with, and
 * the fields no query reads left unindexed.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { firestoreDatabase } from "./firestore-database";
import type { Platform } from "./platform";

/** The collection the archivers append every event to (`events/{id}`). */
export const EVENTS_COLLECTION = "events";

/**
 * The queries replay and projections run on `events`: by type, by correlation (one causal
 * chain), by source and by subject (one entity), each in time order.
 */
export const eventIndexes = [
  { name: "by-type", fields: ["type", "time"] },
  { name: "by-correlation", fields: ["correlationId", "time"] },
  { name: "by-source", fields: ["source", "time"] },
  { name: "by-subject", fields: ["subject", "time"] },
] as const;

/**
 * Firestore ends every composite index with `__name__` (the document id), in the direction of the
 * index's last field, whether the index was created with it or not, and reads it back that way.
 * An index declared without it therefore differs from what the provider reads on every preview,
 * and `fields` cannot change in place: each preview would plan to replace every index. Declaring
 * it as Firestore stores it keeps previews empty; an `ignoreChanges` on `fields` would do that too
 * but would also hide a real change of the index.
 */
export function indexFields(
  fields: readonly string[],
): { fieldPath: string; order: "ASCENDING" | "DESCENDING" }[] {
  return [...fields, "__name__"].map((fieldPath) => ({ fieldPath, order: "ASCENDING" }));
}

export interface EventStoreArgs {
  /** Where the data lives (see FirestoreDatabaseArgs.locationId). Fixed once created. */
  locationId: string;
  /** Project, the database's name (`databases.eventStore`), delete protection. */
  platform: Platform;
}

/**
 * Fields of `events/` that no query reads: an event's payload (a map) and its encoding (bytes),
 * the bulk of it. Firestore indexes every field by itself, every field inside a map too, unless
 * told not to; indexing these would cost every append write time and storage for nothing.
 */
export const UNINDEXED_EVENT_FIELDS = ["payload", "raw"] as const;

/** The event store's database in native mode, its indexes, and its fields left unindexed. */
export class EventStore extends pulumi.ComponentResource {
  /** The database; archivers are told its name (FIRESTORE_EVENT_STORE_DATABASE). */
  readonly database: gcp.firestore.Database;

  constructor(name: string, args: EventStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:EventStore", name, {}, opts);
    const { platform } = args;
    this.database = firestoreDatabase(
      name,
      { id: platform.databases.eventStore, locationId: args.locationId, platform },
      { parent: this },
    );
    for (const index of eventIndexes) {
      new gcp.firestore.Index(
        `${name}-${index.name}`,
        {
          project: platform.project,
          database: this.database.name,
          collection: EVENTS_COLLECTION,
          queryScope: "COLLECTION",
          fields: indexFields(index.fields),
        },
        { parent: this },
      );
    }
    for (const field of UNINDEXED_EVENT_FIELDS)
      new gcp.firestore.Field(
        `${name}-${field}-unindexed`,
        {
          project: platform.project,
          database: this.database.name,
          collection: EVENTS_COLLECTION,
          field,
          // An empty configuration disables the field's single-field indexes.
          indexConfig: {},
        },
        { parent: this },
      );
    this.registerOutputs({ database: this.database.name });
  }
}
