/**
 * The Firestore transaction a handler writes through. Reads go straight to the underlying
 * transaction; writes are recorded and applied when the handler returns, just before the
 * runtime records the event as processed. Two things follow: a handler may read after it has
 * written (Firestore refuses a read after a write in one transaction, which would make two
 * projection updates in one handler fail), and the runtime can report what a handler wrote
 * (the test helper does).
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

/** One write a handler made, as applied at commit. */
export type RecordedWrite =
  | { op: "create"; path: string; data: DocumentData }
  | { op: "set"; path: string; data: DocumentData; options?: SetOptions }
  | { op: "update"; path: string; data: DocumentData; precondition?: Precondition }
  | { op: "delete"; path: string; precondition?: Precondition };

/** The part of Firestore's Transaction a handler uses; writes are applied when it returns. */
export interface HandlerTransaction {
  get<A, D extends DocumentData>(ref: DocumentReference<A, D>): Promise<DocumentSnapshot<A, D>>;
  get<A, D extends DocumentData>(query: Query<A, D>): Promise<QuerySnapshot<A, D>>;
  getAll<A, D extends DocumentData>(...refs: DocumentReference<A, D>[]): Promise<DocumentSnapshot<A, D>[]>;
  create<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): HandlerTransaction;
  set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: PartialWithFieldValue<A>, options: SetOptions): HandlerTransaction;
  set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): HandlerTransaction;
  update<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: UpdateData<D>, precondition?: Precondition): HandlerTransaction;
  delete<A, D extends DocumentData>(ref: DocumentReference<A, D>, precondition?: Precondition): HandlerTransaction;
}

/** A {@link HandlerTransaction} over one Firestore transaction attempt. */
export class DeferredTransaction implements HandlerTransaction {
  private readonly pending: Array<(tx: Transaction) => void> = [];
  /** The writes made so far, in order. */
  readonly writes: RecordedWrite[] = [];

  constructor(private readonly tx: Transaction) {}

  get<A, D extends DocumentData>(ref: DocumentReference<A, D>): Promise<DocumentSnapshot<A, D>>;
  get<A, D extends DocumentData>(query: Query<A, D>): Promise<QuerySnapshot<A, D>>;
  get<A, D extends DocumentData>(target: DocumentReference<A, D> | Query<A, D>): Promise<DocumentSnapshot<A, D> | QuerySnapshot<A, D>> {
    return this.tx.get(target as Query<A, D>);
  }

  getAll<A, D extends DocumentData>(...refs: DocumentReference<A, D>[]): Promise<DocumentSnapshot<A, D>[]> {
    return refs.length === 0 ? Promise.resolve([]) : this.tx.getAll(...refs);
  }

  create<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): this {
    this.writes.push({ op: "create", path: ref.path, data: data as DocumentData });
    this.pending.push((tx) => tx.create(ref, data));
    return this;
  }

  set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: PartialWithFieldValue<A>, options: SetOptions): this;
  set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): this;
  set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A> | PartialWithFieldValue<A>, options?: SetOptions): this {
    this.writes.push({ op: "set", path: ref.path, data: data as DocumentData, ...(options !== undefined && { options }) });
    this.pending.push((tx) => (options === undefined ? tx.set(ref, data as WithFieldValue<A>) : tx.set(ref, data, options)));
    return this;
  }

  update<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: UpdateData<D>, precondition?: Precondition): this {
    this.writes.push({ op: "update", path: ref.path, data: data as DocumentData, ...(precondition !== undefined && { precondition }) });
    this.pending.push((tx) => (precondition === undefined ? tx.update(ref, data) : tx.update(ref, data, precondition)));
    return this;
  }

  delete<A, D extends DocumentData>(ref: DocumentReference<A, D>, precondition?: Precondition): this {
    this.writes.push({ op: "delete", path: ref.path, ...(precondition !== undefined && { precondition }) });
    this.pending.push((tx) => tx.delete(ref, precondition));
    return this;
  }

  /** Applies the recorded writes to the underlying transaction (once, after the handler returned). */
  commitWrites(): void {
    for (const write of this.pending.splice(0)) write(this.tx);
  }
}
