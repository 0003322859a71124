/**
 * Projection snapshots (`snapshots/`; docs/requirements.md, MO-12): a projection's items as
 * they stood after a known point of the event store's order, so a projection can be rebuilt
 * from the snapshot and the events after that point (rebuild.ts) instead of from the whole
 * history.
 *
 *   snapshots/<projection>                                  { projection, latest, updatedAt }
 *   snapshots/<projection>/versions/<snapshotId>            { projection, snapshotId, covers, items, takenAt }
 *   snapshots/<projection>/versions/<snapshotId>/items/<id> the item, as it was
 *
 * `covers` is the last event the items include: its time and document id (selection.ts's
 * StreamPosition). The items are documents of their own, not one array, because a projection
 * outgrows Firestore's 1 MiB per document long before it needs a snapshot. A snapshot is never
 * changed once taken: taking one under an id in use fails.
 *
 * Snapshots are kept in a database of their own (`replay-snapshots`, infra/model/databases.ts),
 * not in a replay's database, which the next replay empties, nor beside the event store, which
 * only the archivers write.
 */
import { Timestamp, type Firestore } from "@google-cloud/firestore";
import { rfc3339FromTimestamp, timestampFromRfc3339 } from "../../handlers/runtime/timestamps";
import { PROJECTIONS_COLLECTION } from "../../handlers/runtime/projections";
import { ReplayError } from "./errors";
import { projectionItems, projectionNames } from "./projection-store";
import type { StreamPosition } from "./selection";

/** The collection snapshots are kept in. */
export const SNAPSHOTS_COLLECTION = "snapshots";

/** A snapshot id: letters, digits, ".", "_" and "-", up to 100 (a Firestore document id that reads well in a command). */
const SNAPSHOT_ID = /^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/;

/** One projection's snapshot. */
export interface SnapshotInfo {
  projection: string;
  snapshotId: string;
  /** The last event its items include. */
  covers: StreamPosition;
  /** How many items it holds. */
  items: number;
  /** RFC 3339. */
  takenAt: string;
}

interface StoredSnapshot {
  projection: string;
  snapshotId: string;
  covers: { time: Timestamp; id: string };
  items: number;
  takenAt: Timestamp;
}

/** @throws ReplayError when `id` cannot name a snapshot. */
export function checkSnapshotId(id: string): string {
  if (!SNAPSHOT_ID.test(id))
    throw new ReplayError(
      `snapshot id "${id}" is not usable: use up to 100 letters, digits, ".", "_" and "-"`,
    );
  return id;
}

function versionRef(store: Firestore, projection: string, snapshotId: string) {
  return store
    .collection(SNAPSHOTS_COLLECTION)
    .doc(projection)
    .collection("versions")
    .doc(snapshotId);
}

function toInfo(stored: StoredSnapshot): SnapshotInfo {
  const time = rfc3339FromTimestamp({
    seconds: stored.covers.time.seconds,
    nanos: stored.covers.time.nanoseconds,
  });
  return {
    projection: stored.projection,
    snapshotId: stored.snapshotId,
    covers: { time, id: stored.covers.id },
    items: stored.items,
    takenAt: stored.takenAt.toDate().toISOString(),
  };
}

export interface TakeSnapshotOptions {
  /** The database whose projections are snapshotted (a replay's, or the live one). */
  from: Firestore;
  /** The database the snapshot is kept in: the one holding the event store it covers. */
  store: Firestore;
  snapshotId: string;
  /** The last event the projections include. */
  covers: StreamPosition;
  /** Which projections. Default: every projection `from` holds. */
  projections?: readonly string[];
}

/**
 * Snapshots projections as they are now.
 * @throws ReplayError when a snapshot with this id exists for one of them, or there is nothing to snapshot.
 */
export async function takeSnapshot(options: TakeSnapshotOptions): Promise<SnapshotInfo[]> {
  const { from, store } = options;
  const snapshotId = checkSnapshotId(options.snapshotId);
  const names = options.projections ?? (await projectionNames(from));
  if (names.length === 0)
    throw new ReplayError(`database ${from.databaseId} holds no projections to snapshot`);
  const existing = await store.getAll(...names.map((name) => versionRef(store, name, snapshotId)));
  const taken = existing.filter((doc) => doc.exists).map((doc) => doc.ref.parent.parent!.id);
  if (taken.length > 0)
    throw new ReplayError(
      `snapshot ${snapshotId} exists for ${taken.join(", ")}; snapshots never change, so pick another id`,
    );

  const { seconds, nanos } = timestampFromRfc3339(options.covers.time);
  const takenAt = Timestamp.now();
  const writer = store.bulkWriter();
  const infos: SnapshotInfo[] = [];
  try {
    for (const projection of names) {
      const items = await projectionItems(from, projection);
      const version = versionRef(store, projection, snapshotId);
      // The version document after its items: a snapshot whose document exists is complete.
      const writes = Object.entries(items).map(([id, item]) =>
        writer.set(version.collection("items").doc(id), item),
      );
      await writer.flush();
      await Promise.all(writes);
      const stored: StoredSnapshot = {
        projection,
        snapshotId,
        covers: { time: new Timestamp(seconds, nanos), id: options.covers.id },
        items: Object.keys(items).length,
        takenAt,
      };
      await version.create(stored);
      await store
        .collection(SNAPSHOTS_COLLECTION)
        .doc(projection)
        .set({ projection, latest: snapshotId, updatedAt: takenAt });
      infos.push(toInfo(stored));
    }
  } finally {
    await writer.close();
  }
  return infos;
}

/** Snapshot `snapshotId` of every projection that has one, by projection name. */
export async function readSnapshot(store: Firestore, snapshotId: string): Promise<SnapshotInfo[]> {
  checkSnapshotId(snapshotId);
  const projections = await store.collection(SNAPSHOTS_COLLECTION).listDocuments();
  if (projections.length === 0) return [];
  const versions = await store.getAll(
    ...projections.map((ref) => versionRef(store, ref.id, snapshotId)),
  );
  return versions.filter((doc) => doc.exists).map((doc) => toInfo(doc.data() as StoredSnapshot));
}

/**
 * Writes snapshot `snapshotId`'s items into `target`'s projections.
 * @returns the snapshots restored; they all cover the same event.
 * @throws ReplayError when there is no such snapshot, or its projections cover different events.
 */
export async function restoreSnapshot(
  store: Firestore,
  target: Firestore,
  snapshotId: string,
): Promise<SnapshotInfo[]> {
  const infos = await readSnapshot(store, snapshotId);
  if (infos.length === 0)
    throw new ReplayError(
      `no snapshot ${snapshotId} in ${SNAPSHOTS_COLLECTION}/ of database ${store.databaseId}`,
    );
  const covers = new Set(infos.map((info) => `${info.covers.time} ${info.covers.id}`));
  if (covers.size > 1)
    throw new ReplayError(
      `snapshot ${snapshotId}'s projections cover different events (${[...covers].join(", ")}); restore them one rebuild at a time`,
    );
  const writer = target.bulkWriter();
  try {
    for (const info of infos) {
      const items = await versionRef(store, info.projection, snapshotId).collection("items").get();
      const projection = target
        .collection(PROJECTIONS_COLLECTION)
        .doc(info.projection)
        .collection("items");
      const writes = items.docs.map((item) => writer.set(projection.doc(item.id), item.data()));
      await writer.flush();
      await Promise.all(writes);
    }
  } finally {
    await writer.close();
  }
  return infos;
}
