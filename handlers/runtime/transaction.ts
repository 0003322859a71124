/**
 * The Firestore transaction a handler writes through. Reads go straight to the underlying
 * transaction; writes are recorded and applied when the handler returns, just before the
 * runtime records the event as processed. Three things follow: a handler may read after it has
 * written (Firestore refuses a read after a write in one transaction, which would make two
 * projection updates in one handler fail), the runtime can report what a handler wrote (the
 * test helper does), and the writes can go to a batch instead of a transaction: a handler run
 * that read nothing needs no transaction, and the runtime commits such runs in groups
 * (commit-groups.ts). In that mode there is no transaction to read through: a read throws
 * {@link ReadNeedsTransaction} and marks the run, which the runtime then discards and runs
 * again in a transaction.
 *
 * Reads never see the transaction's own writes, in Firestore or here: read what you need,
 * then write.
 */
import type {
  DocumentData,
  DocumentReference,
  DocumentSnapshot,
  PartialWithFieldValue,
  Precondition,
  Query,
  QuerySnapshot,
  SetOptions,
  Transaction,
  UpdateData,
  WithFieldValue,
} from "@google-cloud/firestore";

/** Firestore's write methods, each returning `R`. */
interface Writes<R> {
  create<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): R;
  set<A, D extends DocumentData>(
    ref: DocumentReference<A, D>,
    data: PartialWithFieldValue<A>,
    options: SetOptions,
  ): R;
  set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): R;
  update<A, D extends DocumentData>(
    ref: DocumentReference<A, D>,
    data: UpdateData<D>,
    precondition?: Precondition,
  ): R;
  delete<A, D extends DocumentData>(ref: DocumentReference<A, D>, precondition?: Precondition): R;
}

/** Where recorded writes are applied: the run's Transaction, or a commit group's WriteBatch. */
export type WriteTarget = Writes<unknown>;

/**
 * Thrown by a read in a run without a transaction (see the file comment). The runtime does
 * not treat it as the handler's failure: it runs the event again in a transaction.
 */
export class ReadNeedsTransaction extends Error {
  constructor() {
    super("this handler run has no transaction to read through; the runtime runs it again in one");
    this.name = "ReadNeedsTransaction";
  }
}

/** One write a handler made, as applied at commit. */
export type RecordedWrite =
  | { op: "create"; path: string; data: DocumentData }
  | { op: "set"; path: string; data: DocumentData; options?: SetOptions }
  | { op: "update"; path: string; data: DocumentData; precondition?: Precondition }
  | { op: "delete"; path: string; precondition?: Precondition };

/** The part of Firestore's Transaction a handler uses; writes are applied when it returns. */
export interface HandlerTransaction extends Writes<HandlerTransaction> {
  get<A, D extends DocumentData>(ref: DocumentReference<A, D>): Promise<DocumentSnapshot<A, D>>;
  get<A, D extends DocumentData>(query: Query<A, D>): Promise<QuerySnapshot<A, D>>;
  getAll<A, D extends DocumentData>(
    ...refs: DocumentReference<A, D>[]
  ): Promise<DocumentSnapshot<A, D>[]>;
}

/**
 * A {@link HandlerTransaction} over one Firestore transaction attempt, or over none (a run
 * whose writes go to a commit group's batch; reads then throw {@link ReadNeedsTransaction}).
 */
export class DeferredTransaction implements HandlerTransaction {
  private readonly pending: Array<(target: WriteTarget) => void> = [];
  /** The writes made so far, in order. */
  readonly writes: RecordedWrite[] = [];
  /** Reads the handler made (or, without a transaction, tried to make). */
  reads = 0;

  constructor(private readonly tx: Transaction | undefined) {}

  get<A, D extends DocumentData>(ref: DocumentReference<A, D>): Promise<DocumentSnapshot<A, D>>;
  get<A, D extends DocumentData>(query: Query<A, D>): Promise<QuerySnapshot<A, D>>;
  get<A, D extends DocumentData>(
    target: DocumentReference<A, D> | Query<A, D>,
  ): Promise<DocumentSnapshot<A, D> | QuerySnapshot<A, D>> {
    this.reads++;
    if (this.tx === undefined) return Promise.reject(new ReadNeedsTransaction());
    return this.tx.get(target as Query<A, D>);
  }

  getAll<A, D extends DocumentData>(
    ...refs: DocumentReference<A, D>[]
  ): Promise<DocumentSnapshot<A, D>[]> {
    if (refs.length === 0) return Promise.resolve([]);
    this.reads++;
    if (this.tx === undefined) return Promise.reject(new ReadNeedsTransaction());
    return this.tx.getAll(...refs);
  }

  create<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): this {
    this.writes.push({ op: "create", path: ref.path, data: data as DocumentData });
    this.pending.push((target) => target.create(ref, data));
    return this;
  }

  set<A, D extends DocumentData>(
    ref: DocumentReference<A, D>,
    data: PartialWithFieldValue<A>,
    options: SetOptions,
  ): this;
  set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): this;
  set<A, D extends DocumentData>(
    ref: DocumentReference<A, D>,
    data: WithFieldValue<A> | PartialWithFieldValue<A>,
    options?: SetOptions,
  ): this {
    this.writes.push({
      op: "set",
      path: ref.path,
      data: data as DocumentData,
      ...(options !== undefined && { options }),
    });
    this.pending.push((target) =>
      options === undefined
        ? target.set(ref, data as WithFieldValue<A>)
        : target.set(ref, data, options),
    );
    return this;
  }

  update<A, D extends DocumentData>(
    ref: DocumentReference<A, D>,
    data: UpdateData<D>,
    precondition?: Precondition,
  ): this {
    this.writes.push({
      op: "update",
      path: ref.path,
      data: data as DocumentData,
      ...(precondition !== undefined && { precondition }),
    });
    this.pending.push((target) =>
      precondition === undefined
        ? target.update(ref, data)
        : target.update(ref, data, precondition),
    );
    return this;
  }

  delete<A, D extends DocumentData>(
    ref: DocumentReference<A, D>,
    precondition?: Precondition,
  ): this {
    this.writes.push({
      op: "delete",
      path: ref.path,
      ...(precondition !== undefined && { precondition }),
    });
    this.pending.push((target) => target.delete(ref, precondition));
    return this;
  }

  /** The number of writes recorded. */
  get writeCount(): number {
    return this.pending.length;
  }

  /**
   * Applies the recorded writes to `target`, after the handler returned: once to its
   * transaction, or to each batch a commit group tries.
   */
  commitWrites(target: WriteTarget): void {
    for (const write of this.pending) write(target);
  }
}
