/**
 * Processing epochs: how a consumer handles again what it had already handled. Processed
 * records make every redelivery a no-op, which is what at-least-once delivery needs, but it
 * also turns a Pub/Sub seek into a no-op: after a bug fix, rewinding the subscription would
 * redeliver the events and the records would skip them all.
 *
 * So each consumer has an epoch, kept on its document (`consumers/{consumer}`): a number, and
 * the time from which it re-runs (`since`, the seek's time; none for a seek to a snapshot).
 * Every processed record carries the epoch it was written in. A record counts as processed
 * unless it is from an earlier epoch and was written at or after `since`: then the event is
 * handled again, once, and its record rewritten in the current epoch, so a second redelivery
 * is a no-op again. A record written before `since` stays valid: an event handled before the
 * seek point was published before it, the seek does not deliver it again, and a late
 * duplicate of it must still be a no-op.
 *
 * The epoch is read with the record, in the same request (the transaction's `getAll`, or the
 * commit group's lookup), so a message delivered after `eventline seek --reprocess` raised it
 * always sees the new epoch: the command raises the epoch before it seeks.
 */
import {
  Timestamp,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
} from "@google-cloud/firestore";

/** The field of a processed record (and of a consumer's document) that holds its epoch. */
export const EPOCH_FIELD = "epoch";

/** A consumer's current epoch. */
export interface ProcessingEpoch {
  /** 0 until the first `--reprocess`. */
  epoch: number;
  /** Records of an earlier epoch written at or after this are handled again; null: all of them. */
  since: Timestamp | null;
}

/** Where a consumer's epoch is kept. */
export function consumerDocument(firestore: Firestore, consumer: string): DocumentReference {
  return firestore.collection("consumers").doc(consumer);
}

/** The consumer's document that a processed record (`consumers/{consumer}/processed/{key}`) belongs to. */
export function consumerDocumentOf(record: DocumentReference): DocumentReference {
  const consumer = record.parent.parent;
  if (consumer === null) throw new Error(`${record.path} is not a processed record`);
  return consumer;
}

/** The epoch a consumer's document holds: the first one when it has none. */
export function epochOf(consumer: DocumentSnapshot): ProcessingEpoch {
  const data = consumer.exists ? consumer.data() : undefined;
  const epoch = data?.[EPOCH_FIELD];
  const since = data?.["since"];
  return {
    epoch: typeof epoch === "number" && Number.isInteger(epoch) && epoch > 0 ? epoch : 0,
    since: since instanceof Timestamp ? since : null,
  };
}

/** True when `record` exists and still counts as processed in `current` (see the file comment). */
export function recordHolds(record: DocumentSnapshot, current: ProcessingEpoch): boolean {
  if (!record.exists) return false;
  const data = record.data()!;
  const epoch = typeof data[EPOCH_FIELD] === "number" ? (data[EPOCH_FIELD] as number) : 0;
  if (epoch >= current.epoch) return true;
  const processedAt = data["processedAt"];
  return (
    current.since !== null &&
    processedAt instanceof Timestamp &&
    processedAt.toMillis() < current.since.toMillis()
  );
}

/**
 * Starts the consumer's next epoch: what it handled from `since` on (everything, when null) is
 * handled again, once, when it is delivered again. Kept in `consumers/{consumer}/epochs/{n}` too,
 * as the record of who re-ran what.
 */
export async function beginEpoch(
  firestore: Firestore,
  consumer: string,
  since: Date | null,
  reason: string,
): Promise<ProcessingEpoch> {
  const document = consumerDocument(firestore, consumer);
  return firestore.runTransaction(async (tx) => {
    const next: ProcessingEpoch = {
      epoch: epochOf(await tx.get(document)).epoch + 1,
      since: since === null ? null : Timestamp.fromDate(since),
    };
    const startedAt = Timestamp.now();
    tx.set(document, { [EPOCH_FIELD]: next.epoch, since: next.since, startedAt }, { merge: true });
    tx.create(document.collection("epochs").doc(String(next.epoch)), {
      [EPOCH_FIELD]: next.epoch,
      since: next.since,
      startedAt,
      reason,
    });
    return next;
  });
}
