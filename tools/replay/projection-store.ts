/**
 * Reading the projections a database holds (`projections/<name>/items/<id>`,
 * handlers/runtime/projections.ts) as plain data: to snapshot them, and to compare two
 * databases' projections (a replay with the live run, a backtest's two strategies).
 */
import type { DocumentData, Firestore } from "@google-cloud/firestore";
import { PROJECTIONS_COLLECTION } from "../../handlers/runtime/projections";

/** Items read per request. */
const PAGE_SIZE = 500;

/** A projection's items by document id. */
export type ProjectionItems = Record<string, DocumentData>;

/**
 * The names of the projections `firestore` holds items of. A projection's own document is never
 * written (only its items are), so the listing asks for documents that exist only as parents.
 */
export async function projectionNames(firestore: Firestore): Promise<string[]> {
  const refs = await firestore.collection(PROJECTIONS_COLLECTION).listDocuments();
  return refs.map((ref) => ref.id).sort();
}

/** Every item of projection `name`, by id, in id order. */
export async function projectionItems(
  firestore: Firestore,
  name: string,
): Promise<ProjectionItems> {
  const items: ProjectionItems = {};
  const collection = firestore.collection(PROJECTIONS_COLLECTION).doc(name).collection("items");
  let last: string | undefined;
  for (;;) {
    let query = collection.orderBy("__name__").limit(PAGE_SIZE);
    if (last !== undefined) query = query.startAfter(last);
    const page = await query.get();
    for (const doc of page.docs) items[doc.id] = doc.data();
    if (page.size < PAGE_SIZE) return items;
    last = page.docs[page.size - 1]!.id;
  }
}

/** Every projection `firestore` holds (or those named), with its items. */
export async function readProjections(
  firestore: Firestore,
  names?: readonly string[],
): Promise<Record<string, ProjectionItems>> {
  const chosen = names ?? (await projectionNames(firestore));
  const entries = await Promise.all(
    chosen.map(async (name) => [name, await projectionItems(firestore, name)] as const),
  );
  return Object.fromEntries(entries);
}
