/**
 * A consumer's subscription with everything dead-lettering needs, created together so that
 * no subscription exists without them: its own dead-letter topic, the parking subscription
 * that keeps what lands there, and the two grants the Pub/Sub service agent needs to move
 * a message from one to the other. Without both grants Pub/Sub silently keeps redelivering.
 *
 * And what migrates it when its topic, filter or ordering changes (subscription-migration.ts):
 * its name then changes (infra/model/resolve.ts), its resource keeps its logical name, so Pulumi
 * replaces it, creating the new one first; the old one is retained on delete, and the consumer's
 * take-over gives the new one its backlog, then its retirement (after the workload, see
 * {@link ConsumerSubscription.retireAfter}) deletes the old one once drained. The dead-letter topic
 * and the parking subscription belong to the consumer, not to one subscription: they keep their
 * names, and the letters parked there stay through a migration.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { toProtoDuration } from "../model/duration";
import type { ResolvedConsumer } from "../model/types";
import { pubsubLimits } from "../model/validate";
import { type Platform, pubsubServiceAgent } from "./platform";
import { SubscriptionRetirement, SubscriptionTakeOver } from "./subscription-migration";

/**
 * How long a parked dead letter is kept: the longest a Pub/Sub subscription keeps messages
 * (7 days), time to inspect and redrive after a week-end.
 */
export const PARKING_RETENTION_SECONDS = pubsubLimits.subscriptionRetentionSeconds.max;

/** Where Pub/Sub pushes, and who it says it is. */
export interface PushTarget {
  /** The HTTPS endpoint Pub/Sub POSTs each message to. */
  endpoint: pulumi.Input<string>;
  /** The service account whose OIDC token Pub/Sub attaches. */
  serviceAccountEmail: pulumi.Input<string>;
  /** The token's audience, which the receiving service checks (see `pushAudience`). */
  audience: pulumi.Input<string>;
}

export interface ConsumerSubscriptionArgs {
  /** The resolved consumer: names, filter, deadlines, retry, dead-lettering, ordering. */
  consumer: ResolvedConsumer;
  /** The topic to subscribe to (its name; pass the topic resource's output to order creation). */
  topic: pulumi.Input<string>;
  /** Project, stack and labels. */
  platform: Platform;
  /** Required for push consumers, refused for pull consumers. */
  push?: PushTarget;
}

function checkRange(
  name: string,
  field: string,
  value: number,
  limits: { min: number; max: number },
  fix: string,
): void {
  if (value < limits.min || value > limits.max) {
    throw new Error(
      `ConsumerSubscription ${name}: ${field} ${value} is outside ${limits.min}..${limits.max}; ${fix}`,
    );
  }
}

function checkArgs(name: string, { consumer, push }: ConsumerSubscriptionArgs): void {
  if (consumer.delivery === "push" && push === undefined) {
    throw new Error(
      `ConsumerSubscription ${name}: push is required for a push consumer; pass the Cloud Run service's URL and the push service account`,
    );
  }
  if (consumer.delivery === "pull" && push !== undefined) {
    throw new Error(
      `ConsumerSubscription ${name}: push was given for a pull consumer; drop it, or declare the consumer with delivery: "push"`,
    );
  }
  if (consumer.delivery === "push" && consumer.exactlyOnce) {
    throw new Error(
      `ConsumerSubscription ${name}: consumer.exactlyOnce is not available to push subscriptions; declare the consumer with delivery: "pull"`,
    );
  }
  checkRange(
    name,
    "consumer.ackDeadlineSeconds",
    consumer.ackDeadlineSeconds,
    pubsubLimits.ackDeadlineSeconds,
    'set ackDeadline between "10s" and "600s"',
  );
  checkRange(
    name,
    "consumer.retry.minBackoffSeconds",
    consumer.retry.minBackoffSeconds,
    pubsubLimits.backoffSeconds,
    'set retry.minBackoff between "0s" and "600s"',
  );
  checkRange(
    name,
    "consumer.retry.maxBackoffSeconds",
    consumer.retry.maxBackoffSeconds,
    pubsubLimits.backoffSeconds,
    'set retry.maxBackoff between "0s" and "600s"',
  );
  checkRange(
    name,
    "consumer.messageRetentionSeconds",
    consumer.messageRetentionSeconds,
    pubsubLimits.subscriptionRetentionSeconds,
    'set retention between "10m" and "7d"',
  );
  checkRange(
    name,
    "consumer.maxDeliveryAttempts",
    consumer.maxDeliveryAttempts,
    pubsubLimits.maxDeliveryAttempts,
    "set maxDeliveryAttempts between 5 and 100",
  );
}

/**
 * The subscription `consumer.name` on `topic`, dead-lettering to `consumer.deadLetterTopic`
 * after `consumer.maxDeliveryAttempts`, with `consumer.parkingSubscription` on that topic.
 * Neither subscription ever expires for inactivity: a quiet consumer keeps its messages.
 */
