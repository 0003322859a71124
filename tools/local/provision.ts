/**
 * Creates the resolved declaration's Pub/Sub resources in the emulator: every topic, each
 * consumer's subscription (dead-letter policy, retry policy, filter, ack deadline, ordering),
 * its dead-letter topic and the parking subscription that keeps what lands there. What the
 * Pulumi program creates in the cloud, created the same way locally, so local runs behave
 * like production.
 *
 * The emulator accepts filters and dead-letter policies but applies neither; the runtime does
 * both itself. The dead-letter policy still matters here: without it the emulator reports no
 * delivery attempts. Creation is idempotent: what exists is left as it is.
 */
import type { PubSub } from "@google-cloud/pubsub";
import type { ResolvedConsumer, ResolvedSystem } from "../../infra/model/types";

/** gRPC ALREADY_EXISTS: the resource is there from an earlier run. */
const ALREADY_EXISTS = 6;

export interface ProvisionOptions {
  /** Consumers to create subscriptions for. Default: every consumer, archivers included. */
  consumers?: readonly string[];
  /**
   * Redelivery backoff for every subscription, in seconds (fractions allowed). Default: each
   * consumer's declared retry. Tests and smoke runs shorten it so retries do not wait 10 s.
   */
  retry?: { minBackoffSeconds: number; maxBackoffSeconds: number };
  /**
   * Push endpoints by consumer name. A push consumer listed here gets a push subscription to
   * that URL; every other consumer gets a pull subscription (the local runtime pulls them).
   * Default: none.
   */
  pushEndpoints?: Readonly<Record<string, string>>;
}

/** What {@link provision} created, by full resource name; existing resources are not listed. */
export interface ProvisionReport {
  created: string[];
}

/** A duration in seconds as the protobuf Duration the Pub/Sub API takes. */
function duration(seconds: number): { seconds: number; nanos: number } {
  const whole = Math.floor(seconds);
  return { seconds: whole, nanos: Math.round((seconds - whole) * 1e9) };
}

function isAlreadyExists(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === ALREADY_EXISTS;
}

async function createTopic(pubsub: PubSub, name: string, report: ProvisionReport): Promise<void> {
  try {
    await pubsub.createTopic(name);
    report.created.push(pubsub.topic(name).name);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

async function createSubscription(
  pubsub: PubSub,
  topic: string,
  name: string,
  metadata: Parameters<PubSub["createSubscription"]>[2],
  report: ProvisionReport,
): Promise<void> {
  try {
    await pubsub.createSubscription(topic, name, metadata);
    report.created.push(pubsub.subscription(name).name);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

/** The settings a consumer's subscription gets (also what tools/local/reconcile.ts compares an existing one with). */
export function subscriptionMetadata(
  pubsub: PubSub,
  consumer: ResolvedConsumer,
  options: ProvisionOptions = {},
): NonNullable<Parameters<PubSub["createSubscription"]>[2]> {
  const retry = options.retry ?? consumer.retry;
  const endpoint =
    consumer.delivery === "push" ? options.pushEndpoints?.[consumer.name] : undefined;
  return {
    ackDeadlineSeconds: consumer.ackDeadlineSeconds,
    deadLetterPolicy: {
      deadLetterTopic: pubsub.topic(consumer.deadLetterTopic).name,
      maxDeliveryAttempts: consumer.maxDeliveryAttempts,
    },
    retryPolicy: {
      minimumBackoff: duration(retry.minBackoffSeconds),
      maximumBackoff: duration(retry.maxBackoffSeconds),
    },
    ...(consumer.filter !== undefined && { filter: consumer.filter }),
    enableMessageOrdering: consumer.ordering,
    ...(consumer.exactlyOnce && { enableExactlyOnceDelivery: true }),
    // As in the cloud, so `eventline seek` can rewind a local subscription to a time.
    retainAckedMessages: consumer.retainAckedMessages,
    messageRetentionDuration: duration(consumer.messageRetentionSeconds),
    ...(endpoint !== undefined && { pushConfig: { pushEndpoint: endpoint } }),
  };
}

async function provisionConsumer(
  pubsub: PubSub,
  consumer: ResolvedConsumer,
  options: ProvisionOptions,
  report: ProvisionReport,
): Promise<void> {
  await createTopic(pubsub, consumer.deadLetterTopic, report);
  await createSubscription(
    pubsub,
    consumer.deadLetterTopic,
    consumer.parkingSubscription,
    {},
    report,
  );
  await createSubscription(
    pubsub,
    consumer.topic,
    consumer.subscription,
    subscriptionMetadata(pubsub, consumer, options),
    report,
  );
}

/**
 * Creates the topics and the selected consumers' subscriptions in the Pub/Sub emulator the
 * client points at.
 * @throws Error naming consumers the declaration does not have.
 */
export async function provision(
  pubsub: PubSub,
  system: ResolvedSystem,
  options: ProvisionOptions = {},
): Promise<ProvisionReport> {
  const selected = options.consumers ?? system.consumers.map((consumer) => consumer.name);
  const unknown = selected.filter(
    (name) => !system.consumers.some((consumer) => consumer.name === name),
  );
  if (unknown.length > 0)
    throw new Error(`provision: no consumer named ${unknown.join(", ")} in the declaration`);
  const report: ProvisionReport = { created: [] };
  await Promise.all(system.topics.map((topic) => createTopic(pubsub, topic.name, report)));
  const consumers = system.consumers.filter((consumer) => selected.includes(consumer.name));
  await Promise.all(
    consumers.map((consumer) => provisionConsumer(pubsub, consumer, options, report)),
  );
  return report;
}
