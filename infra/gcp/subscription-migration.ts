/**
 * Moving a consumer from one subscription to another without losing its backlog: what a
 * replace-only change (filter, ordering) needs, since Pub/Sub cannot change those fields of a
 * subscription in place.
 *
 * - **Take over** (when the new subscription is created): snapshot the old subscription and seek
 *   the new one to it. Pub/Sub copies the snapshot's acknowledgement state to any subscription of
 *   the same topic, so the new one holds the old one's unacknowledged messages, and everything
 *   published since. What both deliver is applied once: the processed records belong to the
 *   consumer, not to its subscription.
 * - **Retire** (when the old subscription goes): only once it is drained, i.e. has delivered
 *   nothing for longer than a nacked message waits (its maximum backoff) and a lease of a worker
 *   that died lasts (its ack deadline); while it still delivers a message, the retirement is
 *   refused and the old subscription stays.
 *
 * Refused before anything changes: a move to another topic (a snapshot only seeks subscriptions of
 * its own topic), and turning ordering on (Pub/Sub answers FAILED_PRECONDITION to seeking an
 * ordered subscription to an unordered one's snapshot, since it may redeliver out of order; the
 * emulator does the same). Turning ordering off seeks fine.
 *
 * The Pub/Sub emulator accepts the seek but does not copy another subscription's backlog: on the
 * emulator the take-over moves nothing, and only draining the old subscription keeps its messages.
 *
 * `SubscriptionMigration` wraps both in a Pulumi dynamic resource: created with the new
 * subscription, deleted (the retirement) when the old one is no longer needed.
 */
import type * as PubSubModule from "@google-cloud/pubsub";
import type { PubSub } from "@google-cloud/pubsub";
import * as pulumi from "@pulumi/pulumi";
import { protoDurationSeconds } from "../model/duration";

/**
 * The client, loaded where it is used: Pulumi serializes a dynamic provider's functions with what
 * they reference and runs them in its own process, where a `require` call is kept as it is.
 */
function pubsubModule(): typeof PubSubModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("@google-cloud/pubsub") as typeof PubSubModule;
}

const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const code = (err: unknown): number | undefined => (err as { code?: number } | null)?.code;

/** A migration Pub/Sub cannot do, or not yet: the message says why and what to do. */
export class MigrationRefused extends Error {
  override readonly name = "MigrationRefused";
}

export interface Migration {
  /** The subscription the consumer is leaving (short name). */
  from: string;
  /** The subscription it moves to, already created (short name). */
  to: string;
}

/** The snapshot a take-over uses: named after the subscription it fills, so a retried take-over finds it. */
export function takeOverSnapshot(to: string): string {
  return `takeover-${to}`.slice(0, 255);
}

/**
 * Gives `to` the unacknowledged backlog of `from`: a snapshot of `from`, a seek of `to` to it,
 * then the snapshot deleted. Safe to run again after a failure.
 * @throws MigrationRefused for another topic, for ordering turned on, or when `from` is gone.
 */
export async function takeOverBacklog(pubsub: PubSub, { from, to }: Migration): Promise<void> {
  const metadata = async (name: string) => {
    try {
      return (await pubsub.subscription(name).getMetadata())[0];
    } catch (err) {
      if (code(err) === NOT_FOUND)
        throw new MigrationRefused(`subscription ${name} does not exist; nothing to migrate`);
      throw err;
    }
  };
  const [old, next] = await Promise.all([metadata(from), metadata(to)]);
  if (old.topic !== next.topic)
    throw new MigrationRefused(
      `${from} is on ${old.topic} and ${to} on ${next.topic}: a snapshot only seeks subscriptions of its own topic, so the backlog cannot move; declare a new consumer on the new topic and remove ${from} once drained`,
    );
  if (!old.enableMessageOrdering && next.enableMessageOrdering)
    throw new MigrationRefused(
      `${to} orders messages and ${from} does not: Pub/Sub refuses to seek an ordered subscription to an unordered one's snapshot (FAILED_PRECONDITION), since it may redeliver out of order; drain ${from} (stop its topic's producers until its backlog is 0) before turning ordering on`,
    );
  const name = takeOverSnapshot(to);
  try {
    await pubsub.subscription(from).createSnapshot(name);
  } catch (err) {
    // An earlier attempt took it and failed after: its snapshot still holds the backlog.
    if (code(err) !== ALREADY_EXISTS) throw err;
  }
  await pubsub.subscription(to).seek(name);
  await pubsub.snapshot(name).delete();
}

