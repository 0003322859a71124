/**
 * The least privilege a handler's identity holds, the same wherever it runs: publish to the
 * topics of the events its contract emits, read and write its one Firestore database (an
 * archiver the event store, any other consumer the state database: idempotency records,
 * projections, outboxes), publish to its own dead-letter topic (the runtime dead-letters
 * permanent failures itself), for pull consumers pull its subscription, and write its spans to
 * Cloud Trace (trace-access.ts: that role exists only on the project, and reads nothing).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { grantDatabase } from "./firestore-access";
import type { Platform } from "./platform";
import { grantTraceWriting } from "./trace-access";

export interface HandlerPermissionsArgs {
  /** The IAM member the grants go to, e.g. `serviceAccount:run-email@….iam.gserviceaccount.com`. */
  member: pulumi.Input<string>;
  /**
   * The topics the handler publishes to, declared name → Pub/Sub topic name. Derived from
   * the contract's `emits`; empty for handlers that emit nothing.
   */
  emitsTo: Readonly<Record<string, pulumi.Input<string>>>;
  /** The consumer's dead-letter topic. */
  deadLetterTopic: pulumi.Input<string>;
  /** The one Firestore database it reads and writes (consumerDatabase in ./firestore-access). */
  database: string;
  /** The subscription a pull consumer pulls from; leave out for push consumers. */
  pullsFrom?: pulumi.Input<string>;
  /** Project and labels. */
  platform: Platform;
}

/** The handler's grants, each a separate IAM member so no other principal is touched. */
export class HandlerPermissions extends pulumi.ComponentResource {
  constructor(name: string, args: HandlerPermissionsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:HandlerPermissions", name, {}, opts);
    const { member, platform } = args;
    const project = platform.project;

    for (const [declared, topic] of Object.entries(args.emitsTo)) {
      new gcp.pubsub.TopicIAMMember(
        `${name}-publishes-${declared}`,
        { project, topic, role: "roles/pubsub.publisher", member },
        { parent: this },
      );
    }
    new gcp.pubsub.TopicIAMMember(
      `${name}-dead-letters`,
      { project, topic: args.deadLetterTopic, role: "roles/pubsub.publisher", member },
      { parent: this },
    );
    grantTraceWriting(`${name}-traces`, member, platform, { parent: this });
    grantDatabase(
      `${name}-firestore`,
      { member, database: args.database, role: "roles/datastore.user", platform },
      { parent: this },
    );
    if (args.pullsFrom !== undefined) {
      new gcp.pubsub.SubscriptionIAMMember(
        `${name}-pulls`,
        { project, subscription: args.pullsFrom, role: "roles/pubsub.subscriber", member },
        // Goes with the subscription: the workers keep it on the one they drain during a
        // migration, and the retirement deletes both (infra/gcp/subscription-migration.ts).
        { parent: this, retainOnDelete: true },
      );
    }

    this.registerOutputs({});
  }
}
