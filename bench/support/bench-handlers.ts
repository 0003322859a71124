/**
 * What the runtime hosts in the benchmarks and the fault suite: an implementation of the
 * declared email-sender contract (consumer email-worker, topic viral-shares) that writes one
 * Firestore document per event, and the built-in archiver. The document is written blind
 * (`count` incremented with a merge, no read), so the runtime's own cost, the processed-record
 * read and create in the same transaction, is what separates it from the hand-written
 * baseline; and a document whose count is above 1 is an event applied twice.
 *
 * Each event says how to behave in its `shareMetadata.behaviour`:
 *   ok (default)       write the document
 *   transient          throw a RetryableError on the first delivery attempt, then succeed
 *   poison-permanent   throw a PermanentError on every attempt (dead-lettered at once)
 *   poison-crash       throw a plain Error on every attempt (dead-lettered on the last attempt)
 * and `shareMetadata.delayMs` makes it take that long first. With BENCH_PROVIDER_URL set, every
 * event is first sent to that outside provider through `ctx.breaker("provider")`, with the
 * event id as idempotency key (the provider-down scenario).
 */
import { FieldValue } from "@google-cloud/firestore";
import { PermanentError, RetryableError } from "../../handlers/runtime/errors";
import { archiver } from "../../handlers/runtime/event-store";
import { defineHandler, registryOf } from "../../handlers/runtime/handler";

/** Where the bench handler and the baseline consumer write: `bench-applied/{event id}`. */
export const APPLIED_COLLECTION = "bench-applied";

export type Behaviour = "ok" | "transient" | "poison-permanent" | "poison-crash";

/** The dead-letter reason of a poison-permanent event. */
export const POISON_REASON = "bench-poison";

/** The worker environment variable naming the outside provider's URL. */
export const PROVIDER_URL_VARIABLE = "BENCH_PROVIDER_URL";

/** One applied event's document. */
export interface AppliedDocument {
  count: number;
  eventId: string;
  attempt: number | null;
  /** Epoch milliseconds when the handler wrote it (before the commit). */
  appliedAt: number;
  pid: number;
}

async function sendThroughProvider(url: string, key: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key }),
    signal,
  });
  await response.arrayBuffer();
  if (!response.ok) throw new RetryableError(`the provider answered ${response.status}`);
}

export const benchSender = defineHandler({
  name: "email-sender",
  accepts: ["com.eventline.share.requested"],
  async handle(event, ctx) {
    const behaviour = (event.data.shareMetadata?.["behaviour"] ?? "ok") as Behaviour;
    const delayMs = Number(event.data.shareMetadata?.["delayMs"] ?? 0);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const attempt = ctx.delivery.deliveryAttempt;
    if (behaviour === "transient" && (attempt ?? 1) < 2)
      throw new RetryableError(`transient failure on attempt ${attempt}`);
    if (behaviour === "poison-permanent")
      throw new PermanentError(POISON_REASON, "this event can never be handled");
    if (behaviour === "poison-crash")
      throw new Error("the handler crashes on this event, every time");
    const provider = process.env[PROVIDER_URL_VARIABLE];
    if (provider)
      await ctx
        .breaker("provider")
        .execute((signal) => sendThroughProvider(provider, ctx.idempotencyKey, signal));
    const document: Omit<AppliedDocument, "count"> & { count: FieldValue } = {
      count: FieldValue.increment(1),
      eventId: event.meta.id,
      attempt: attempt ?? null,
      appliedAt: Date.now(),
      pid: process.pid,
    };
    ctx.transaction.set(ctx.firestore.collection(APPLIED_COLLECTION).doc(event.meta.id), document, {
      merge: true,
    });
  },
});

export const benchRegistry = registryOf(benchSender, archiver);
