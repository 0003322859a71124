/**
 * Brings the emulator in line with the declaration on every `npm start`: provision.ts creates
 * what is missing; this compares what already exists with what the declaration now says and
 * changes the difference, saying what it changed. A second start with the same declaration
 * changes nothing.
 *
 * Ack deadline, retry policy, dead-letter policy, exactly-once and the push endpoint are
 * updated in place, as `pulumi up` would. A subscription's topic, filter and ordering cannot
 * change in Pub/Sub (the emulator refuses a filter update too). The declaration names a
 * subscription after them (infra/model/resolve.ts), so a change to one names a new subscription,
 * which is created; the old one is reported as no longer declared and left as it is (locally
 * nothing migrates its backlog; in the cloud the program does, infra/gcp/subscription-migration.ts).
 * A subscription found under a declared name but with other settings (made by hand) is deleted
 * and created again, dropping its backlog.
 */
import type { PubSub, Subscription } from "@google-cloud/pubsub";
import type { ResolvedConsumer, ResolvedSystem } from "../../infra/model/types";
import { provision, subscriptionMetadata, type ProvisionOptions } from "./provision";
import { protoDurationSeconds } from "../../infra/model/duration";

type Metadata = NonNullable<Subscription["metadata"]>;

/** What a start changed in the emulator. */
export interface ReconcileReport {
  /** Full names of the topics and subscriptions created. */
  created: string[];
  /** Subscriptions changed in place, each with what changed (`ack deadline 60s → 600s`). */
  updated: { subscription: string; changes: string[] }[];
  /** Subscriptions deleted and created again, each with why. */
  recreated: { subscription: string; changes: string[] }[];
  /** Subscriptions in the emulator that the declaration no longer has; left as they are. */
  undeclared: string[];
}

/** `attributes.ce-type = "x"` reads better quoted; an absent filter is "none". */
function filterText(filter: string | null | undefined): string {
  return filter ? filter : "none";
}

/** Differences between an existing subscription and the settings the declaration gives it. */
function differences(
  existing: Metadata,
  wanted: ReturnType<typeof subscriptionMetadata>,
  topic: string,
): { replace: string[]; update: string[]; pushEndpoint?: string } {
  const replace: string[] = [];
  const update: string[] = [];
  if (existing.topic !== topic) replace.push(`topic ${existing.topic} → ${topic}`);
  if ((existing.filter ?? "") !== (wanted.filter ?? ""))
    replace.push(`filter ${filterText(existing.filter)} → ${filterText(wanted.filter)}`);
  if (Boolean(existing.enableMessageOrdering) !== Boolean(wanted.enableMessageOrdering))
    replace.push(
      `ordering ${existing.enableMessageOrdering ? "on" : "off"} → ${wanted.enableMessageOrdering ? "on" : "off"}`,
    );
  if (existing.ackDeadlineSeconds !== wanted.ackDeadlineSeconds)
    update.push(`ack deadline ${existing.ackDeadlineSeconds}s → ${wanted.ackDeadlineSeconds}s`);
  const [minNow, maxNow] = [
    protoDurationSeconds(existing.retryPolicy?.minimumBackoff),
    protoDurationSeconds(existing.retryPolicy?.maximumBackoff),
  ];
  const [minWanted, maxWanted] = [
    protoDurationSeconds(wanted.retryPolicy?.minimumBackoff),
    protoDurationSeconds(wanted.retryPolicy?.maximumBackoff),
  ];
  if (minNow !== minWanted || maxNow !== maxWanted)
    update.push(`retry backoff ${minNow}s..${maxNow}s → ${minWanted}s..${maxWanted}s`);
  const dlqNow = existing.deadLetterPolicy;
  const dlqWanted = wanted.deadLetterPolicy!;
  if (
    dlqNow?.deadLetterTopic !== dlqWanted.deadLetterTopic ||
    dlqNow?.maxDeliveryAttempts !== dlqWanted.maxDeliveryAttempts
  ) {
    update.push(
      `dead letters ${dlqNow?.deadLetterTopic ?? "none"} after ${dlqNow?.maxDeliveryAttempts ?? "-"} → ${dlqWanted.deadLetterTopic} after ${dlqWanted.maxDeliveryAttempts}`,
    );
  }
  if (Boolean(existing.enableExactlyOnceDelivery) !== Boolean(wanted.enableExactlyOnceDelivery))
    update.push(`exactly-once ${wanted.enableExactlyOnceDelivery ? "on" : "off"}`);
  if (Boolean(existing.retainAckedMessages) !== Boolean(wanted.retainAckedMessages))
    update.push(`retain acked messages ${wanted.retainAckedMessages ? "on" : "off"}`);
  // Pub/Sub reports its 7-day default when a subscription was created without a retention.
  const wantedRetention = wanted.messageRetentionDuration;
  const retentionWanted =
    typeof wantedRetention === "number" ? wantedRetention : protoDurationSeconds(wantedRetention);
  const retentionNow = protoDurationSeconds(existing.messageRetentionDuration) || 604_800;
  if (retentionNow !== retentionWanted)
    update.push(`message retention ${retentionNow}s → ${retentionWanted}s`);
  const endpointNow = existing.pushConfig?.pushEndpoint ?? "";
  const endpointWanted = wanted.pushConfig?.pushEndpoint ?? "";
  const result: { replace: string[]; update: string[]; pushEndpoint?: string } = {
    replace,
    update,
  };
  if (endpointNow !== endpointWanted) {
    update.push(
      endpointWanted
        ? `push endpoint ${endpointNow || "none (pull)"} → ${endpointWanted}`
        : "push → pull",
    );
    result.pushEndpoint = endpointWanted;
  }
  return result;
}

