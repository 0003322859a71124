/**
 * Commit groups: the handler runs of many events committed together. A handler run does not
 * need a transaction when a batch has the same effect: its writes and the event's processed
 * record go in one atomic batch, the record written with `create()`, so the batch fails if the
 * event was already recorded. A run that read nothing fits. So does a run that read documents
 * optimistically (through {@link CommitGroups.read}, gathered with other runs' reads into one
 * `getAll`) and writes every document it read: its first write to each carries a precondition
 * on the version it read, so the batch fails if another writer came in between (the rules are
 * DeferredTransaction.fitsGroup's, transaction.ts). Many such batches fit in one commit: each
 * event's writes stay together (all or nothing), and the commit carries a group of events for
 * the price of one request. Checking the processed records before running the handlers is
 * grouped the same way, into one `getAll()`, which reads the consumer's processing epoch too
 * (processing-epoch.ts). A record of an earlier epoch is replaced with an update conditioned on
 * the version read, so a concurrent run that rewrote it first wins, as `create()` lets the
 * first run win otherwise.
 *
 * When a group leaves: as soon as fewer than {@link GROUPS_IN_FLIGHT} groups of its kind are in
 * flight, else when one returns (SendWhenIdle). A lone event waits for nothing, and under load
 * the runs that arrive while requests are out gather into the next group, so groups grow with
 * the load instead of with a timer. A group costs about one request however many events it
 * carries, so this path takes several times the events per second of a transaction each, and
 * more than a plain create of one document (bench/README.md, firestore-ops).
 *
 * A commit that fails for what one event carries (its record already exists: a concurrent
 * delivery won; a precondition on what a run read no longer holds; a handler's own `create()`
 * or `update()` meets a document that is or is not there) would fail the whole group, so the
 * group's events are then committed one by one and only that event fails. Any other failure
 * (Firestore unreachable) fails every event of the commit, each to be retried on its own. No two
 * runs writing one document share a commit (packCommits). A run whose read was overtaken is run again in a group, up to
 * {@link CONFLICT_RETRIES} times, one after another with the other runs overtaken on the same
 * document (ConflictLanes), then in a transaction; a run refused for a document it creates
 * without having read it absent is not run again (isReadConflict).
 *
 * Committed first: a run of a handler that reads nothing and calls nothing outside need not
 * wait for its record's lookup. It runs, and its writes go to a group with the record's
 * `create()`, which fails them if the event was recorded before; only then is the record looked
 * up (idempotency.ts, applyCommittedFirst). A group then costs one request instead of two: the
 * lookup was the half of a quiet worker's time in Firestore (bench/README.md, "What one event's
 * requests cost").
 *
 * {@link CommitPolicy} decides which runs come here: a consumer's runs start in transactions,
 * and once its handler has gone {@link RUNS_BEFORE_GROUPING} runs that fit a group, they come
 * here, until a run does not fit (a query, a document read and not written, a write no
 * precondition can guard): then the consumer goes back to transactions for the rest of the
 * process. It also decides which grouped runs are committed first.
 *
 * Tracing: a group's commit carries several events, each of its own trace, so its span
 * (`firestore commit group`) is the child of none of them: it starts a trace of its own and
 * links to the span of each event it carries, and each event's span links back to it.
 */
import DataLoader from "dataloader";
import type {
  DocumentData,
  DocumentReference,
  DocumentSnapshot,
  Firestore,
  Timestamp,
} from "@google-cloud/firestore";
import { consumerDocumentOf, epochOf, recordHolds, type ProcessingEpoch } from "./processing-epoch";
import type { DeferredTransaction } from "./transaction";
import {
  ATTR,
  FIRESTORE_SYSTEM,
  SpanKind,
  context,
  recordFailure,
  trace,
  tracer,
  type Span,
} from "./tracing";

/** Groups of one kind (lookups, or commits) in flight at once, at most; the next waits for one to return. */
export const GROUPS_IN_FLIGHT = 2;

/** Events in one group at most: a commit of this many events' writes costs little more than one event's (bench/README.md, "What the emulators do"). */
export const MAX_GROUP_EVENTS = 100;

