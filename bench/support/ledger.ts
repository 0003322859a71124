/**
 * Counting what happened to every event sent: applied (a `bench-applied/{id}` document),
 * applied twice (its `count` above 1), lost (neither applied nor dead-lettered), and
 * dead-lettered (a message on the consumer's parking subscription, with its reason). The
 * fault suite's verdict and the pipeline's "duplicates applied" come from here, read from
 * the emulators after the run, never from the process being measured.
 */
import type { Firestore } from "@google-cloud/firestore";
import type { Message, PubSub } from "@google-cloud/pubsub";
import { DEAD_LETTER_ATTRIBUTES } from "../../handlers/runtime/dead-letter";
import { APPLIED_COLLECTION } from "./bench-handlers";

export interface Ledger {
  sent: number;
  /** Events applied at least once. */
  applied: number;
  /** Applications beyond the first, summed over events. */
  duplicatesApplied: number;
  /** Events expected to be applied that were not. */
  lost: number;
  /** Up to 10 of them, for the report. */
  lostSample: string[];
  /** Events applied that should not have been (poison events). */
  wronglyApplied: number;
}

/** Every applied document's count, by event id. */
export async function appliedCounts(firestore: Firestore): Promise<Map<string, number>> {
  const snapshot = await firestore.collection(APPLIED_COLLECTION).select("count").get();
  return new Map(snapshot.docs.map((doc) => [doc.id, Number(doc.get("count") ?? 0)]));
}

/** How many events are applied so far (a count aggregation: cheap enough to poll every second or two). */
export async function appliedSoFar(firestore: Firestore): Promise<number> {
  const snapshot = await firestore.collection(APPLIED_COLLECTION).count().get();
  return snapshot.data().count;
}

/**
 * The ledger of a run. `sent` are every event id sent; `mustNotApply` the ones that must
 * never be applied (poison), which count as neither lost nor applied.
 */
export async function ledgerOf(
  firestore: Firestore,
  sent: readonly string[],
  mustNotApply: ReadonlySet<string> = new Set(),
): Promise<Ledger> {
  const counts = await appliedCounts(firestore);
  let applied = 0;
  let duplicatesApplied = 0;
  let wronglyApplied = 0;
  const lostIds: string[] = [];
  for (const id of sent) {
    const count = counts.get(id) ?? 0;
    if (mustNotApply.has(id)) {
      if (count > 0) wronglyApplied++;
      continue;
    }
    if (count === 0) lostIds.push(id);
    else applied++;
    duplicatesApplied += Math.max(0, count - 1);
  }
  return {
    sent: sent.length,
    applied,
    duplicatesApplied,
    lost: lostIds.length,
    lostSample: lostIds.slice(0, 10),
    wronglyApplied,
  };
}

/** How long {@link waitForApplied} waits, and whom it tells. */
export interface WaitOptions {
  timeoutMs: number;
  /** Give up when the count has not moved this long. Default 90 s: longer than a killed worker's leases (60 s), so a stall means the rest is not coming. */
  stallMs?: number;
  /** Told "applied N of M" every 30 s while it waits (long waits show progress). */
  say?: (line: string) => void;
}

/** Polls until `count` events are applied, the timeout passes, or the count stalls; resolves with the last count. */
export async function waitForApplied(
  firestore: Firestore,
  count: number,
  { timeoutMs, stallMs = 90_000, say }: WaitOptions,
): Promise<number> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last = -1;
  let movedAt = started;
  let toldAt = started;
  for (;;) {
    const applied = await appliedSoFar(firestore);
    if (applied !== last) movedAt = Date.now();
    last = applied;
    if (applied >= count || Date.now() > deadline || Date.now() - movedAt > stallMs) return applied;
    if (say !== undefined && Date.now() - toldAt >= 30_000) {
      toldAt = Date.now();
      say(
        `  applied ${applied} of ${count} after ${Math.round((toldAt - started) / 1000)} s; waiting up to ${Math.round(timeoutMs / 1000)} s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** One dead letter on a parking subscription. */
export interface Parked {
  reason: string;
  attempt: string;
  error: string;
  /** How many attributes the dead letter carries (Pub/Sub takes at most 100). */
  attributes: number;
}

/**
 * Reads a parking subscription (acking what it reads) until `expected` dead letters are in,
 * or nothing new arrived for `quietMs`, or `timeoutMs` passed.
 * @returns the dead letters by `keyOf` (default: the event id); a second dead letter of one key is counted in `repeats`.
 */
export async function readParked(
  pubsub: PubSub,
  subscription: string,
  expected: number,
  timeoutMs: number,
  keyOf: (message: Message) => string = (message) =>
    message.attributes["ce-id"] ?? `message:${message.id}`,
  quietMs = 5000,
): Promise<{ parked: Map<string, Parked>; repeats: number }> {
  const parked = new Map<string, Parked>();
  let repeats = 0;
  let lastArrival = Date.now();
  const sub = pubsub.subscription(subscription);
  sub.on("message", (message: Message) => {
    message.ack();
    lastArrival = Date.now();
    const id = keyOf(message);
    if (parked.has(id)) repeats++;
    const a = DEAD_LETTER_ATTRIBUTES;
    parked.set(id, {
      reason: message.attributes[a.reason] ?? "(none)",
      attempt: message.attributes[a.attempt] ?? "(none)",
      error: message.attributes[a.error] ?? "",
      attributes: Object.keys(message.attributes).length,
    });
  });
  const deadline = Date.now() + timeoutMs;
  try {
    while (parked.size < expected && Date.now() < deadline && Date.now() - lastArrival < quietMs) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Whatever is still arriving (a second dead letter of one event) gets a moment to show.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } finally {
    await sub.close();
  }
  return { parked, repeats };
}
