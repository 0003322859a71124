/**
 * Rewinding a consumer's subscription (Pub/Sub seek): to a snapshot taken earlier, so every
 * message acknowledged since is delivered again, or to a time. Seeking to a time marks what
 * was published before it acknowledged and what came after unacknowledged; messages already
 * acknowledged come back only when the subscription retains them (the consumer's
 * `retainAckedMessages`), and none older than its retention. A snapshot needs no retention:
 * it keeps the backlog as it was, and what is published after it, until it expires (7 days
 * at most, less the age of its oldest unacknowledged message).
 *
 * The checks read the subscription itself, not only the declaration: a subscription created
 * before the declaration asked for retention (or by a tool that does not set it) has none.
 *
 * What comes back finds its processed records and is a no-op, unless the consumer's processing
 * epoch is raised first (`--reprocess`, handlers/runtime/processing-epoch.ts): then what it had
 * handled since the seek point is handled again, once.
 */
import type { Firestore } from "@google-cloud/firestore";
import type { PubSub } from "@google-cloud/pubsub";
import type { ResolvedConsumer } from "../../infra/model/types";
import { eventTypesFor } from "../../handlers/declared";
import { beginEpoch, type ProcessingEpoch } from "../../handlers/runtime/processing-epoch";
import { ReplayError } from "./errors";

/** Where to seek: a time, or a snapshot by name. */
export type SeekTarget = { time: Date } | { snapshot: string };

/** The prefix that names a snapshot in `--to`. */
export const SNAPSHOT_PREFIX = "snapshot:";

/** Pub/Sub's rule for snapshot names: 3–255 characters, a letter first, then letters, digits and -_.~+%. */
const SNAPSHOT_NAME = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;

const code = (err: unknown): number | undefined => (err as { code?: number } | null)?.code;

/** The declared consumer `name` of `stack`'s declaration. @throws ReplayError naming the closest and listing them. */
export function declaredConsumer(name: string, stack = "local"): ResolvedConsumer {
  const eventTypes = eventTypesFor(stack);
  const consumer = eventTypes.system.consumers.find((c) => c.name === name);
  if (consumer === undefined) throw new ReplayError(eventTypes.undeclaredConsumer(name));
  return consumer;
}

/** @throws ReplayError when `name` is not a snapshot name Pub/Sub accepts. */
export function checkSnapshotName(name: string): string {
  if (!SNAPSHOT_NAME.test(name) || name.toLowerCase().startsWith("goog")) {
    throw new ReplayError(
      `snapshot name "${name}" is not one Pub/Sub accepts: 3 to 255 letters, digits and - _ . ~ + %, starting with a letter (and not with "goog")`,
    );
  }
  return name;
}

/** Seconds as the declaration writes durations: "7d", "12h", "90m", "45s". */
function duration(seconds: number): string {
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
  ] as const)
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

/** How long a subscription's messages are kept, and whether acknowledged ones are, as it is now. */
async function retention(
  pubsub: PubSub,
  consumer: ResolvedConsumer,
): Promise<{ retainAcked: boolean; seconds: number }> {
  try {
    const [metadata] = await pubsub.subscription(consumer.subscription).getMetadata();
    const seconds = Number(
      metadata.messageRetentionDuration?.seconds ?? consumer.messageRetentionSeconds,
    );
    return { retainAcked: metadata.retainAckedMessages === true, seconds };
  } catch (err) {
    throw missing(err, consumer);
  }
}

function missing(err: unknown, consumer: ResolvedConsumer): unknown {
  if (code(err) !== NOT_FOUND) return err;
  return new ReplayError(
    `subscription ${consumer.subscription} does not exist; it is created with the system (\`npm start\` locally, \`pulumi up\` in the cloud)`,
  );
}

/**
 * Snapshots consumer's subscription as it is now: its backlog, and from now on what is published.
 * @returns the snapshot's full name and, when Pub/Sub says, when it expires (RFC 3339).
 * @throws ReplayError when the name is taken or the subscription does not exist.
 */
