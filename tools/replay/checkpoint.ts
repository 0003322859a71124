/**
 * Where an in-process replay has got to, so that an interrupted one (Ctrl-C, a lost connection)
 * continues instead of starting again: the last stored event such that it and every event
 * before it are applied, and the counts up to there.
 *
 * It is a document in the replay's own database (`replay-checkpoints/in-process`), not a file
 * under .eventline/: the checkpoint describes what that database holds, so it lives and dies
 * with it. A new replay empties the database and the checkpoint with it; a replay run from
 * another machine, or against the cloud, finds it; and a file could say "resume" about a
 * database someone has since emptied.
 *
 * A checkpoint is written as the replay advances (in-process.ts), not atomically with the
 * groups it covers, so events after it may already be applied when the replay stops. That is
 * safe: every event's processed record is in the same commit as its effects, so the resumed
 * replay finds them and counts those deliveries as duplicates instead of applying them twice.
 */
import type { Firestore } from "@google-cloud/firestore";
import { ReplayError } from "./errors";
import type { EventSelection, StreamPosition } from "./selection";

/** The checkpoint's document in the target database. */
export const CHECKPOINT_DOCUMENT = "replay-checkpoints/in-process";

/** What a replay was asked to do; a resumed replay must be asked the same. */
export interface ReplayRequest {
  handlers: readonly string[];
  chain: boolean;
  stack: string;
  selection: EventSelection;
}

/** A delivery the handler gave up on: dead-lettered in a live run. */
export interface ReplayFailure {
  consumer: string;
  eventId: string;
  type: string;
  reason: string;
  error: string;
}

/** The counts a replay reports, up to a position. */
export interface ReplayTally {
  /** Stored events read, including those the selection's other criteria left out. */
  read: number;
  /** Stored events delivered to the replayed consumers. */
  replayed: number;
  /** Stored events not delivered because the chain reproduces them. */
  reproduced: number;
  /** Deliveries to consumers by outcome. */
  outcomes: Record<string, number>;
  /** Events the handlers published, by type. */
  publishedByType: Record<string, number>;
  /** The first {@link LISTED_PROBLEMS} failures and undecodable events, with why. */
  failures: ReplayFailure[];
  undecodable: { id: string; problem: string }[];
  /** Failures and undecodable events past those listed: counted, not kept. */
  unlisted: number;
}

/**
 * Problems a replay lists, at most: a replay whose every event fails would otherwise hold them
 * all in memory, and its checkpoint would outgrow a Firestore document (1 MiB).
 */
export const LISTED_PROBLEMS = 100;

export interface Checkpoint {
  /** The request, as JSON: what a resumed replay is compared with. */
  request: string;
  /** The last stored event applied with every one before it. Undefined before the first. */
  position?: StreamPosition;
  tally: ReplayTally;
  /** True once the replay read every selected event. */
  complete: boolean;
  /** When it was written, ISO 8601. */
  writtenAt: string;
}

/** The request as compared: stable JSON, dates as ISO strings. */
export function requestKey(request: ReplayRequest): string {
  const { selection } = request;
  const normalized = {
    handlers: [...request.handlers].sort(),
    chain: request.chain,
    stack: request.stack,
    selection: Object.fromEntries(
      Object.entries(selection)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => [key, value instanceof Date ? value.toISOString() : value])
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    ),
  };
  return JSON.stringify(normalized);
}

export function emptyTally(): ReplayTally {
  return {
    read: 0,
    replayed: 0,
    reproduced: 0,
    outcomes: {},
    publishedByType: {},
    failures: [],
    undecodable: [],
    unlisted: 0,
  };
}

/** Adds `part` into `total`. */
export function addTally(total: ReplayTally, part: Readonly<ReplayTally>): void {
  total.read = Math.max(total.read, part.read);
  total.replayed += part.replayed;
  total.reproduced += part.reproduced;
  for (const [outcome, n] of Object.entries(part.outcomes))
    total.outcomes[outcome] = (total.outcomes[outcome] ?? 0) + n;
  for (const [type, n] of Object.entries(part.publishedByType))
    total.publishedByType[type] = (total.publishedByType[type] ?? 0) + n;
  const list = <T>(into: T[], items: readonly T[]): void => {
    for (const item of items)
      if (total.failures.length + total.undecodable.length < LISTED_PROBLEMS) into.push(item);
      else total.unlisted++;
  };
  list(total.failures, part.failures);
  list(total.undecodable, part.undecodable);
  total.unlisted += part.unlisted;
}

export async function readCheckpoint(target: Firestore): Promise<Checkpoint | undefined> {
  const snapshot = await target.doc(CHECKPOINT_DOCUMENT).get();
  return snapshot.exists ? (snapshot.data() as Checkpoint) : undefined;
}

export async function writeCheckpoint(target: Firestore, checkpoint: Checkpoint): Promise<void> {
  // Firestore refuses undefined fields; an absent position is simply left out.
  const { position, ...rest } = checkpoint;
  await target
    .doc(CHECKPOINT_DOCUMENT)
    .set({ ...rest, ...(position !== undefined && { position }) });
}

/**
 * The checkpoint a replay of `request` into `target` resumes from.
 * @throws ReplayError when there is none, or it was left by a replay asked something else.
 */
export async function checkpointToResume(
  target: Firestore,
  request: ReplayRequest,
): Promise<Checkpoint> {
  const checkpoint = await readCheckpoint(target);
  if (checkpoint === undefined)
    throw new ReplayError(
      `database ${target.databaseId} holds no replay checkpoint to resume from; run the replay without resuming to start one`,
    );
  const asked = requestKey(request);
  if (checkpoint.request !== asked)
    throw new ReplayError(
      `the replay checkpoint in database ${target.databaseId} was left by another replay (${checkpoint.request}); resume with the same handlers, selection, --chain and --stack (${asked}), or start again without resuming`,
    );
  return checkpoint;
}