async function applyUpdate(
  subscription: Subscription,
  wanted: ReturnType<typeof subscriptionMetadata>,
  diff: ReturnType<typeof differences>,
): Promise<void> {
  const settings = diff.update.filter((change) => !change.startsWith("push"));
  if (settings.length > 0) {
    await subscription.setMetadata({
      ackDeadlineSeconds: wanted.ackDeadlineSeconds,
      retryPolicy: wanted.retryPolicy,
      deadLetterPolicy: wanted.deadLetterPolicy,
      enableExactlyOnceDelivery: Boolean(wanted.enableExactlyOnceDelivery),
      retainAckedMessages: Boolean(wanted.retainAckedMessages),
      messageRetentionDuration: wanted.messageRetentionDuration,
    });
  }
  if (diff.pushEndpoint !== undefined)
    await subscription.modifyPushConfig({ pushEndpoint: diff.pushEndpoint });
}

/**
 * Creates what is missing, updates what changed, recreates what cannot change.
 * @param options as for provision(); every consumer of `system` is reconciled.
 */
export async function reconcile(
  pubsub: PubSub,
  system: ResolvedSystem,
  options: Omit<ProvisionOptions, "consumers"> = {},
): Promise<ReconcileReport> {
  const [existing] = await pubsub.getSubscriptions();
  const byName = new Map(existing.map((subscription) => [subscription.name, subscription]));
  const report: ReconcileReport = { created: [], updated: [], recreated: [], undeclared: [] };

  const check = async (consumer: ResolvedConsumer): Promise<void> => {
    const subscription = byName.get(pubsub.subscription(consumer.subscription).name);
    if (subscription?.metadata === undefined) return;
    const wanted = subscriptionMetadata(pubsub, consumer, options);
    const diff = differences(subscription.metadata, wanted, pubsub.topic(consumer.topic).name);
    if (diff.replace.length > 0) {
      await subscription.delete();
      report.recreated.push({
        subscription: consumer.subscription,
        changes: [...diff.replace, ...diff.update],
      });
    } else if (diff.update.length > 0) {
      await applyUpdate(subscription, wanted, diff);
      report.updated.push({ subscription: consumer.subscription, changes: diff.update });
    }
  };
  await Promise.all(system.consumers.map(check));

  const created = await provision(pubsub, system, options);
  const recreated = new Set(report.recreated.map((r) => pubsub.subscription(r.subscription).name));
  report.created = created.created.filter((name) => !recreated.has(name));

  const declared = new Set(
    system.consumers.flatMap((consumer) =>
      [consumer.subscription, consumer.parkingSubscription].map(
        (name) => pubsub.subscription(name).name,
      ),
    ),
  );
  report.undeclared = existing
    .map((subscription) => subscription.name)
    .filter((name) => !declared.has(name));
  return report;
}

/** The report as lines for a person; empty when nothing changed. */
export function describeReconcile(report: ReconcileReport): string[] {
  const lines: string[] = [];
  const short = (name: string) => name.slice(name.lastIndexOf("/") + 1);
  if (report.created.length > 0) {
    const topics = report.created.filter((name) => name.includes("/topics/"));
    const deadLetterTopics = topics.filter((name) => name.endsWith("-dlq")).length;
    const subscriptions = report.created.length - topics.length;
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
    lines.push(
      `created ${plural(topics.length - deadLetterTopics, "topic")}, ${plural(deadLetterTopics, "dead-letter topic")} and ${plural(subscriptions, "subscription")}`,
    );
  }
  for (const { subscription, changes } of report.updated)
    lines.push(`updated ${subscription}: ${changes.join("; ")}`);
  for (const { subscription, changes } of report.recreated) {
    lines.push(
      `recreated ${subscription} (its backlog is gone): ${changes.join("; ")}; Pub/Sub cannot change a subscription's topic, filter or ordering in place, and this one had its declared name without its declared settings`,
    );
  }
  if (report.undeclared.length > 0)
    lines.push(
      `not in the declaration any more, left in the emulator: ${report.undeclared.map(short).join(", ")}`,
    );
  return lines;
}
