/**
 * Read models a handler keeps up to date (seed 001's `projections/`, seed 000's conversion
 * funnel): `projections/<name>/items/<id>`, changed by get-modify-set inside the handler's
 * transaction, so a projection moves exactly once per event, together with the processed
 * record. Several updates in one handler run, to one item or many, see each other's results.
 *
 *   const funnelByCard = defineProjection<Funnel>("funnel-by-card");
 *   await funnelByCard.update(ctx, event.data.cardId, (funnel) => ({ ...funnel, sent: (funnel?.sent ?? 0) + 1 }));
 */
import type { DocumentData, DocumentReference, Firestore } from "@google-cloud/firestore";
import type { HandlerTransaction } from "./transaction";

/** The collection under which every projection keeps its items. */
export const PROJECTIONS_COLLECTION = "projections";

/** The part of a handler's context a projection works with. */
export interface ProjectionContext {
  readonly transaction: HandlerTransaction;
  readonly firestore: Firestore;
}

/** What this handler run has made of each item so far, by document path (undefined = deleted). */
const pendingByTransaction = new WeakMap<HandlerTransaction, Map<string, DocumentData | undefined>>();

export class Projection<T extends DocumentData> {
  constructor(readonly name: string) {
    if (!/^[^/]+$/.test(name)) throw new Error(`projection name "${name}" may not contain "/"`);
  }

  /** The document of item `id`. */
  ref(firestore: Firestore, id: string): DocumentReference<T> {
    return firestore.collection(PROJECTIONS_COLLECTION).doc(this.name).collection("items").doc(id) as DocumentReference<T>;
  }

  /** Item `id` as this handler run sees it (its own earlier updates included); undefined when absent. */
  async get(ctx: ProjectionContext, id: string): Promise<T | undefined> {
    const ref = this.ref(ctx.firestore, id);
    const pending = pendingByTransaction.get(ctx.transaction);
    if (pending?.has(ref.path)) return pending.get(ref.path) as T | undefined;
    return (await ctx.transaction.get(ref)).data();
  }

  /**
   * Replaces item `id` with `change(current)`; a change that returns undefined deletes it.
   * @returns the new item.
   */
  async update(ctx: ProjectionContext, id: string, change: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    const ref = this.ref(ctx.firestore, id);
    const next = change(await this.get(ctx, id));
    let pending = pendingByTransaction.get(ctx.transaction);
    if (pending === undefined) {
      pending = new Map();
      pendingByTransaction.set(ctx.transaction, pending);
    }
    pending.set(ref.path, next);
    if (next === undefined) ctx.transaction.delete(ref);
    else ctx.transaction.set(ref, next as Parameters<HandlerTransaction["set"]>[1]);
    return next;
  }
}

/** A projection called `name`, with items of type `T`. */
export function defineProjection<T extends DocumentData>(name: string): Projection<T> {
  return new Projection<T>(name);
}