/** Writes in one commit at most: Firestore's limit for one batch. */
export const MAX_COMMIT_WRITES = 500;

/** Handler runs in a row that fit a group (RunReport) after which a consumer's runs are committed in groups. */
export const RUNS_BEFORE_GROUPING = 20;

/** gRPC codes of a commit refused for what one of its writes carries, not for the service's state. */
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
/** Codes of a write refused for the state of its document: there or not, or changed since read. */
const CONFLICTS = new Set([5 /* NOT_FOUND */, ALREADY_EXISTS, FAILED_PRECONDITION]);
const DATA_ERRORS = new Set([3 /* INVALID_ARGUMENT */, ...CONFLICTS]);

const codeOf = (err: unknown): number | undefined => (err as { code?: number } | undefined)?.code;

/** True when a commit was refused for the state of a document it writes, not for the service's. */
export const isConflict = (err: unknown): boolean => CONFLICTS.has(codeOf(err) ?? -1);

/**
 * True when a grouped run's commit was refused because a document it read changed since: run
 * again, it may commit. ALREADY_EXISTS is such a refusal only when the run writes a document it
 * read as absent; otherwise it came from a create of a document the run did not read absent,
 * which fails however often the run is retried: the run's failure, as in a transaction.
 */
export function isReadConflict(err: unknown, run: DeferredTransaction): boolean {
  if (run.reads === 0 || !isConflict(err)) return false;
  return codeOf(err) !== ALREADY_EXISTS || run.writesWhatItReadAbsent;
}
const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** One handler run waiting to be committed: its writes, and its processed record to create. */
export interface PendingRun {
  record: DocumentReference;
  recordData: DocumentData;
  writes: DeferredTransaction;
  /**
   * The version of a record of an earlier epoch that the run replaces instead of creating one;
   * `recordData` is then an update that deletes the fields it does not set.
   */
  replaces?: Timestamp;
  /** The span of the event's delivery, which the group's commit span links to. Default: none. */
  span?: Span;
  /**
   * Whether a `create()` refused as a whole is looked into, to tell a duplicate (the record
   * exists) from the handler's own write refused. Default true; a run committed first is
   * looked up by its caller anyway, so it is told the refusal.
   */
  lookUpWhenRefused?: boolean;
}

/** A processed record as looked up, with its consumer's processing epoch read in the same request. */
export interface RecordLookup {
  snapshot: DocumentSnapshot;
  epoch: ProcessingEpoch;
}

/** What became of a run: committed, or not committed because its record already existed (returned). */
export type CommitResult =
  { status: "committed" } | { status: "duplicate"; existing: DocumentSnapshot };

/**
 * DataLoader scheduling that sends a group as soon as fewer than `limit` groups of its kind are
 * in flight, and otherwise when one returns: a lone run waits for nothing, and under load what
 * arrives while requests are out gathers into the next group.
 */
class SendWhenIdle {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  readonly schedule = (send: () => void): void => {
    this.waiting.push(send);
    // After this turn of the event loop, so the runs it started join the group.
    setImmediate(() => this.next());
  };

  /** Wraps a batch function so that its groups count as in flight until they return. */
  track<K, V>(batch: (keys: readonly K[]) => Promise<V[]>): (keys: readonly K[]) => Promise<V[]> {
    return async (keys) => {
      this.inFlight++;
      try {
        return await batch(keys);
      } finally {
        this.inFlight--;
        this.next();
      }
    };
  }

  private next(): void {
    while (this.inFlight < this.limit && this.waiting.length > 0) this.waiting.shift()!();
  }
}

/**
 * Groups the processed-record lookups and the commits of concurrent handler runs (one instance
 * per consumer). `onCommit` is told the number of events in every commit sent.
 */
export class CommitGroups {
  private readonly lookups: DataLoader<DocumentReference, RecordLookup, string>;
  private readonly reads: DataLoader<DocumentReference, DocumentSnapshot, string>;
  private readonly commits: DataLoader<PendingRun, CommitResult, PendingRun>;

