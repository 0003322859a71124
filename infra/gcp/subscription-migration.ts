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
 *   nothing of its own backlog (what was published before the take-over) for longer than a nacked
 *   message waits (its maximum backoff) and a lease of a worker that died lasts (its ack
 *   deadline). What it delivers that was published after the take-over is acknowledged: the new
 *   subscription holds it too, and under live traffic the old one would otherwise never go quiet.
 *   While it still delivers its own backlog once patience is out, the retirement is refused and
 *   the old subscription stays. The retirement looks by pulling. Pub/Sub serves no pull on a push
 *   subscription: a push consumer's old subscription is deleted after its take-over without
 *   watching, the seek having given its backlog to the new one (retireSubscription).
 *
 * Refused before anything changes: a move to another topic (a snapshot only seeks subscriptions of
 * its own topic), and turning ordering on (Pub/Sub answers FAILED_PRECONDITION to seeking an
 * ordered subscription to an unordered one's snapshot, since it may redeliver out of order; the
 * emulator does the same). Turning ordering off seeks fine.
 *
 * The Pub/Sub emulator accepts the seek but does not copy another subscription's backlog: on the
 * emulator the take-over moves nothing, and only draining the old subscription keeps its messages.
 *
 * The program declares both for every consumer (consumer-subscription.ts), as two dynamic
 * resources whose input is the consumer's current subscription, so that an update sees the
 * previous one in its `olds`: `SubscriptionTakeOver` (after the new subscription; the workers
 * take the subscription they pull from its output, so they move only once it has the backlog) and
 * `SubscriptionRetirement` (after the consumer's workload). Until the old subscription is retired
 * the workers drain it too: that is what keeps its backlog where a seek copies nothing (the
 * emulator), and what lets the retirement see it drained.
 */
import type * as PubSubModule from "@google-cloud/pubsub";
import type { PubSub } from "@google-cloud/pubsub";
import * as pulumi from "@pulumi/pulumi";
import { protoDurationSeconds } from "../model/duration";

/**
 * The client, loaded where it is used: Pulumi serializes a dynamic provider's functions with what
 * they reference and runs them in its own process, where a `require` call is kept as it is.
 */
export function pubsubModule(): typeof PubSubModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("@google-cloud/pubsub") as typeof PubSubModule;
}

const NOT_FOUND = 5;
/**
 * Codes after which a pull or an acknowledgement may simply be tried again later: CANCELLED
 * (a call cancelled, not refused), UNKNOWN, DEADLINE_EXCEEDED, UNAVAILABLE.
 */
const TRANSIENT = new Set([1, 2, 4, 14]);
const DEADLINE_EXCEEDED = 4;
/** Pub/Sub's answer to a pull on a push subscription ("not supported for push subscriptions"). */
const FAILED_PRECONDITION = 9;
/** How long one of the retirement's pulls waits for messages. */
const PULL_WAIT_MS = 2_000;
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
export function quietWindowSeconds(
  metadata: PubSubModule.protos.google.pubsub.v1.ISubscription,
): number {
  const backoff = metadata.retryPolicy
    ? protoDurationSeconds(metadata.retryPolicy.maximumBackoff) || 600
    : 0;
  return Math.max(backoff, metadata.ackDeadlineSeconds || 10) + 1;
}

/**
 * How far the deploying machine's clock may be behind Pub/Sub's: a message published up to this
 * long after the take-over started still counts as the old subscription's own backlog.
 */
export const CLOCK_MARGIN_MS = 10_000;

export interface RetireOptions {
  /** How often to look. Default 250 ms. */
  pollMs?: number;
  /**
   * When the take-over started. A message `from` holds that was published later (beyond
   * {@link CLOCK_MARGIN_MS}) was published after the new subscription existed, which holds it
   * too: it is acknowledged on `from` and does not hold the retirement back. Default: none, so
   * every message counts.
   */
  takenOverAt?: Date;
  /**
   * How long to wait for the workers to drain `from` before refusing. Default 0: refuse at the
   * first message it delivers.
   */
  patienceSeconds?: number;
}

/**
 * Deletes `from` once it is drained: it must deliver nothing of its own backlog (what was
 * published before the take-over) for its whole quiet window (see {@link quietWindowSeconds});
 * such a message found meanwhile is released at once for the workers draining it, and the window
 * starts again, until `patienceSeconds` have passed. Its workers stop pulling it when it is gone
 * (a stopping worker releases what it held). Deleting one that is gone is done.
 *
 * Pub/Sub serves no pull on a push subscription (FAILED_PRECONDITION), so a push consumer's old
 * subscription cannot be watched this way there; the emulator serves one. Pub/Sub's seek did copy
 * its backlog to the new subscription at the take-over (see the file comment), which has held
 * everything published since, so after a take-over it is deleted without watching. Without a
 * take-over it is kept.
 * @throws MigrationRefused while `from` still delivers its backlog once patience is out, or
 *   when it is a push subscription Pub/Sub will not let be pulled and no take-over moved its
 *   backlog.
 */
