/**
 * Effectively-once effects over at-least-once delivery. The runtime records `(consumer, event)`
 * at `consumers/{consumer}/processed/{eventKey(event)}` (the event's source and id: its
 * identity, as CloudEvents defines it) in the same Firestore transaction as the
 * handler's writes, reading it first inside the transaction: a redelivered event finds its
 * record and the handler does not run again. Checking inside the transaction is the cheap
 * path for duplicates: in the Node client a `create()` that fails ALREADY_EXISTS costs about
 * three times a successful one. (Runs committed first, below, find duplicates by failing, and
 * the consumer looks up first for a while after one: commit-groups.ts.) `expireAt` drives the TTL
 * policy the Pulumi program sets on collection group `processed` (docs/requirements.md, PL-11).
 *
 * A handler run whose effect a batch can have needs no transaction (commit-groups.ts):
 * {@link applyOnceInGroup} looks the record up, runs the handler with optimistic reads, and
 * commits its writes with the record created in one batch, together with other events'; the
 * `create()` fails if another delivery recorded the event first, a precondition fails if a
 * document the run read changed, and none of the run's writes are applied.
 *
 * The record is also the outbox: the events a handler published are stored in it, published
 * after the commit, then cleared. A process that dies between commit and publish leaves them
 * there, and the redelivery publishes them instead of running the handler. When no redelivery
 * comes (the delivery timed out or failed to publish on its last attempt, and was dead-lettered
 * or acked), the outbox relay (outbox-relay.ts) finds the record by {@link OUTBOX_SINCE_FIELD}
 * and publishes them. Their ids are derived from the cause, so publishing twice publishes the
 * same events.
 *
 * A run of a handler that reads nothing and calls nothing outside can skip the lookup
 * ({@link applyCommittedFirst}): it runs and commits with its record created, in a group, and
 * only a commit refused because the record exists costs a lookup. One request instead of two.
 *
 * A record counts only in its consumer's processing epoch (processing-epoch.ts): after
 * `eventline seek --reprocess`, an event handled before is handled again, once, and its record
 * is rewritten. Where the record is looked up, the epoch is read in the same request.
 */
import { createHash } from "node:crypto";
import {
  FieldValue,
  Timestamp,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
} from "@google-cloud/firestore";
import type { OutgoingMessage } from "./codec";
import {
  isConflict,
  isReadConflict,
  type CommitGroups,
  type CommitResult,
  type PendingRun,
  type RecordLookup,
} from "./commit-groups";
import { PermanentError } from "./errors";
import {
  consumerDocument,
  EPOCH_FIELD,
  epochOf,
  FIRST_EPOCH,
  recordHolds,
  type ProcessingEpoch,
} from "./processing-epoch";
import { DeferredTransaction } from "./transaction";
import { ATTR, FIRESTORE_SYSTEM, SpanKind, inSpan } from "./tracing";

/** The attributes of a Firestore request's span. */
function firestoreSpan(operation: string) {
  return {
    kind: SpanKind.CLIENT,
    attributes: { [ATTR.dbSystem]: FIRESTORE_SYSTEM, [ATTR.dbOperation]: operation },
  };
}

/** The collection group of processed records (TTL field {@link EXPIRE_AT_FIELD}). */
export const PROCESSED_COLLECTION_GROUP = "processed";

/** The TTL field of processed records. */
export const EXPIRE_AT_FIELD = "expireAt";

/** Set on a record while its outbox waits to be published: when it was committed. */
export const OUTBOX_SINCE_FIELD = "outboxSince";

/** Firestore's limit is 1 MiB per document; the outbox leaves room for the record's other fields. */
export const MAX_OUTBOX_BYTES = 900_000;

/** An outbox entry as Firestore stores it. */
interface StoredMessage {
  topic: string;
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string | null;
}

/** The processed record of one event for one consumer. */
export interface ProcessedRecord {
  consumer: string;
  eventId: string;
  eventSource: string;
  type: string;
  processedAt: Timestamp;
  expireAt: Timestamp;
  /** The consumer's processing epoch it was written in (absent: 0). */
  epoch?: number;
  /** Events published by the handler and not yet confirmed published. */
  outbox?: StoredMessage[];
  /** When the outbox was committed; cleared with it. */
  outboxSince?: Timestamp;
}

const validDocumentId = /^(?!\.\.?$)(?!__.*__$)[^/]{1,1500}$/;

