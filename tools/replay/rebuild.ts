/**
 * Rebuilding projections from a snapshot (snapshots.ts): restore its items into an isolated
 * database, then replay only the events after the one it covers. The result is what a replay
 * of the whole history gives, for the cost of the events since the snapshot.
 */
import type { Firestore } from "@google-cloud/firestore";
import {
  replayInProcess,
  type InProcessReplayOptions,
  type InProcessReplayResult,
} from "./in-process";
import { prepareTarget } from "./isolation";
import { ReplayError } from "./errors";
import {
  readSnapshot,
  restoreSnapshot,
  SNAPSHOTS_COLLECTION,
  type SnapshotInfo,
} from "./snapshots";

export interface RebuildOptions extends Omit<InProcessReplayOptions, "clearTarget"> {
  /** The snapshot to start from. */
  snapshotId: string;
  /** Where the snapshot is kept (its snapshots/). Default: the source database. */
  snapshots?: Firestore;
}

export interface RebuildResult {
  /** The snapshots restored, one per projection; none when the rebuild resumed (they were restored before). */
  restored: SnapshotInfo[];
  /** The replay of the events after them. */
  replay: InProcessReplayResult;
}

/**
 * Empties the target, restores the snapshot into it and replays the selected events after it.
 * Resuming, it only continues the replay from its checkpoint: the snapshot was restored then.
 * @throws ReplayError as replayInProcess does, and when the snapshot does not exist.
 */
export async function rebuildFromSnapshot(options: RebuildOptions): Promise<RebuildResult> {
  const { snapshotId, snapshots, ...replay } = options;
  if (options.resume === true) {
    const store = snapshots ?? options.source;
    const infos = await readSnapshot(store, snapshotId);
    if (infos.length === 0)
      throw new ReplayError(
        `no snapshot ${snapshotId} in ${SNAPSHOTS_COLLECTION}/ of database ${store.databaseId}`,
      );
    const result = await replayInProcess({
      ...replay,
      selection: { ...options.selection, after: infos[0]!.covers },
    });
    return { restored: [], replay: result };
  }
  await prepareTarget(options.source, options.target, { clear: true });
  const restored = await restoreSnapshot(snapshots ?? options.source, options.target, snapshotId);
  const after = restored[0]!.covers;
  const result = await replayInProcess({
    ...replay,
    clearTarget: false,
    selection: { ...options.selection, after },
  });
  return { restored, replay: result };
}