export async function retireSubscription(
  pubsub: PubSub,
  from: string,
  options: RetireOptions = {},
): Promise<void> {
  const subscription = pubsub.subscription(from);
  const { v1 } = pubsubModule();
  const subscriber = new v1.SubscriberClient(
    (pubsub as unknown as { options: ConstructorParameters<typeof v1.SubscriberClient>[0] })
      .options,
  );
  const cutoff =
    options.takenOverAt === undefined
      ? Number.POSITIVE_INFINITY
      : options.takenOverAt.getTime() + CLOCK_MARGIN_MS;
  try {
    const [metadata] = await subscription.getMetadata();
    const pushes = Boolean(metadata.pushConfig?.pushEndpoint);
    const windowMs = quietWindowSeconds(metadata) * 1000;
    const giveUpAt = Date.now() + (options.patienceSeconds ?? 0) * 1000;
    let quietUntil = Date.now() + windowMs;
    for (;;) {
      // A long poll, as the runtime pulls the emulator (unary-pull.ts), which answers an empty
      // pull within it: a pull returning at once (returnImmediately, deprecated) was answered
      // UNKNOWN on an ordered subscription for a minute at a time. A pull that fails anyway is
      // one that did not show the subscription quiet.
      let received: PubSubModule.protos.google.pubsub.v1.IReceivedMessage[];
      try {
        const [response] = await subscriber.pull(
          { subscription: subscription.name, maxMessages: 10 },
          { timeout: PULL_WAIT_MS, retry: null },
        );
        received = response.receivedMessages ?? [];
      } catch (err) {
        if (code(err) === FAILED_PRECONDITION && pushes) {
          if (options.takenOverAt === undefined)
            throw new MigrationRefused(
              `${from} is a push subscription, which Pub/Sub does not let be pulled to see that it is drained, and no take-over gave its backlog to another subscription; it is kept: delete it once its backlog is 0`,
            );
          break; // its backlog is the new subscription's since the take-over
        }
        if (!TRANSIENT.has(code(err) ?? -1)) throw err;
        if (code(err) === DEADLINE_EXCEEDED) {
          received = []; // nothing came within the wait
        } else {
          if (Date.now() >= giveUpAt)
            throw new MigrationRefused(
              `${from} could not be pulled to see that it is drained (${(err as Error).message}); it is kept, retire it again later`,
            );
          quietUntil = Date.now() + windowMs;
          await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
          continue;
        }
      }
      const publishedAt = (m: (typeof received)[number]): number =>
        Number(m.message?.publishTime?.seconds ?? 0) * 1000 +
        Math.floor((m.message?.publishTime?.nanos ?? 0) / 1e6);
      const later = received.filter((m) => publishedAt(m) >= cutoff).map((m) => m.ackId!);
      const own = received.filter((m) => publishedAt(m) < cutoff).map((m) => m.ackId!);
      // An acknowledgement that fails only means the message comes back: it is seen again on a
      // later pull, and the quiet window starts over. The emulator answers some of them on an
      // ordered subscription with UNKNOWN ("Application error processing RPC") for as long as
      // the client retries, so each is tried once, bounded, rather than retried for a minute.
      const settle = async (call: Promise<unknown>): Promise<boolean> => {
        try {
          await call;
          return true;
        } catch (err) {
          if (!TRANSIENT.has(code(err) ?? -1)) throw err;
          return false;
        }
      };
      const once = { timeout: 10_000, retry: null } as const;
      if (later.length > 0) {
        const acked = await settle(
          subscriber.acknowledge({ subscription: subscription.name, ackIds: later }, once),
        );
        if (!acked) quietUntil = Date.now() + windowMs;
      }
      if (own.length > 0) {
        await settle(
          subscriber.modifyAckDeadline(
            { subscription: subscription.name, ackIds: own, ackDeadlineSeconds: 0 },
            once,
          ),
        );
        if (Date.now() >= giveUpAt)
          throw new MigrationRefused(
            `${from} still delivers messages: its workers have not drained it yet; it is kept, retire it again once its backlog is 0`,
          );
        quietUntil = Date.now() + windowMs;
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

/** How long a deploy waits for a consumer's workers to drain its old subscription: 15 minutes. */
export const RETIREMENT_PATIENCE_SECONDS = 900;

const clientFor = (project: string): PubSub => new (pubsubModule().PubSub)({ projectId: project });

interface TakeOverInputs {
  project: string;
  /** The consumer's current subscription (short name). */
  subscription: string;
}

interface TakeOverOutputs extends TakeOverInputs {
  /** The subscription it took over from, while that one may still be draining. */
  previous?: string;
  /** When it took over (ISO 8601). */
  takenOverAt?: string;
}

/**
 * The take-over, a resource that lives as long as the consumer: its input is the consumer's
 * current subscription, so an update sees the one it had before (`olds`) and gives the new one
 * its backlog. Nothing to move when it is created (a new consumer) or deleted.
 */
export const subscriptionTakeOverProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: TakeOverInputs) {
    return { id: `${inputs.project}/${inputs.subscription}`, outs: inputs };
  },
  async diff(_id, olds: TakeOverOutputs, news: TakeOverInputs) {
    return {
      changes: olds.subscription !== news.subscription,
      replaces: olds.project !== news.project ? ["project"] : [],
    };
  },
  async update(_id, olds: TakeOverOutputs, news: TakeOverInputs) {
    if (olds.subscription === news.subscription) return { outs: { ...olds, ...news } };
    const takenOverAt = new Date().toISOString();
    const pubsub = clientFor(news.project);
    try {
      await takeOverBacklog(pubsub, { from: olds.subscription, to: news.subscription });
    } finally {
      await pubsub.close();
    }
    return { outs: { ...news, previous: olds.subscription, takenOverAt } };
  },
};

interface RetirementInputs {
  project: string;
  /** The consumer's current subscription (the take-over's output). */
  subscription: string;
  /** When the take-over to it happened (the take-over's output), if one has. */
  takenOverAt?: string;
}

/**
 * The retirement, a resource that lives as long as the consumer and comes after its workload:
 * an update that changes the subscription retires the one before (`olds`) once drained. Deleted
 * with the consumer, it deletes the consumer's subscription, backlog included, as removing a
 * consumer always has (the subscription resource itself is retained on delete, see
 * consumer-subscription.ts).
 */
export const subscriptionRetirementProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: RetirementInputs) {
    return { id: `${inputs.project}/${inputs.subscription}`, outs: inputs };
  },
  async diff(_id, olds: RetirementInputs, news: RetirementInputs) {
    return {
      changes: olds.subscription !== news.subscription || olds.takenOverAt !== news.takenOverAt,
      replaces: olds.project !== news.project ? ["project"] : [],
    };
  },
  async update(_id, olds: RetirementInputs, news: RetirementInputs) {
    if (olds.subscription !== news.subscription) {
      const pubsub = clientFor(news.project);
      try {
        await retireSubscription(pubsub, olds.subscription, {
          ...(news.takenOverAt !== undefined && { takenOverAt: new Date(news.takenOverAt) }),
          patienceSeconds: RETIREMENT_PATIENCE_SECONDS,
        });
      } finally {
        await pubsub.close();
      }
    }
    return { outs: news };
  },
  async delete(_id, outs: RetirementInputs) {
    const pubsub = clientFor(outs.project);
    try {
      await pubsub.subscription(outs.subscription).delete();
    } catch (err) {
      if (code(err) !== NOT_FOUND) throw err;
    } finally {
      await pubsub.close();
    }
  },
};