  constructor(
    private readonly firestore: Firestore,
    private readonly onCommit: (events: number) => void = () => undefined,
  ) {
    const lookups = new SendWhenIdle(GROUPS_IN_FLIGHT);
    const commits = new SendWhenIdle(GROUPS_IN_FLIGHT);
    const reads = new SendWhenIdle(GROUPS_IN_FLIGHT);
    this.lookups = new DataLoader(
      lookups.track((refs) => this.getAll(refs)),
      { batchScheduleFn: lookups.schedule, maxBatchSize: MAX_GROUP_EVENTS, cache: false },
    );
    this.reads = new DataLoader(
      reads.track((refs) => this.readAll(refs)),
      { batchScheduleFn: reads.schedule, maxBatchSize: MAX_GROUP_EVENTS, cache: false },
    );
    this.commits = new DataLoader(
      commits.track((runs) => this.commitGroup(runs)),
      { batchScheduleFn: commits.schedule, maxBatchSize: MAX_GROUP_EVENTS, cache: false },
    );
  }

  /** The current snapshot of a processed record and its consumer's epoch, read together with those of other runs. */
  lookup(record: DocumentReference): Promise<RecordLookup> {
    return this.lookups.load(record);
  }

  /** A document a run reads optimistically, read together with those of other runs (transaction.ts). */
  readonly read = (ref: DocumentReference): Promise<DocumentSnapshot> => this.reads.load(ref);

  /** Commits a run's writes and creates its record, together with other runs (see the file comment). */
  commit(run: PendingRun): Promise<CommitResult> {
    return this.commits.load(run);
  }

  private async getAll(refs: readonly DocumentReference[]): Promise<RecordLookup[]> {
    const snapshots = await this.snapshotsByPath([...refs, ...refs.map(consumerDocumentOf)]);
    return refs.map((ref) => ({
      snapshot: snapshots.get(ref.path)!,
      epoch: epochOf(snapshots.get(consumerDocumentOf(ref).path)!),
    }));
  }

  private async readAll(refs: readonly DocumentReference[]): Promise<DocumentSnapshot[]> {
    const snapshots = await this.snapshotsByPath(refs);
    return refs.map((ref) => snapshots.get(ref.path)!);
  }

  /** The snapshots of `refs` by path, each path read once, in one request. */
  private async snapshotsByPath(
    refs: readonly DocumentReference[],
  ): Promise<Map<string, DocumentSnapshot>> {
    const unique = [...new Map(refs.map((ref) => [ref.path, ref])).values()];
    return new Map(
      (await this.firestore.getAll(...unique)).map((snapshot) => [snapshot.ref.path, snapshot]),
    );
  }

  private async commitGroup(runs: readonly PendingRun[]): Promise<Array<CommitResult | Error>> {
    const commits = packCommits(runs);
    const settled = await Promise.all(
      commits.map((indexes) => this.commitTogether(indexes.map((i) => runs[i]!))),
    );
    const results: Array<CommitResult | Error> = [];
    commits.forEach((indexes, c) => indexes.forEach((i, k) => (results[i] = settled[c]![k]!)));
    return results;
  }

  /** Commits `runs` in one request; refused for what one of them carries, commits each alone. */
  private async commitTogether(runs: readonly PendingRun[]): Promise<Array<CommitResult | Error>> {
    const span = this.groupSpan(runs);
    try {
      await this.batchOf(runs).commit();
      span.end();
    } catch (err) {
      recordFailure(span, err);
      span.end();
      if (runs.length === 1) return [await this.refused(runs[0]!, err).catch(asError)];
      if (!DATA_ERRORS.has(codeOf(err) ?? -1)) return runs.map(() => asError(err));
      return (await Promise.all(runs.map((run) => this.commitTogether([run])))).flat();
    }
    this.onCommit(runs.length);
    return runs.map(() => ({ status: "committed" }));
  }

