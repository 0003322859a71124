/**
 * The Firestore transaction a handler writes through. Writes are recorded and applied when the
 * handler returns, just before the runtime records the event as processed. Three things follow:
 * a handler may read after it has written (Firestore refuses a read after a write in one
 * transaction, which would make two projection updates in one handler fail), the runtime can
 * report what a handler wrote (the test helper does), and the writes can go to a batch instead
 * of a transaction, which the runtime commits in groups (commit-groups.ts).
 *
 * Reads go one of three ways:
 * - through a Firestore transaction attempt (`applyOnce`);
 * - optimistically, through a {@link DocumentReader} that gathers the reads of concurrent runs
 *   into one `getAll` (a commit group): the snapshot of every document read is kept, and at
 *   commit the run's first write to each such document carries a precondition on what was read
 *   (its update time, or that it does not exist), so the commit fails if another writer came
 *   between the read and the commit. Firestore has no write that only checks a precondition,
 *   so a run fits a group only when it writes every document it read, or writes nothing but
 *   its processed record after reading one document (see {@link DeferredTransaction.fitsGroup});
 *   a query never fits, nor a document read through a converter;
 * - nowhere: a run without a transaction or a reader throws {@link ReadNeedsTransaction}.
 * A run that does not fit is discarded and run again in a transaction.
 *
 * A run committed before its processed record is looked up (commit-groups.ts, "committed
 * first") may turn out a duplicate, so it may not call an outside service: its `ctx.breaker`
 * throws {@link OutsideCallNeedsLookup}, and it is run again after the lookup if it is new.
 *
 * Reads never see the transaction's own writes, in Firestore or here: read what you need,
 * then write.
 */