/**
 * How long `from` must deliver nothing before it counts as drained: a nacked message is invisible
 * for up to the retry policy's maximum backoff, and one leased to a worker that died for up to the
 * ack deadline, so an empty pull proves nothing sooner. Pub/Sub's defaults when unset: 600 s, 10 s.
 */
export async function quietWindowSeconds(pubsub: PubSub, from: string): Promise<number> {
  const [metadata] = await pubsub.subscription(from).getMetadata();
  const backoff = metadata.retryPolicy
    ? protoDurationSeconds(metadata.retryPolicy.maximumBackoff) || 600
    : 0;
  return Math.max(backoff, metadata.ackDeadlineSeconds || 10) + 1;
}

/**
 * Deletes `from` once it is drained: it must deliver nothing for its whole quiet window (see
 * {@link quietWindowSeconds}); a message it delivers meanwhile refuses the retirement and is
 * released at once for its workers. Its workers should have stopped first (a stopping worker
 * releases what it held). Deleting one that is gone is done.
 * @param options.pollMs how often to look. Default 250 ms.
 * @throws MigrationRefused while `from` still delivers messages.
 */
export async function retireSubscription(
  pubsub: PubSub,
  from: string,
  options: { pollMs?: number } = {},
): Promise<void> {
  const subscription = pubsub.subscription(from);
  const { v1 } = pubsubModule();
  const subscriber = new v1.SubscriberClient(
    (pubsub as unknown as { options: ConstructorParameters<typeof v1.SubscriberClient>[0] })
      .options,
  );
  try {
    const quietUntil = Date.now() + (await quietWindowSeconds(pubsub, from)) * 1000;
    for (;;) {
      const [response] = await subscriber.pull({
        subscription: subscription.name,
        maxMessages: 10,
        returnImmediately: true,
      });
      const held = (response.receivedMessages ?? []).map((m) => m.ackId!);
      if (held.length > 0) {
        await subscriber.modifyAckDeadline({
          subscription: subscription.name,
          ackIds: held,
          ackDeadlineSeconds: 0,
        });
        throw new MigrationRefused(
          `${from} still delivers messages: its workers have not drained it yet; it is kept, retire it again once its backlog is 0`,
        );
      }
      if (Date.now() >= quietUntil) break;
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
    }
    await subscription.delete();
  } catch (err) {
    if (code(err) === NOT_FOUND) return;
    throw err;
  } finally {
    await subscriber.close();
  }
}

interface MigrationInputs extends Migration {
  project: string;
}

/** The dynamic provider: a take-over on create, a retirement on delete; nothing changes in place. */
export const subscriptionMigrationProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: MigrationInputs) {
    const pubsub = new (pubsubModule().PubSub)({ projectId: inputs.project });
    try {
      await takeOverBacklog(pubsub, inputs);
    } finally {
      await pubsub.close();
    }
    return { id: `${inputs.project}/${inputs.from}->${inputs.to}`, outs: inputs };
  },
  async diff(_id, olds: MigrationInputs, news: MigrationInputs) {
    const replaces = (["project", "from", "to"] as const).filter((key) => olds[key] !== news[key]);
    return { changes: replaces.length > 0, replaces };
  },
  async delete(_id, outs: MigrationInputs) {
    const pubsub = new (pubsubModule().PubSub)({ projectId: outs.project });
    try {
      await retireSubscription(pubsub, outs.from);
    } finally {
      await pubsub.close();
    }
  },
};

export interface SubscriptionMigrationArgs {
  project: pulumi.Input<string>;
  from: pulumi.Input<string>;
  to: pulumi.Input<string>;
}

/** A consumer's move from subscription `from` to `to` (see the module's comment). */
export class SubscriptionMigration extends pulumi.dynamic.Resource {
  constructor(name: string, args: SubscriptionMigrationArgs, opts?: pulumi.CustomResourceOptions) {
    super(subscriptionMigrationProvider, name, args, opts, "eventline", "SubscriptionMigration");
  }
}