  /** What a commit of `run` alone that failed with `err` means: a duplicate, or the run's failure (thrown). */
  private async refused(run: PendingRun, err: unknown): Promise<CommitResult> {
    const code = codeOf(err);
    if (run.replaces === undefined) {
      if (code !== ALREADY_EXISTS || run.lookUpWhenRefused === false) throw err;
      // The record, or a document the handler creates, already exists; only the first is a duplicate.
      const existing = await run.record.get();
      if (existing.exists) return { status: "duplicate", existing };
      throw err;
    }
    if (code !== FAILED_PRECONDITION && code !== ALREADY_EXISTS) throw err;
    // Another run rewrote the record of the earlier epoch first (or the handler's own write was
    // refused): a duplicate only when the record now counts in the current epoch.
    const [existing, consumer] = await this.firestore.getAll(
      run.record,
      consumerDocumentOf(run.record),
    );
    if (recordHolds(existing!, epochOf(consumer!)))
      return { status: "duplicate", existing: existing! };
    throw err;
  }

  /** A root span linked to every run's span, each of which links back (see the file comment). */
  private groupSpan(runs: readonly PendingRun[]): Span {
    const links = runs.flatMap((run) =>
      run.span === undefined ? [] : [{ context: run.span.spanContext() }],
    );
    const span = tracer().startSpan(
      "firestore commit group",
      {
        root: true,
        kind: SpanKind.CLIENT,
        links,
        attributes: {
          [ATTR.dbSystem]: FIRESTORE_SYSTEM,
          [ATTR.dbOperation]: "commit",
          [ATTR.dbBatchSize]: runs.length,
        },
      },
      context.active(),
    );
    if (trace.isSpanContextValid(span.spanContext()))
      for (const run of runs) run.span?.addLink({ context: span.spanContext() });
    return span;
  }

  private batchOf(runs: readonly PendingRun[]) {
    const batch = this.firestore.batch();
    for (const run of runs) {
      run.writes.commitWrites(batch);
      if (run.replaces === undefined) batch.create(run.record, run.recordData);
      else batch.update(run.record, run.recordData, { lastUpdateTime: run.replaces });
    }
    return batch;
  }
}

/** Times a run whose read was overtaken is run again in a group, in its lane, before it takes a transaction. */
export const CONFLICT_RETRIES = 3;

/**
 * Runs the retries of conflicting runs one after another per document: runs that read the
 * same document and were overtaken would overtake each other again if retried together (one
 * commit wins per round), and a transaction each queues on the document's lock, which the
 * emulator resolves slowly. In a lane each retry reads what the one before it wrote.
 */
export class ConflictLanes {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `retry` after the retries already waiting on the first of `paths`. */
  after<T>(paths: readonly string[], retry: () => Promise<T>): Promise<T> {
    const key = [...paths].sort()[0] ?? "";
    const run = (this.tails.get(key) ?? Promise.resolve()).then(retry, retry);
    const tail = run.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return run;
  }
}

/**
 * Splits a group into commits, as indexes into `runs`: at most {@link MAX_COMMIT_WRITES} writes
 * each, and never two runs writing the same document in one commit. Two runs of one event
 * would create one record twice in a request, which is refused as a whole; two runs writing one
 * document would leave it to the order of a commit's writes which of their preconditions holds
 * and what the document ends as. In separate commits, each run's writes apply or fail alone.
 */
export function packCommits(runs: readonly Pick<PendingRun, "record" | "writes">[]): number[][] {
  const commits: Array<{ indexes: number[]; writes: number; paths: Set<string> }> = [];
  runs.forEach((run, index) => {
    const writes = run.writes.writeCount + 1;
    const paths = [run.record.path, ...run.writes.writtenPaths];
    const fits = commits.find(
      (c) =>
        !paths.some((path) => c.paths.has(path)) &&
        (c.writes + writes <= MAX_COMMIT_WRITES || c.indexes.length === 0),
    );
    const commit = fits ?? { indexes: [], writes: 0, paths: new Set<string>() };
    if (fits === undefined) commits.push(commit);
    commit.indexes.push(index);
    commit.writes += writes;
    for (const path of paths) commit.paths.add(path);
  });
  return commits.map((c) => c.indexes);
}