import {
  DocumentReference,
  FieldPath,
  FieldValue,
  type DocumentData,
  type DocumentSnapshot,
  type PartialWithFieldValue,
  type Precondition,
  type Query,
  type QuerySnapshot,
  type SetOptions,
  type Transaction,
  type UpdateData,
  type WithFieldValue,
  type WriteBatch,
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

/**
 * Thrown by `ctx.breaker(name)` in a run committed before its record is looked up: the event
 * may already be handled, and an outside call must not be repeated for a duplicate. The runtime
 * discards the run, looks the record up, and runs the handler again only if it is not.
 */
export class OutsideCallNeedsLookup extends Error {
  constructor() {
    super(
      "this handler run is committed before its processed record is looked up and may not call out; the runtime looks it up and runs it again",
    );
    this.name = "OutsideCallNeedsLookup";
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
 * Reads documents for an optimistic run: a commit group's reader gathers the reads of
 * concurrent runs into one `getAll` (commit-groups.ts).
 */
export type DocumentReader = (ref: DocumentReference) => Promise<DocumentSnapshot>;

/** A recorded write: what the handler asked for, with the reference it wrote. */
interface PendingWrite {
  ref: DocumentReference;
  write: RecordedWrite;
  /** The write as the handler made it, to a transaction or a batch. */
  apply(target: WriteTarget): void;
}

/** How a write is applied to a batch so that it fails if its document changed since it was read. */
type GuardedWrite = (batch: WriteBatch) => void;

/** What was read of one document, at the run's first read of it. */
type Observed = DocumentSnapshot;

const usesDefaultConverter = (ref: DocumentReference): boolean =>
  ref.isEqual(ref.withConverter(null));

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;

const DELETE = FieldValue.delete();

/** True when `data` holds FieldValue.delete() at any depth (which `create` refuses). */
function holdsDelete(data: unknown): boolean {
  if (data instanceof FieldValue) return data.isEqual(DELETE);
  return isPlainObject(data) && Object.values(data).some(holdsDelete);
}

/** `data`'s leaves as field paths and values, as a merging `set` writes them. */
function leaves(data: Record<string, unknown>, prefix: string[] = []): Array<[FieldPath, unknown]> {
  return Object.entries(data).flatMap(([key, value]) =>
    isPlainObject(value) && Object.keys(value).length > 0
      ? leaves(value, [...prefix, key])
      : [[new FieldPath(...prefix, key), value] as [FieldPath, unknown]],
  );
}

/** An update of `pairs` to `ref` on the condition that it was last updated at `read`'s time. */
function guardedUpdate(
  ref: DocumentReference,
  pairs: Array<[FieldPath, unknown]>,
  read: Observed,
): GuardedWrite | undefined {
  if (pairs.length === 0) return undefined;
  const [[field, value], ...rest] = pairs as [[FieldPath, unknown], ...Array<[FieldPath, unknown]>];
  return (batch) =>
    batch.update(ref, field, value, ...rest.flat(), { lastUpdateTime: read.updateTime! });
}

/**
 * The write to apply instead of `pending` so that the commit fails if the document is no
 * longer as `read` saw it; undefined when no such write has the same effect.
 */
function guard(pending: PendingWrite, read: Observed): GuardedWrite | undefined {
  const { ref, write } = pending;
  if (!usesDefaultConverter(ref)) return undefined;
  switch (write.op) {
    case "create":
      // A create already requires the document to be absent.
      return (batch) => batch.create(ref, write.data);
    case "set": {
      const merge =
        write.options !== undefined && "merge" in write.options && write.options.merge === true;
      if (write.options !== undefined && !merge) return undefined; // mergeFields
      if (!read.exists)
        return holdsDelete(write.data) ? undefined : (batch) => batch.create(ref, write.data);
      if (merge) return guardedUpdate(ref, leaves(write.data), read);
      // A whole replacement: every field it sets, and the ones it drops deleted.
      const dropped = Object.keys(read.data() ?? {}).filter((key) => !(key in write.data));
      return guardedUpdate(
        ref,
        [
          ...Object.entries(write.data).map(
            ([key, value]) => [new FieldPath(key), value] as [FieldPath, unknown],
          ),
          ...dropped.map((key) => [new FieldPath(key), DELETE] as [FieldPath, unknown]),
        ],
        read,
      );
    }
    case "update":
      if (!read.exists || write.precondition !== undefined) return undefined;
      return (batch) => batch.update(ref, write.data, { lastUpdateTime: read.updateTime! });
    case "delete":
      if (!read.exists || write.precondition !== undefined) return undefined;
      return (batch) => batch.delete(ref, { lastUpdateTime: read.updateTime! });
  }
}

/**
 * A {@link HandlerTransaction} over one Firestore transaction attempt, over a commit group's
 * {@link DocumentReader} (an optimistic run), or over neither (reads then throw
 * {@link ReadNeedsTransaction}). See the file comment.
 */
export class DeferredTransaction implements HandlerTransaction {
  private readonly pending: PendingWrite[] = [];
  /** The snapshot of each document read, at its first read, by path. */
  private readonly observed = new Map<string, Observed>();
  /** It read what no precondition can guard: a query, or a document through a converter. */
  private unguardable = false;
  /** Reads the handler made (or, without a transaction or a reader, tried to make). */
  reads = 0;
  /** Outside services the handler called (or, in a run committed first, tried to): `ctx.breaker`. */
  outsideCalls = 0;

  /**
   * @param options.outsideCalls "refused" for a run committed before its record is looked up:
   * it may be a duplicate, so it may not call out ({@link beforeOutsideCall}). Default "allowed".
   */
  constructor(
    private readonly source: Transaction | DocumentReader | undefined,
    private readonly options: { outsideCalls?: "allowed" | "refused" } = {},
  ) {}

  /** Counts an outside call, before it is made (the handler's context calls this); throws when they are refused. */
  beforeOutsideCall(): void {
    this.outsideCalls++;
    if (this.options.outsideCalls === "refused") throw new OutsideCallNeedsLookup();
  }

  /** The writes made so far, in order. */
  get writes(): RecordedWrite[] {
    return this.pending.map((p) => p.write);
  }

  get<A, D extends DocumentData>(ref: DocumentReference<A, D>): Promise<DocumentSnapshot<A, D>>;
  get<A, D extends DocumentData>(query: Query<A, D>): Promise<QuerySnapshot<A, D>>;
  get<A, D extends DocumentData>(
    target: DocumentReference<A, D> | Query<A, D>,
  ): Promise<DocumentSnapshot<A, D> | QuerySnapshot<A, D>> {
    this.reads++;
    if (!(target instanceof DocumentReference)) {
      // A query's result cannot be guarded by a precondition.
      this.unguardable = true;
      if (typeof this.source !== "object") return Promise.reject(new ReadNeedsTransaction());
      return this.source.get(target as Query<A, D>);
    }
    return this.readDocuments([target as DocumentReference<A, D>]).then(([snapshot]) => snapshot!);
  }

  getAll<A, D extends DocumentData>(
    ...refs: DocumentReference<A, D>[]
  ): Promise<DocumentSnapshot<A, D>[]> {
    if (refs.length === 0) return Promise.resolve([]);
    this.reads++;
    return this.readDocuments(refs);
  }

  private async readDocuments<A, D extends DocumentData>(
    refs: DocumentReference<A, D>[],
  ): Promise<DocumentSnapshot<A, D>[]> {
    const source = this.source;
    if (source === undefined) throw new ReadNeedsTransaction();
    if (typeof source !== "function") {
      const snapshots = await source.getAll(...refs);
      for (const snapshot of snapshots)
        if (!this.observed.has(snapshot.ref.path))
          this.observed.set(snapshot.ref.path, snapshot as unknown as Observed);
      return snapshots;
    }
    // The group's reader reads each path once for every run, without their converters.
    if (!refs.every((ref) => usesDefaultConverter(ref as unknown as DocumentReference))) {
      this.unguardable = true;
      throw new ReadNeedsTransaction();
    }
    // Optimistic: one view per document for the whole run, the first read's.
    return Promise.all(
      refs.map(async (ref) => {
        let snapshot = this.observed.get(ref.path);
        if (snapshot === undefined) {
          snapshot = await source(ref as unknown as DocumentReference);
          if (!this.observed.has(ref.path)) this.observed.set(ref.path, snapshot);
          snapshot = this.observed.get(ref.path)!;
        }
        return snapshot as unknown as DocumentSnapshot<A, D>;
      }),
    );
  }

  private record(ref: DocumentReference, write: RecordedWrite, apply: (t: WriteTarget) => void) {
    this.pending.push({ ref, write, apply });
  }

  create<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): this {
    this.record(
      ref as unknown as DocumentReference,
      { op: "create", path: ref.path, data: data as DocumentData },
      (target) => target.create(ref, data),
    );
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
    this.record(
      ref as unknown as DocumentReference,
      {
        op: "set",
        path: ref.path,
        data: data as DocumentData,
        ...(options !== undefined && { options }),
      },
      (target) =>
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
    this.record(
      ref as unknown as DocumentReference,
      {
        op: "update",
        path: ref.path,
        data: data as DocumentData,
        ...(precondition !== undefined && { precondition }),
      },
      (target) =>
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
    this.record(
      ref as unknown as DocumentReference,
      {
        op: "delete",
        path: ref.path,
        ...(precondition !== undefined && { precondition }),
      },
      (target) => target.delete(ref, precondition),
    );
    return this;
  }

  /** The number of writes recorded. */
  get writeCount(): number {
    return this.pending.length;
  }

  /** The paths of the documents the run read. */
  get readPaths(): string[] {
    return [...this.observed.keys()];
  }

  /**
   * True when the run writes a document it read as absent. A commit refused with ALREADY_EXISTS
   * was refused for such a write, which another run may have overtaken, or for a create of a
   * document it did not read or read as present, which fails however often it is run.
   */
  get writesWhatItReadAbsent(): boolean {
    return this.pending.some((pending) => this.observed.get(pending.write.path)?.exists === false);
  }

  /** The paths of the documents the run writes. */
  get writtenPaths(): string[] {
    return [...new Set(this.pending.map((p) => p.write.path))];
  }

  /**
   * The run's writes with a precondition on what it read, by write; undefined when the run
   * cannot be committed outside a transaction (see {@link fitsGroup}).
   */
  private guarded(): Array<GuardedWrite | undefined> | undefined {
    if (this.unguardable) return undefined;
    // Only its processed record is written: serialized at its read, which must then be of one
    // document (reads of several, in separate requests, need not be consistent with each other).
    if (this.pending.length === 0) return this.observed.size <= 1 ? [] : undefined;
    const guards: Array<GuardedWrite | undefined> = this.pending.map(() => undefined);
    const covered = new Set<string>();
    for (const [index, pending] of this.pending.entries()) {
      const read = this.observed.get(pending.write.path);
      if (read === undefined || covered.has(pending.write.path)) continue;
      const guarded = guard(pending, read);
      if (guarded === undefined) return undefined;
      guards[index] = guarded;
      covered.add(pending.write.path);
    }
    // A document read and not written cannot be checked at commit (Firestore has no check-only write).
    for (const path of this.observed.keys()) if (!covered.has(path)) return undefined;
    return guards;
  }

  /**
   * True when the run can be committed in a batch with the same effect as its transaction:
   * it read no query, and it either wrote every document it read (each first write then
   * carries a precondition on the read) or wrote nothing but its processed record after
   * reading at most one document.
   */
  get fitsGroup(): boolean {
    return this.guarded() !== undefined;
  }

  /**
   * Applies the recorded writes to `target`, after the handler returned: once to its
   * transaction, or to each batch a commit group tries. A run that read through a reader has
   * its first write to each document it read guarded by a precondition on that read.
   */
  commitWrites(target: WriteTarget | WriteBatch): void {
    const guards =
      this.observed.size > 0 && typeof this.source === "function" ? this.guarded() : [];
    if (guards === undefined)
      throw new Error("this run read what a batch cannot check; it needs a transaction");
    this.pending.forEach((pending, index) => {
      const guarded = guards[index];
      if (guarded !== undefined) guarded(target as WriteBatch);
      else pending.apply(target);
    });
  }
}
