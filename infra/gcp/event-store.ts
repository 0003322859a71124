/**
 * The Firestore event store: the database every handler writes to, the composite indexes
 * replay and projections query with, and the TTL policy that expires idempotency records.
 * The database is a named one (`eventline:firestoreDatabase`, default `eventline`), so the
 * program never clashes with a project's existing `(default)` database; a stack that wants
 * to adopt `(default)` sets the key to it and imports the database (docs/deploy.md).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
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

/** The collection group of the runtime's idempotency records, `(consumer, event id)`. */
export const PROCESSED_COLLECTION_GROUP = "processed";
/** The timestamp field after which Firestore deletes an idempotency record. */
export const PROCESSED_EXPIRY_FIELD = "expireAt";

export interface EventStoreArgs {
  /**
   * Where the data lives: a Firestore location such as `europe-west1` or the multi-region
   * `eur3`. Fixed once created.
   */
  locationId: string;
  /** Project, stack, the database's name; `deleteProtection` refuses deleting the database (and its data). */
  platform: Platform;
}

/** The stack's Firestore database in native mode, its indexes and TTL policy. */
export class EventStore extends pulumi.ComponentResource {
  /** The database; every workload is told its name (FIRESTORE_DATABASE). */
  readonly database: gcp.firestore.Database;

  constructor(name: string, args: EventStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:EventStore", name, {}, opts);
    if (!/^[a-z0-9-]+$/.test(args.locationId)) {
      throw new Error(
        `EventStore ${name}: locationId "${args.locationId}" is not a Firestore location; use a region such as "europe-west1" or a multi-region such as "eur3"`,
      );
    }
    const { platform } = args;
    const project = platform.project;

    this.database = new gcp.firestore.Database(
      name,
      {
        name: platform.database,
        project,
        locationId: args.locationId,
        type: "FIRESTORE_NATIVE",
        deleteProtectionState: platform.deleteProtection
          ? "DELETE_PROTECTION_ENABLED"
          : "DELETE_PROTECTION_DISABLED",
        // Unprotected stacks are disposable: `pulumi destroy` removes the data with them.
        deletionPolicy: platform.deleteProtection ? "ABANDON" : "DELETE",
      },
      { parent: this },
    );

    for (const index of eventIndexes) {
      new gcp.firestore.Index(
        `${name}-${index.name}`,
        {
          project,
          database: this.database.name,
          collection: EVENTS_COLLECTION,
          queryScope: "COLLECTION",
          fields: index.fields.map((fieldPath) => ({ fieldPath, order: "ASCENDING" })),
        },
        { parent: this },
      );
    }

    new gcp.firestore.Field(
      `${name}-processed-ttl`,
      {
        project,
        database: this.database.name,
        collection: PROCESSED_COLLECTION_GROUP,
        field: PROCESSED_EXPIRY_FIELD,
        ttlConfig: {},
        // No single-field index on an ever-increasing timestamp: it would only create write hotspots.
        indexConfig: {},
      },
      { parent: this },
    );

    this.registerOutputs({ database: this.database.name });
  }
}