/**
 * A Firestore document id for an event id: the id itself when Firestore allows it, otherwise
 * (a `/`, `.`, `..`, `__x__`, over 1 500 bytes) a hash of it.
 */
export function documentIdFor(eventId: string): string {
  if (validDocumentId.test(eventId) && Buffer.byteLength(eventId) <= 1500) return eventId;
  return `sha256-${createHash("sha256").update(eventId).digest("hex")}`;
}

/** What identifies an event, as CloudEvents defines it: its source and its id together. */
export interface EventIdentity {
  source: string;
  id: string;
}

/**
 * The document id of an event's identity, for its stored event and its processed records:
 * `<source>:<id>`, each part percent-encoded, so the same id from two sources is two keys and
 * no two identities share one (every `:` inside a part is encoded); a hash when that is not a
 * valid document id or is too long.
 */
export function eventKey(event: EventIdentity): string {
  return documentIdFor(`${encodeURIComponent(event.source)}:${encodeURIComponent(event.id)}`);
}

/**
 * The id of the `index`-th event that `consumer` publishes while handling `cause`: a UUID
 * (version 8, name-based) so a retried transaction or a republished outbox produces the same
 * ids, which downstream consumers then deduplicate.
 */
export function derivedEventId(consumer: string, cause: EventIdentity, index: number): string {
  const hex = createHash("sha256")
    .update(`${consumer}\n${cause.source}\n${cause.id}\n${index}`)
    .digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Where the processed record of `event` for `consumer` lives. */
export function processedRef(
  firestore: Firestore,
  consumer: string,
  event: EventIdentity,
): DocumentReference {
  return firestore
    .collection("consumers")
    .doc(consumer)
    .collection(PROCESSED_COLLECTION_GROUP)
    .doc(eventKey(event));
}

function toStored(messages: readonly OutgoingMessage[]): StoredMessage[] {
  const stored = messages.map((m) => ({
    topic: m.topic,
    data: m.data,
    attributes: m.attributes,
    orderingKey: m.orderingKey ?? null,
  }));
  const bytes = stored.reduce(
    (sum, m) => sum + m.data.length + JSON.stringify(m.attributes).length + m.topic.length,
    0,
  );
  if (bytes > MAX_OUTBOX_BYTES) {
    throw new PermanentError(
      "outbox-too-large",
      `the ${messages.length} events published by one handler run take ${bytes} bytes, over the ${MAX_OUTBOX_BYTES} the processed record can hold`,
    );
  }
  return stored;
}

function fromStored(stored: readonly StoredMessage[] | undefined): OutgoingMessage[] {
  return (stored ?? []).map((m) => ({
    topic: m.topic,
    data: Buffer.from(m.data),
    attributes: m.attributes,
    ...(m.orderingKey !== null && { orderingKey: m.orderingKey }),
  }));
}

export interface ApplyOnceOptions {
  consumer: string;
  event: EventIdentity;
  eventType: string;
  /** How long the record is kept, in seconds: longer than Pub/Sub can redeliver the event. */
  retentionSeconds: number;
}

export interface ApplyOnceResult {
  /** "applied": this run committed the work; "duplicate": an earlier run had. */
  status: "applied" | "duplicate";
  /** Events to publish now: the ones this run staged, or those an earlier run left unpublished. */
  outbox: OutgoingMessage[];
  record: DocumentReference;
}

/** The handler's work for one event: it writes through `transaction` and returns the events it staged. */
export type HandlerWork = (transaction: DeferredTransaction) => Promise<OutgoingMessage[]>;

function recordData(
  options: ApplyOnceOptions,
  epoch: ProcessingEpoch,
  outbox: readonly OutgoingMessage[],
): ProcessedRecord {
  const now = Date.now();
  const processedAt = Timestamp.fromMillis(now);
  return {
    consumer: options.consumer,
    eventId: options.event.id,
    eventSource: options.event.source,
    type: options.eventType,
    processedAt,
    expireAt: Timestamp.fromMillis(now + options.retentionSeconds * 1000),
    ...(epoch.epoch > 0 && { [EPOCH_FIELD]: epoch.epoch }),
    ...(outbox.length > 0 && { outbox: toStored(outbox), [OUTBOX_SINCE_FIELD]: processedAt }),
  };
}

/** An update to a record of an earlier epoch that leaves it holding `record` only. */
function replacing(record: ProcessedRecord): Record<string, unknown> {
  return {
    outbox: FieldValue.delete(),
    [OUTBOX_SINCE_FIELD]: FieldValue.delete(),
    [EPOCH_FIELD]: FieldValue.delete(),
    ...record,
  };
}

/**
 * What a run that replaces a record of an earlier epoch publishes: its own events, and those
 * the earlier run left unpublished (none of its effects is dropped). Both derive their ids from
 * the same cause, so an event the two share goes once.
 */
function withUnpublished(
  replaced: DocumentSnapshot,
  outbox: readonly OutgoingMessage[],
): OutgoingMessage[] {
  if (!replaced.exists) return [...outbox];
  const ids = new Set(outbox.map((m) => m.attributes["ce-id"]));
  const earlier = fromStored((replaced.data() as ProcessedRecord).outbox).filter(
    (m) => !ids.has(m.attributes["ce-id"]),
  );
  return [...earlier, ...outbox];
}

function duplicateOf(snapshot: DocumentSnapshot, record: DocumentReference): ApplyOnceResult {
  return {
    status: "duplicate",
    outbox: fromStored((snapshot.data() as ProcessedRecord).outbox),
    record,
  };
}

/**
 * Runs `work` in a transaction unless the event is already recorded as processed for the
 * consumer, and records it in the same transaction. Firestore may run `work` more than once
 * (contention); only one run commits.
 */
export async function applyOnce(
  firestore: Firestore,
  options: ApplyOnceOptions,
  work: HandlerWork,
): Promise<ApplyOnceResult> {
  const record = processedRef(firestore, options.consumer, options.event);
  const consumer = consumerDocument(firestore, options.consumer);
  // The span covers the handler's run(s) inside the transaction and its commit.
  return inSpan("firestore transaction", firestoreSpan("runTransaction"), () =>
    firestore.runTransaction(async (tx): Promise<ApplyOnceResult> => {
      const [snapshot, consumerSnapshot] = await tx.getAll(record, consumer);
      const epoch = epochOf(consumerSnapshot!);
      if (recordHolds(snapshot!, epoch)) return duplicateOf(snapshot!, record);
      const transaction = new DeferredTransaction(tx);
      const outbox = withUnpublished(snapshot!, await work(transaction));
      transaction.commitWrites(tx);
      // A record of an earlier epoch is replaced whole (the transaction read it).
      if (snapshot!.exists) tx.set(record, recordData(options, epoch, outbox));
      else tx.create(record, recordData(options, epoch, outbox));
      return { status: "applied", outbox, record };
    }),
  );
}

/**
 * Why a grouped run was not committed, nothing of it applied: it must be applied with
 * {@link applyOnce} ("needs-transaction": it read what a batch cannot check, see
 * DeferredTransaction.fitsGroup, or it read and then failed, its reads not necessarily
 * consistent with each other), or a document it read changed before its commit ("conflict":
 * `paths` are the documents it read).
 */
export type GroupRefusal =
  { status: "needs-transaction" } | { status: "conflict"; paths: readonly string[] };

/**
 * Runs `work` without a transaction unless the event is already recorded as processed, its
 * reads optimistic (through the group's reader), and commits its writes with the record in
 * `groups` (see the file comment and transaction.ts).
 */
export async function applyOnceInGroup(
  firestore: Firestore,
  groups: CommitGroups,
  options: ApplyOnceOptions,
  work: HandlerWork,
): Promise<ApplyOnceResult | GroupRefusal> {
  const record = processedRef(firestore, options.consumer, options.event);
  const lookup = await groups.lookup(record);
  if (recordHolds(lookup.snapshot, lookup.epoch)) return duplicateOf(lookup.snapshot, record);
  const transaction = new DeferredTransaction(groups.read);
  let staged: OutgoingMessage[];
  try {
    staged = await work(transaction);
  } catch (err) {
    // Its reads were not necessarily consistent with each other: a transaction decides.
    if (transaction.reads > 0) return { status: "needs-transaction" };
    throw err;
  }
  return commitInGroup(groups, options, record, lookup, transaction, staged);
}

/** Why a run committed first was not committed: the lookup decides ({@link applyOnceInGroup}). */
export interface NeedsLookup {
  status: "needs-lookup";
}

/**
 * Runs `work` and commits its writes with the event's record created, in `groups`, without
 * looking the record up first: one request per group instead of two. The `create()` of the
 * record fails the run's writes if the event was already recorded. The record carries no
 * epoch number: its create time places it in its epoch (processing-epoch.ts).
 *
 * The run may be a duplicate, so it may not call an outside service
 * (DeferredTransaction.beforeOutsideCall); nor is a failure of it taken as the event's (a
 * duplicate is not dead-lettered). Either way, and when the record exists, nothing of it is
 * applied and it needs the lookup. A run that reads (through the group's reader, as a grouped
 * run) is looked up after it ran, and committed as a grouped run is.
 */
export async function applyCommittedFirst(
  firestore: Firestore,
  groups: CommitGroups,
  options: ApplyOnceOptions,
  work: HandlerWork,
): Promise<ApplyOnceResult | GroupRefusal | NeedsLookup> {
  const record = processedRef(firestore, options.consumer, options.event);
  const needsLookup: NeedsLookup = { status: "needs-lookup" };
  const transaction = new DeferredTransaction(groups.read, { outsideCalls: "refused" });
  let staged: OutgoingMessage[];
  try {
    staged = await work(transaction);
  } catch {
    return needsLookup;
  }
  if (transaction.outsideCalls > 0) return needsLookup;
  if (transaction.reads > 0) {
    const lookup = await groups.lookup(record);
    if (recordHolds(lookup.snapshot, lookup.epoch)) return duplicateOf(lookup.snapshot, record);
    return commitInGroup(groups, options, record, lookup, transaction, staged);
  }
  let result;
  try {
    result = await commitTraced(groups, {
      record,
      writes: transaction,
      recordData: recordData(options, FIRST_EPOCH, staged),
      lookUpWhenRefused: false,
    });
  } catch (err) {
    if (isConflict(err)) return needsLookup;
    throw err;
  }
  return result.status === "committed"
    ? { status: "applied", outbox: staged, record }
    : needsLookup;
}

/**
 * Commits a run that ran after its record was looked up (`lookup`, not holding) in `groups`:
 * its writes, guarded by what it read, with its record created, or replacing a record of an
 * earlier epoch. `staged`: the events the run published.
 */
async function commitInGroup(
  groups: CommitGroups,
  options: ApplyOnceOptions,
  record: DocumentReference,
  { snapshot, epoch }: RecordLookup,
  transaction: DeferredTransaction,
  staged: OutgoingMessage[],
): Promise<ApplyOnceResult | GroupRefusal> {
  // Also when a handler caught the ReadNeedsTransaction its query threw.
  if (!transaction.fitsGroup) return { status: "needs-transaction" };
  const outbox = withUnpublished(snapshot, staged);
  const data = recordData(options, epoch, outbox);
  let result;
  try {
    result = await commitTraced(groups, {
      record,
      writes: transaction,
      ...(snapshot.exists
        ? { recordData: replacing(data), replaces: snapshot.updateTime! }
        : { recordData: data }),
    });
  } catch (err) {
    if (isReadConflict(err, transaction))
      return { status: "conflict", paths: transaction.readPaths };
    throw err;
  }
  return result.status === "committed"
    ? { status: "applied", outbox, record }
    : duplicateOf(result.existing, record);
}

/** A run's commit in its group, in a span of the event's: the group's own span links to it (commit-groups.ts). */
function commitTraced(groups: CommitGroups, run: Omit<PendingRun, "span">): Promise<CommitResult> {
  return inSpan("firestore commit in group", firestoreSpan("commit"), (span) =>
    groups.commit({ ...run, span }),
  );
}

/** Clears a record's outbox once its events are published. */
export async function markPublished(record: DocumentReference): Promise<void> {
  await record.update({ outbox: FieldValue.delete(), [OUTBOX_SINCE_FIELD]: FieldValue.delete() });
}

/** A processed record whose outbox still waits to be published. */
export interface PendingOutbox {
  record: DocumentReference;
  outbox: OutgoingMessage[];
}

/**
 * The records of `consumer` whose outbox was committed at or before `committedBy`, oldest first,
 * at most `limit`.
 */
export async function pendingOutboxes(
  firestore: Firestore,
  consumer: string,
  committedBy: Date,
  limit: number,
): Promise<PendingOutbox[]> {
  const snapshot = await firestore
    .collection("consumers")
    .doc(consumer)
    .collection(PROCESSED_COLLECTION_GROUP)
    .where(OUTBOX_SINCE_FIELD, "<=", Timestamp.fromDate(committedBy))
    .orderBy(OUTBOX_SINCE_FIELD)
    .limit(limit)
    .get();
  return snapshot.docs.map((doc) => ({
    record: doc.ref,
    outbox: fromStored((doc.data() as ProcessedRecord).outbox),
  }));
}