export interface SubscriptionTakeOverArgs {
  project: pulumi.Input<string>;
  /** The consumer's subscription: pass the subscription resource's name output. */
  subscription: pulumi.Input<string>;
}

/** A consumer's take-over (see {@link subscriptionTakeOverProvider}). */
export class SubscriptionTakeOver extends pulumi.dynamic.Resource {
  /** The subscription the consumer's workers pull (or that pushes to it), once it has its backlog. */
  declare readonly subscription: pulumi.Output<string>;
  /** The one it took over from, which its workers drain until it is retired; undefined before any. */
  declare readonly previous: pulumi.Output<string | undefined>;
  /** When it took over; undefined before any. */
  declare readonly takenOverAt: pulumi.Output<string | undefined>;

  constructor(name: string, args: SubscriptionTakeOverArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      subscriptionTakeOverProvider,
      name,
      { ...args, previous: undefined, takenOverAt: undefined },
      opts,
      "eventline",
      "SubscriptionTakeOver",
    );
  }
}

export interface SubscriptionRetirementArgs {
  project: pulumi.Input<string>;
  /** The take-over's subscription output. */
  subscription: pulumi.Input<string>;
  /** The take-over's takenOverAt output. */
  takenOverAt: pulumi.Input<string | undefined>;
}

/** A consumer's retirement of its old subscriptions (see {@link subscriptionRetirementProvider}). */
export class SubscriptionRetirement extends pulumi.dynamic.Resource {
  constructor(name: string, args: SubscriptionRetirementArgs, opts?: pulumi.CustomResourceOptions) {
    super(subscriptionRetirementProvider, name, args, opts, "eventline", "SubscriptionRetirement");
  }
}
