/**
 * Where `eventline replay` and `eventline backtest` write in the cloud, and who they run as.
 * The databases are the program's (infra/model/databases.ts: `replay`, `backtest-current`,
 * `backtest-alternative`, `replay-snapshots`), so a replay writes only where the program says
 * it may, and the account the tools run as (`ops-replay`, impersonated by whoever replays)
 * reads the event store, writes those databases, and touches nothing else: not the state
 * database the live consumers work in, not a topic.
 *
 * Republishing (`eventline replay --republish`) and seeking a subscription change what the live
 * system sees; they are not this account's to do (docs/deploy.md).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { REPLAY_TOOL_DATABASES } from "../model/databases";
import { firestoreDatabase } from "./firestore-database";
import { grantDatabase } from "./firestore-access";
import { accountId, type Platform } from "./platform";

export interface ReplayDatabasesArgs {
  /** Where the data lives; the event store's location, so reading it is local. */
  locationId: string;
  platform: Platform;
}

/** The replay tools' databases and their account. */
export class ReplayDatabases extends pulumi.ComponentResource {
  /** The account the replay tools run as. */
  readonly account: gcp.serviceaccount.Account;

  constructor(name: string, args: ReplayDatabasesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:ReplayDatabases", name, {}, opts);
    const { platform } = args;
    this.account = new gcp.serviceaccount.Account(
      `${name}-sa`,
      {
        accountId: accountId("ops", "replay"),
        project: platform.project,
        displayName: `Eventline replay and backtest (${platform.stack})`,
        description:
          "Impersonated by eventline replay and backtest: reads the event store, writes the replay databases.",
      },
      { parent: this },
    );
    const member = this.account.member;

    grantDatabase(
      `${name}-reads-event-store`,
      {
        member,
        database: platform.databases.eventStore,
        role: "roles/datastore.viewer",
        platform,
      },
      { parent: this },
    );
    for (const id of REPLAY_TOOL_DATABASES) {
      firestoreDatabase(
        `${name}-${id}`,
        { id, locationId: args.locationId, platform },
        {
          parent: this,
        },
      );
      grantDatabase(
        `${name}-writes-${id}`,
        { member, database: id, role: "roles/datastore.user", platform },
        { parent: this },
      );
    }
    this.registerOutputs({ account: this.account.email });
  }
}
