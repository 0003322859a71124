/**
 * Who may touch which Firestore database. Firestore has no IAM policy per database: a role is
 * granted on the project, with an IAM condition that names the one database it applies to,
 * `resource.name == "projects/<project>/databases/<database>"` (Firestore's "Configure
 * per-database access permissions"). Every Firestore grant the program makes goes through
 * {@link grantDatabase}, so none is ever project-wide; the policy pack refuses one that is
 * (policies/iam-scope.ts).
 *
 * Which database a consumer uses is decided once, by {@link consumerDatabase}: the program
 * tells the runtime that database (its setting) and grants the consumer's account that
 * database, from the same answer.
 */
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { databaseConditionExpression } from "../model/databases";
import { ARCHIVER_HANDLER } from "../model/resolve";
import type { SettingName } from "../model/settings";
import type { ResolvedConsumer } from "../model/types";
import type { Platform } from "./platform";

/** The Firestore roles the program grants: read and write, or read only. */
export type FirestoreRole = "roles/datastore.user" | "roles/datastore.viewer";

/** A consumer's database, and the setting its runtime reads it from. */
export interface ConsumerDatabase {
  setting: Extract<SettingName, "FIRESTORE_EVENT_STORE_DATABASE" | "FIRESTORE_STATE_DATABASE">;
  database: string;
}

/**
 * The one database `consumer` reads and writes: an archiver appends to the event store, every
 * other consumer keeps its projections, processed records and outbox in the state database.
 */
export function consumerDatabase(consumer: ResolvedConsumer, platform: Platform): ConsumerDatabase {
  return consumer.handler === ARCHIVER_HANDLER
    ? { setting: "FIRESTORE_EVENT_STORE_DATABASE", database: platform.databases.eventStore }
    : { setting: "FIRESTORE_STATE_DATABASE", database: platform.databases.state };
}

export interface DatabaseGrantArgs {
  /** The IAM member, e.g. `serviceAccount:wrk-email-worker@….iam.gserviceaccount.com`. */
  member: pulumi.Input<string>;
  /** The database id. */
  database: string;
  role: FirestoreRole;
  platform: Platform;
}

/** Grants `role` on `database` alone: a project IAM member whose condition names the database. */
export function grantDatabase(
  name: string,
  args: DatabaseGrantArgs,
  opts?: pulumi.CustomResourceOptions,
): gcp.projects.IAMMember {
  const { platform, database, role } = args;
  return new gcp.projects.IAMMember(
    name,
    {
      project: platform.project,
      role,
      member: args.member,
      condition: {
        title: `database ${database}`,
        description: `${role} on the Firestore database ${database} only`,
        expression: databaseConditionExpression(platform.project, database),
      },
    },
    opts,
  );
}
