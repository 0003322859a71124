/**
 * The conventions the pack needs from the program to tell dead-letter plumbing apart from ordinary topics and
 * subscriptions. A dead-letter topic carries no schema (the runtime parks undecodable messages there), and its
 * parking subscription has no dead-letter policy of its own (there is nowhere further to send a message).
 *
 * A resource is recognised by its `role` label (preferred: it survives renames and autonaming), or else
 * by the names the model derives (infra/model/resolve.ts): `<consumer>-dlq` for the topic and
 * `<consumer>-dlq-parking` for its parking subscription, read from the Pub/Sub `name` input or, when the program
 * leaves that to autonaming, the Pulumi resource name. The stack policy `pubsub-dead-letter-parking` checks that
 * whatever claims to be parking really subscribes to a dead-letter topic, so neither convention is a loophole.
 *
 * Pull workers are told apart from other Deployments (the custom metrics adapter) by the standard label
 * `app.kubernetes.io/component`, which infra/k8s/pull-worker.ts sets to `pull-worker` (or `archiver`).
 */
import { known } from "./rule";

/** The label that says what part a Pub/Sub resource plays (infra/gcp/consumer-subscription.ts sets it). */
export const ROLE_LABEL = "role";
/** `role` of a consumer's dead-letter topic. */
export const DEAD_LETTER_TOPIC_ROLE = "dead-letter";
/** `role` of the subscription that keeps what lands on a dead-letter topic. */
export const PARKING_ROLE = "dead-letter-parking";

const deadLetterTopicName = /-dlq$/;
const parkingSubscriptionName = /-dlq-parking$/;

interface Labelled {
  name?: string;
  labels?: Record<string, string>;
}

function hasRole(props: Labelled, name: string, role: string, pattern: RegExp): boolean {
  if (known(() => props.labels?.[ROLE_LABEL]) === role) return true;
  const pubsubName = known(() => props.name);
  return pattern.test(typeof pubsubName === "string" ? pubsubName : name);
}

/** True for a dead-letter topic: labelled `role: dead-letter`, or named `<consumer>-dlq`. */
export function isDeadLetterTopic(props: Labelled, resourceName: string): boolean {
  return hasRole(props, resourceName, DEAD_LETTER_TOPIC_ROLE, deadLetterTopicName);
}

/** True for a parking subscription: labelled `role: dead-letter-parking`, or named `<consumer>-dlq-parking`. */
export function isParkingSubscription(props: Labelled, resourceName: string): boolean {
  return hasRole(props, resourceName, PARKING_ROLE, parkingSubscriptionName);
}

/**
 * The Pub/Sub service agent, `service-<project number>@gcp-sa-pubsub.iam.gserviceaccount.com`: dead-lettering
 * needs it to publish to the dead-letter topic and to acknowledge on the source subscription.
 */
export const PUBSUB_SERVICE_AGENT =
  /^serviceAccount:service-\d+@gcp-sa-pubsub\.iam\.gserviceaccount\.com$/;

/** The label that says what a Kubernetes workload is, and its values on the system's pull workers. */
export const COMPONENT_LABEL = "app.kubernetes.io/component";
export const PULL_WORKER_COMPONENTS: readonly string[] = ["pull-worker", "archiver"];

/** True for a Deployment that runs a Pub/Sub pull consumer. */
export function isPullWorker(metadata: { labels?: Record<string, string> } | undefined): boolean {
  const component = known(() => metadata?.labels?.[COMPONENT_LABEL]);
  return component !== undefined && PULL_WORKER_COMPONENTS.includes(component);
}