export class ConsumerSubscription extends pulumi.ComponentResource {
  /** The consumer's subscription. */
  readonly subscription: gcp.pubsub.Subscription;
  /** The consumer's own dead-letter topic. */
  readonly deadLetterTopic: gcp.pubsub.Topic;
  /** The subscription that keeps every dead letter until it is inspected or redriven. */
  readonly parkingSubscription: gcp.pubsub.Subscription;
  /** Gives a new subscription its predecessor's backlog; the workers take their subscription from it. */
  readonly takeOver: SubscriptionTakeOver;
  private readonly project: pulumi.Input<string>;
  private readonly subscriptionLogicalName: string;

  constructor(
    name: string,
    args: ConsumerSubscriptionArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("eventline:gcp:ConsumerSubscription", name, {}, opts);
    this.subscriptionLogicalName = name;
    checkArgs(name, args);
    const { consumer, platform, push } = args;
    this.project = platform.project;
    const agent = pubsubServiceAgent(platform);
    const labels = { ...platform.labels, consumer: consumer.name };

    this.deadLetterTopic = new gcp.pubsub.Topic(
      `${name}-dlq`,
      {
        name: consumer.deadLetterTopic,
        project: platform.project,
        labels: { ...labels, role: "dead-letter" },
        // Kept as long as parked: a redrive gone wrong can seek back and see them again.
        messageRetentionDuration: toProtoDuration(PARKING_RETENTION_SECONDS),
      },
      { parent: this },
    );
    this.parkingSubscription = new gcp.pubsub.Subscription(
      `${name}-dlq-parking`,
      {
        name: consumer.parkingSubscription,
        project: platform.project,
        topic: this.deadLetterTopic.name,
        labels: { ...labels, role: "dead-letter-parking" },
        messageRetentionDuration: toProtoDuration(PARKING_RETENTION_SECONDS),
        // Redrive tooling pulls in batches and republishes before acking.
        ackDeadlineSeconds: pubsubLimits.ackDeadlineSeconds.max,
        // A redrive that nacks (its target is still failing) is retried gently.
        retryPolicy: {
          minimumBackoff: toProtoDuration(consumer.retry.minBackoffSeconds),
          maximumBackoff: toProtoDuration(pubsubLimits.backoffSeconds.max),
        },
        expirationPolicy: { ttl: "" },
      },
      { parent: this },
    );

    this.subscription = new gcp.pubsub.Subscription(
      name,
      {
        name: consumer.subscription,
        project: platform.project,
        topic: args.topic,
        labels: { ...labels, role: "consumer" },
        ...(consumer.filter !== undefined && { filter: consumer.filter }),
        ackDeadlineSeconds: consumer.ackDeadlineSeconds,
        messageRetentionDuration: toProtoDuration(consumer.messageRetentionSeconds),
        retainAckedMessages: consumer.retainAckedMessages,
        retryPolicy: {
          minimumBackoff: toProtoDuration(consumer.retry.minBackoffSeconds),
          maximumBackoff: toProtoDuration(consumer.retry.maxBackoffSeconds),
        },
        deadLetterPolicy: {
          deadLetterTopic: this.deadLetterTopic.id,
          maxDeliveryAttempts: consumer.maxDeliveryAttempts,
        },
        enableExactlyOnceDelivery: consumer.exactlyOnce,
        enableMessageOrdering: consumer.ordering,
        expirationPolicy: { ttl: "" },
        ...(push !== undefined && {
          pushConfig: {
            pushEndpoint: push.endpoint,
            oidcToken: { serviceAccountEmail: push.serviceAccountEmail, audience: push.audience },
          },
        }),
      },
      // Replaced by a new one beside it (create first, the default) when its name changes; the
      // old one is the retirement's to delete once drained, not Pulumi's to delete at once.
      { parent: this, retainOnDelete: true },
    );
    this.takeOver = new SubscriptionTakeOver(
      `${name}-takeover`,
      { project: platform.project, subscription: this.subscription.name },
      { parent: this },
    );

    new gcp.pubsub.TopicIAMMember(
      `${name}-dlq-publisher`,
      {
        project: platform.project,
        topic: this.deadLetterTopic.name,
        role: "roles/pubsub.publisher",
        member: agent,
      },
      { parent: this },
    );
    new gcp.pubsub.SubscriptionIAMMember(
      `${name}-dlq-subscriber`,
      {
        project: platform.project,
        subscription: this.subscription.name,
        role: "roles/pubsub.subscriber",
        member: agent,
      },
      // A grant on a subscription goes with it: kept while the old subscription drains, and gone
      // when the retirement deletes it (Pulumi would delete the replaced grant after that, on a
      // subscription that no longer exists).
      { parent: this, retainOnDelete: true },
    );

    this.registerOutputs({
      subscription: this.takeOver.subscription,
      deadLetterTopic: this.deadLetterTopic.name,
      parkingSubscription: this.parkingSubscription.name,
    });
  }

  /**
   * Declares the retirement of the consumer's previous subscription after `workload` (its
   * Deployment, or for a push consumer its push subscription): it runs once the workers pull the
   * new one, waits until they have drained the old one, and deletes it.
   */
  retireAfter(workload: pulumi.Resource[]): SubscriptionRetirement {
    return new SubscriptionRetirement(
      `${this.subscriptionLogicalName}-retirement`,
      {
        project: this.project,
        subscription: this.takeOver.subscription,
        takenOverAt: this.takeOver.takenOverAt,
      },
      { parent: this, dependsOn: workload },
    );
  }
}
