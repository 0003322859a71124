/**
 * One Firestore database of the stack, in native mode, as every database the program creates
 * is made: where the stack's config puts them, and refusing deletion (and kept by `pulumi
 * destroy`) where the stack protects its data. Databases are named ones, never `(default)`
 * unless a stack adopts it, so the program never clashes with a project's existing database.
 */
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import type { Platform } from "./platform";

export interface FirestoreDatabaseArgs {
  /** The database id. */
  id: string;
  /**
   * Where the data lives: a Firestore location such as `europe-west1` or the multi-region
   * `eur3`. Fixed once created.
   */
  locationId: string;
  /** Project and delete protection. */
  platform: Platform;
}

/** @throws when the location cannot be a Firestore location: nothing is created then. */
export function firestoreDatabase(
  name: string,
  args: FirestoreDatabaseArgs,
  opts?: pulumi.CustomResourceOptions,
): gcp.firestore.Database {
  if (!/^[a-z0-9-]+$/.test(args.locationId)) {
    throw new Error(
      `Firestore database ${name}: locationId "${args.locationId}" is not a Firestore location; use a region such as "europe-west1" or a multi-region such as "eur3"`,
    );
  }
  const { platform } = args;
  return new gcp.firestore.Database(
    name,
    {
      name: args.id,
      project: platform.project,
      locationId: args.locationId,
      type: "FIRESTORE_NATIVE",
      deleteProtectionState: platform.deleteProtection
        ? "DELETE_PROTECTION_ENABLED"
        : "DELETE_PROTECTION_DISABLED",
      // Unprotected stacks are disposable: `pulumi destroy` removes the data with them.
      deletionPolicy: platform.deleteProtection ? "ABANDON" : "DELETE",
    },
    opts,
  );
}
