/**
 * The consumers' state: a Firestore database of its own (`eventline:stateDatabase`, default
 * `eventline`) holding what consumers keep (projections, their processed records
 * `consumers/{c}/processed/*`, outboxes, adapters' `outbound/`), which every consumer but the
 * archivers reads and writes, and the TTL policy that expires processed records.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { firestoreDatabase } from "./firestore-database";
import type { Platform } from "./platform";

/** The collection group of the runtime's idempotency records, `(consumer, event id)`. */
export const PROCESSED_COLLECTION_GROUP = "processed";
/** The timestamp field after which Firestore deletes an idempotency record. */
export const PROCESSED_EXPIRY_FIELD = "expireAt";

export interface StateStoreArgs {
  /** Where the data lives (see FirestoreDatabaseArgs.locationId). Fixed once created. */
  locationId: string;
  /** Project, the database's name (`databases.state`), delete protection. */
  platform: Platform;
}

/** The state database in native mode and its TTL policy. */
export class StateStore extends pulumi.ComponentResource {
  /** The database; consumers are told its name (FIRESTORE_STATE_DATABASE). */
  readonly database: gcp.firestore.Database;

  constructor(name: string, args: StateStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:StateStore", name, {}, opts);
    const { platform } = args;
    this.database = firestoreDatabase(
      name,
      { id: platform.databases.state, locationId: args.locationId, platform },
      { parent: this },
    );
    new gcp.firestore.Field(
      `${name}-processed-ttl`,
      {
        project: platform.project,
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
