/**
 * What the local environment keeps across restarts: the Firestore emulator's data (the event
 * store, projections, processed records), exported through the emulator's own export endpoint
 * when `npm start` stops and imported by its `--import-data` flag when it starts again. Pub/Sub's
 * topology needs no saving: `npm start` provisions the declaration at every start. What sat
 * unacknowledged in the Pub/Sub emulator is not kept: it has no export, and a restart is a
 * redelivery boundary anyway (its messages' effects, if any, are recorded in Firestore).
 *
 * Only an emulator `npm start` starts itself is saved and restored; one it reuses
 * (FIRESTORE_EMULATOR_HOST) belongs to whoever started it. `eventline reset` empties the folder.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

/** Where the saved state lives by default: the (git-ignored) .eventline/ folder. */
export const DEFAULT_STATE_DIR = join(__dirname, "..", "..", ".eventline", "firestore");

/** The emulator names an export `<dir>/<name>/<name>.overall_export_metadata`. */
const METADATA_SUFFIX = ".overall_export_metadata";
/** The folder the latest complete export is kept in; a new one replaces it only once complete. */
const CURRENT = "current";

/** The metadata file of the saved export in `stateDir`, if there is one. */
export function savedExport(stateDir: string): string | undefined {
  const current = join(stateDir, CURRENT);
  if (!existsSync(current)) return undefined;
  for (const name of readdirSync(current)) {
    const metadata = join(current, name, `${name}${METADATA_SUFFIX}`);
    if (existsSync(metadata)) return metadata;
  }
  return undefined;
}

/**
 * Exports the Firestore emulator's `(default)` database of `projectId` into `stateDir`,
 * replacing the saved export only once the new one is complete.
 * @throws Error with the emulator's answer when the export fails.
 */
export async function saveFirestore(
  host: string,
  projectId: string,
  stateDir: string,
): Promise<void> {
  const incoming = join(stateDir, `incoming-${process.pid}`);
  rmSync(incoming, { recursive: true, force: true });
  mkdirSync(incoming, { recursive: true });
  const response = await fetch(`http://${host}/emulator/v1/projects/${projectId}:export`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      database: `projects/${projectId}/databases/(default)`,
      export_directory: incoming,
    }),
    signal: AbortSignal.timeout(60_000),
  });
  if (!response.ok) {
    rmSync(incoming, { recursive: true, force: true });
    throw new Error(
      `the Firestore emulator did not export: ${response.status} ${await response.text()}`,
    );
  }
  const current = join(stateDir, CURRENT);
  rmSync(current, { recursive: true, force: true });
  renameSync(incoming, current);
}

/** Forgets the saved state: the next `npm start` begins empty. */
export function clearSavedState(stateDir: string): boolean {
  if (!existsSync(stateDir)) return false;
  rmSync(stateDir, { recursive: true, force: true });
  return true;
}