/** After a run committed first is refused or discarded, this many runs look their records up first. */
export const LOOKUP_FIRST_AFTER_MISS = 100;

/** What a run reports at its end: the reads it made, and whether it could be committed in a group. */
export interface RunReport {
  reads: number;
  /** DeferredTransaction.fitsGroup: a batch with preconditions has the run's transaction's effect. */
  fitsGroup: boolean;
  /** Outside services it called (`ctx.breaker`). */
  outsideCalls: number;
  /** Whether it was committed first (true), tried that and needed the lookup (false), or did not try. */
  committedFirst?: boolean;
}

/** A run's turn from {@link CommitPolicy.begin}: how to commit it, and how to report it. */
export interface CommitTurn {
  readonly grouped: boolean;
  /** Commit before looking the record up (idempotency.ts, applyCommittedFirst); only when grouped. */
  readonly commitFirst: boolean;
  /** Reports the run, or undefined when the handler did not run. */
  end(report: RunReport | undefined): void;
}

/**
 * Whether a consumer's handler runs go to commit groups (see the file comment): after
 * `runsBeforeGrouping` runs that fit a group, and never again once a run has not. Until it
 * has decided, at most the runs it still needs are in flight (in transactions) and the others
 * wait: started together, a worker's first few hundred messages would all take transactions,
 * which the emulator serializes (seconds for the first wave).
 *
 * Grouped runs are committed first, their records not looked up, while no run of the handler
 * has read or called an outside service; after a run committed first turns out a duplicate (a
 * redelivery wave: a restart, a seek) or is discarded, the next {@link LOOKUP_FIRST_AFTER_MISS}
 * runs look up first, since a duplicate committed first costs a refused commit and a lookup.
 */
export class CommitPolicy {
  private fitting = 0;
  private unfit = false;
  private hasRead = false;
  private calledOut = false;
  private lookupFirstRuns = 0;
  private trials = 0;
  private waiting: Array<() => void> = [];

  /** `onChange` hears when the mode changes. */
  constructor(
    readonly runsBeforeGrouping: number = RUNS_BEFORE_GROUPING,
    private readonly onChange: (mode: "grouping" | "transactions") => void = () => undefined,
  ) {}

  /** True once runs are committed in groups. */
  get grouped(): boolean {
    return !this.unfit && this.fitting >= this.runsBeforeGrouping;
  }

  /** True once the policy knows: groups, or transactions for good. */
  get decided(): boolean {
    return this.unfit || this.fitting >= this.runsBeforeGrouping;
  }

  /**
   * True while runs are grouped and none has read: concurrent runs then see nothing of each
   * other's effects, so their order changes nothing (what a replay needs to run flows at once).
   */
  get readsNothing(): boolean {
    return this.grouped && !this.hasRead;
  }

  /** Waits for a run's turn and says how to commit it. */
  async begin(): Promise<CommitTurn> {
    while (!this.decided && this.trials >= this.runsBeforeGrouping - this.fitting)
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    const trial = !this.decided;
    if (trial) this.trials++;
    const grouped = this.grouped;
    const commitFirst = this.readsNothing && !this.calledOut && this.lookupFirstRuns === 0;
    if (this.lookupFirstRuns > 0) this.lookupFirstRuns--;
    let ended = false;
    return {
      grouped,
      commitFirst,
      end: (report) => {
        if (ended) return;
        ended = true;
        if (trial) this.trials--;
        const before = this.grouped;
        if (report !== undefined) {
          if (report.committedFirst === false) this.lookupFirstRuns = LOOKUP_FIRST_AFTER_MISS;
          if (report.outsideCalls > 0) this.calledOut = true;
          if (report.reads > 0) this.hasRead = true;
          if (report.fitsGroup) this.fitting++;
          else this.unfit = true;
        }
        if (before !== this.grouped) this.onChange(this.grouped ? "grouping" : "transactions");
        if (trial) for (const wake of this.waiting.splice(0)) wake();
      },
    };
  }
}