export async function createSnapshot(
  pubsub: PubSub,
  consumer: ResolvedConsumer,
  name: string,
): Promise<{ snapshot: string; expires?: string }> {
  checkSnapshotName(name);
  try {
    const [snapshot, response] = await pubsub
      .subscription(consumer.subscription)
      .createSnapshot(name);
    const expire = (response as { expireTime?: { seconds?: number | string | null } | null })
      .expireTime;
    const expires = expire?.seconds
      ? new Date(Number(expire.seconds) * 1000).toISOString()
      : undefined;
    return { snapshot: snapshot.name, ...(expires !== undefined && { expires }) };
  } catch (err) {
    if (code(err) === ALREADY_EXISTS)
      throw new ReplayError(
        `snapshot ${name} exists; seek to it with --to ${SNAPSHOT_PREFIX}${name}, or pick another name`,
      );
    throw missing(err, consumer);
  }
}

/**
 * Seeks consumer's subscription.
 * @param now the present, for the retention checks.
 * @throws ReplayError when a past time cannot bring acknowledged messages back (no retention,
 *   or older than the retention), the snapshot does not exist or is of another topic, or the
 *   subscription does not exist.
 */
export async function seekSubscription(
  pubsub: PubSub,
  consumer: ResolvedConsumer,
  target: SeekTarget,
  now = new Date(),
): Promise<void> {
  const subscription = pubsub.subscription(consumer.subscription);
  if ("time" in target) {
    const { retainAcked, seconds } = await retention(pubsub, consumer);
    if (target.time.getTime() < now.getTime()) {
      if (!retainAcked) {
        const fix = consumer.retainAckedMessages
          ? `consumer ${consumer.name} declares retainAckedMessages, but its subscription was created without it: deploy the declaration (\`pulumi up\` sets it; the local provisioning does not yet)`
          : `declare retainAckedMessages: true for consumer ${consumer.name} in infra/system.ts and deploy`;
        throw new ReplayError(
          `subscription ${consumer.subscription} does not retain acknowledged messages, so seeking it to ${target.time.toISOString()} would bring none of them back (it would only acknowledge older unacknowledged ones); ${fix}, or seek to a snapshot taken beforehand (${SNAPSHOT_PREFIX}<name>)`,
        );
      }
      const oldest = new Date(now.getTime() - seconds * 1000);
      if (target.time < oldest) {
        throw new ReplayError(
          `subscription ${consumer.subscription} keeps messages for ${duration(seconds)}, so nothing from before ${oldest.toISOString()} can come back; seek to ${oldest.toISOString()} or later`,
        );
      }
    }
    try {
      await subscription.seek(target.time);
    } catch (err) {
      throw missing(err, consumer);
    }
    return;
  }
  checkSnapshotName(target.snapshot);
  try {
    await subscription.seek(target.snapshot);
  } catch (err) {
    if (code(err) === NOT_FOUND && /snapshot/i.test((err as Error).message))
      throw new ReplayError(
        `no snapshot named ${target.snapshot}; create one with eventline seek ${consumer.name} --snapshot ${target.snapshot}`,
      );
    if (code(err) === FAILED_PRECONDITION)
      throw new ReplayError(
        `snapshot ${target.snapshot} is not of ${consumer.name}'s topic ${consumer.topic}: ${(err as Error).message}`,
      );
    throw missing(err, consumer);
  }
}

/**
 * Raises the consumer's processing epoch for a seek to `target`, before the seek: what it had
 * handled since the target's time (everything it handled, for a snapshot, whose time Pub/Sub
 * does not say) is handled again, once, as it is delivered again.
 * @param state the consumers' state database, where the processed records are.
 */
export async function beginReprocessing(
  state: Firestore,
  consumer: ResolvedConsumer,
  target: SeekTarget,
): Promise<ProcessingEpoch> {
  const to = "time" in target ? target.time.toISOString() : `${SNAPSHOT_PREFIX}${target.snapshot}`;
  return beginEpoch(
    state,
    consumer.name,
    "time" in target ? target.time : null,
    `eventline seek ${consumer.name} --to ${to} --reprocess`,
  );
}
