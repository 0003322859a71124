/**
 * Where a replay writes: a Firestore database of its own, never the live one. Handlers write
 * through the Firestore client the runtime gives them, projections, idempotency records and
 * adapter outboxes alike, so handing them a client on another database isolates everything
 * they do without a change to any handler. A separate database (`new Firestore({ databaseId })`)
 * works the same on the emulator, which creates it on first use, and in the cloud, where the
 * program creates the ones a replay may use (`replay`, `backtest-current`, `backtest-alternative`;
 * infra/gcp/replay-databases.ts); a collection prefix would have needed every projection and the
 * runtime to know about it.
 *
 * A replay starts from an empty database unless it restores a snapshot into it, so what it
 * leaves there is what the replayed events produce and nothing older.
 */
import type { Firestore } from "@google-cloud/firestore";
import { recordOnlyAdapters } from "../../handlers/adapters/environment";
import { REPLAY_DATABASE, UNNAMED_DATABASE } from "../../infra/model/databases";
import { ReplayError } from "./errors";

/**
 * The database the local platform runs on (the emulator's, event store and state alike): never a
 * replay's target. In the cloud a replay may write only the databases the program declares for it
 * (replay-clients.ts).
 */
export const LIVE_DATABASE = UNNAMED_DATABASE;

/** The database `eventline replay` writes into unless told otherwise. */
export const DEFAULT_REPLAY_DATABASE = REPLAY_DATABASE;

/** gRPC NOT_FOUND: in the cloud, the database was never created. */
const NOT_FOUND = 5;

/** Firestore's rule for database ids: 4–63 of a-z, 0-9 and "-", starting with a letter, not ending with "-". */
const DATABASE_ID = /^[a-z][a-z0-9-]{2,61}[a-z0-9]$/;

/** @throws ReplayError when `id` is not a database id Firestore accepts, or is the live database. */
export function checkDatabaseId(id: string, option = "database"): string {
  if (id === LIVE_DATABASE)
    throw new ReplayError(
      `${option} ${id} is the live database; a replay writes into a database of its own, e.g. ${DEFAULT_REPLAY_DATABASE}`,
    );
  if (!DATABASE_ID.test(id))
    throw new ReplayError(
      `${option} "${id}" is not a Firestore database id: 4 to 63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen`,
    );
  return id;
}

/**
 * Makes `target` ready for a replay from `source`: a database other than the source and the
 * live one, reachable, emptied when `clear` is set, and with adapters that only record.
 * @returns how many documents were deleted.
 * @throws ReplayError when the target is the source or the live database, or does not exist.
 */
export async function prepareTarget(
  source: Firestore,
  target: Firestore,
  options: { clear: boolean },
): Promise<number> {
  if (target.databaseId === source.databaseId)
    throw new ReplayError(
      `the replay would write into ${target.databaseId}, the database it reads the events from; give it a database of its own`,
    );
  checkDatabaseId(target.databaseId);
  recordOnlyAdapters(target);
  if (!options.clear) return 0;
  try {
    let deleted = 0;
    const writer = target.bulkWriter();
    writer.onWriteResult(() => void deleted++);
    for (const collection of await target.listCollections())
      await target.recursiveDelete(collection, writer);
    await writer.close();
    return deleted;
  } catch (err) {
    if ((err as { code?: number }).code === NOT_FOUND) {
      throw new ReplayError(
        `Firestore database ${target.databaseId} does not exist; the program creates the replay tools' databases (infra/gcp/replay-databases.ts): run pulumi up for the stack`,
      );
    }
    throw err;
  }
}
