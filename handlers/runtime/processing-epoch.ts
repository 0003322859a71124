/**
 * Processing epochs: how a consumer handles again what it had already handled. Processed
 * records make every redelivery a no-op, which is what at-least-once delivery needs, but it
 * also turns a Pub/Sub seek into a no-op: after a bug fix, rewinding the subscription would
 * redeliver the events and the records would skip them all.
 *
 * So each consumer has an epoch, kept on its document (`consumers/{consumer}`): a number, the
 * time Firestore committed its start (`began`, a server timestamp), and the time from which it
 * re-runs (`since`, the seek's time; none for a seek to a snapshot). A record counts as
 * processed when it was written in the current epoch: it carries the epoch's number, or it was
 * created after the epoch began (its create time, also Firestore's). Otherwise, when it was
 * written at or after `since`, the event is handled again, once, and its record rewritten with
 * the current epoch's number, so a second redelivery is a no-op again. A record written before
 * `since` stays valid: an event handled before the seek point was published before it, the
 * seek does not deliver it again, and a late duplicate of it must still be a no-op.
 *
 * Why the create time as well as the number: a run committed before its record is looked up
 * (commit-groups.ts, "committed first") does not know the epoch and writes no number; the
 * server's clock places it in an epoch all the same. Both times are Firestore's commit times,
 * so no worker's clock is involved.
 *
 * Where the epoch is read, it is read with the record, in the same request (the transaction's
 * `getAll`, or the commit group's lookup), so a message delivered after `eventline seek
 * --reprocess` raised it always sees the new epoch: the command raises the epoch before it seeks.
 */
import {
  FieldValue,
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
  /** When Firestore committed the epoch's start; records created since count in it. Null for epoch 0. */
  began: Timestamp | null;
}

/** The epoch of a consumer that never re-ran anything. */
export const FIRST_EPOCH: ProcessingEpoch = { epoch: 0, since: null, began: null };

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
  const raw = data?.[EPOCH_FIELD];
  const epoch = typeof raw === "number" && Number.isInteger(raw) && raw > 0 ? raw : 0;
  if (epoch === 0) return FIRST_EPOCH;
  const since = data?.["since"];
  const began = data?.["began"];
  return {
    epoch,
    since: since instanceof Timestamp ? since : null,
    // An epoch begun before `began` was kept: the document's own commit time, as only
    // beginEpoch writes it.
    began: began instanceof Timestamp ? began : (consumer.updateTime ?? null),
  };
}

/** a ≥ b, to the nanosecond. */
function atOrAfter(a: Timestamp, b: Timestamp): boolean {
  return a.seconds > b.seconds || (a.seconds === b.seconds && a.nanoseconds >= b.nanoseconds);
}

/** True when `record` exists and still counts as processed in `current` (see the file comment). */
export function recordHolds(record: DocumentSnapshot, current: ProcessingEpoch): boolean {
  if (!record.exists) return false;
  const data = record.data()!;
  const epoch = typeof data[EPOCH_FIELD] === "number" ? (data[EPOCH_FIELD] as number) : 0;
  if (epoch >= current.epoch) return true;
  if (current.began !== null && record.createTime !== undefined)
    if (atOrAfter(record.createTime, current.began)) return true;
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
  const sinceTime = since === null ? null : Timestamp.fromDate(since);
  await firestore.runTransaction(async (tx) => {
    const next = epochOf(await tx.get(document)).epoch + 1;
    const startedAt = Timestamp.now();
    const began = FieldValue.serverTimestamp();
    tx.set(document, { [EPOCH_FIELD]: next, since: sinceTime, startedAt, began }, { merge: true });
    tx.create(document.collection("epochs").doc(String(next)), {
      [EPOCH_FIELD]: next,
      since: sinceTime,
      startedAt,
      began,
      reason,
    });
  });
  // `began` is the commit's time, which only the committed document can tell.
  return epochOf(await document.get());
}
