/**
 * Read models a handler keeps up to date (docs/requirements.md, MO-9): campaign views, the
 * conversion funnel, search documents. An item lives at `projections/<name>/items/<id>` and is
 * changed by get-modify-set inside the handler's transaction, so a projection moves exactly
 * once per event, together with the processed
 * record. Several updates in one handler run, to one item or many, see each other's results.
 *
 *   const funnelByCard = defineProjection<Funnel>("funnel-by-card");
 *   await funnelByCard.update(ctx, event.data.cardId, (funnel) => ({ ...funnel, sent: (funnel?.sent ?? 0) + 1 }));
 *
 * An item many events change at once (a counter per card, fed by every share of the card)
 * should be changed with `increment`, which does not read it. Reading locks the document for
 * the transaction: on a burst the readers of one item wait on each other, and the Firestore
 * emulator aborts them ("Transaction lock timeout"; bench/README.md, "What bounds the seed
 * burst").
 * An increment is a write the commit applies to whatever the document holds by then.
 *
 *   funnelByCard.increment(ctx, event.data.cardId, { sent: 1 }, { cardId: event.data.cardId });
 */
import {
  FieldValue,
  type DocumentData,
  type DocumentReference,
  type Firestore,
} from "@google-cloud/firestore";
import type { HandlerTransaction } from "./transaction";

/** The collection under which every projection keeps its items. */
export const PROJECTIONS_COLLECTION = "projections";

/** The part of a handler's context a projection works with. */
export interface ProjectionContext {
  readonly transaction: HandlerTransaction;
  readonly firestore: Firestore;
}

/** What a handler run has done to projection items so far, by document path. */
interface RunState {
  /** Items it updated, as it made them (undefined = deleted). */
  pending: Map<string, DocumentData | undefined>;
  /** Items it incremented: their value is known only after commit. */
  incremented: Set<string>;
}

const runStates = new WeakMap<HandlerTransaction, RunState>();

function runState(transaction: HandlerTransaction): RunState {
  let state = runStates.get(transaction);
  if (state === undefined) {
    state = { pending: new Map(), incremented: new Set() };
    runStates.set(transaction, state);
  }
  return state;
}

/** The numeric fields of `T`. */
export type NumericFields<T> = { [K in keyof T as T[K] extends number ? K : never]?: number };

export class Projection<T extends DocumentData> {
  constructor(readonly name: string) {
    if (!/^[^/]+$/.test(name)) throw new Error(`projection name "${name}" may not contain "/"`);
  }

  /** The document of item `id`. */
  ref(firestore: Firestore, id: string): DocumentReference<T> {
    return firestore
      .collection(PROJECTIONS_COLLECTION)
      .doc(this.name)
      .collection("items")
      .doc(id) as DocumentReference<T>;
  }

  /** Item `id` as this handler run sees it (its own earlier updates included); undefined when absent. */
  async get(ctx: ProjectionContext, id: string): Promise<T | undefined> {
    const ref = this.ref(ctx.firestore, id);
    const { pending, incremented } = runState(ctx.transaction);
    if (incremented.has(ref.path)) {
      throw new Error(
        `projection ${this.name}: item ${id} was incremented in this handler run, so its value is known only after commit; read it before incrementing, or update it instead`,
      );
    }
    if (pending.has(ref.path)) return pending.get(ref.path) as T | undefined;
    return (await ctx.transaction.get(ref)).data();
  }

  /**
   * Replaces item `id` with `change(current)`; a change that returns undefined deletes it.
   * @returns the new item.
   */
  async update(
    ctx: ProjectionContext,
    id: string,
    change: (current: T | undefined) => T | undefined,
  ): Promise<T | undefined> {
    const ref = this.ref(ctx.firestore, id);
    const next = change(await this.get(ctx, id));
    runState(ctx.transaction).pending.set(ref.path, next);
    if (next === undefined) ctx.transaction.delete(ref);
    else ctx.transaction.set(ref, next as Parameters<HandlerTransaction["set"]>[1]);
    return next;
  }

  /**
   * Adds `amounts` to item `id`'s numeric fields and sets `fields`, without reading the item
   * (see the file comment); creates the item when absent, an absent field counting from 0.
   * The run cannot read the item afterwards: its value is known only after commit.
   */
  increment(
    ctx: ProjectionContext,
    id: string,
    amounts: NumericFields<T>,
    fields: Partial<T> = {},
  ): void {
    const ref = this.ref(ctx.firestore, id);
    runState(ctx.transaction).incremented.add(ref.path);
    const increments = Object.fromEntries(
      Object.entries(amounts).map(([field, amount]) => [
        field,
        FieldValue.increment(amount as number),
      ]),
    );
    ctx.transaction.set(ref, { ...fields, ...increments } as DocumentData, { merge: true });
  }
}

/** A projection called `name`, with items of type `T`. */
export function defineProjection<T extends DocumentData>(name: string): Projection<T> {
  return new Projection<T>(name);
}
