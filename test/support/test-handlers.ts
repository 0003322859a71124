/**
 * Test implementations of declared handlers, registered only in tests. The email-sender and
 * sms-sender test handlers (one pulls, one is pushed to) share one body, whose behaviour is chosen per event by `shareMetadata.behaviour`, so one implementation
 * serves every runtime test, in-process or in a child process:
 *   ok (default)           record the event and publish share.completed
 *   fail-before-attempt-3  throw a RetryableError on delivery attempts 1 and 2
 *   always-fail            throw a plain Error on every attempt (a poison message)
 *   permanent              throw a PermanentError("recipient-rejected")
 * and `shareMetadata.delayMs` makes it take that long first. Each applied event increments
 * projections/test-applied/items/<event id>.count inside the handler's transaction, so a test
 * can check that every event was applied exactly once.
 */
import { PermanentError, RetryableError } from "../../handlers/runtime/errors";
import { archiver } from "../../handlers/runtime/event-store";
import type { DecodedEvent } from "../../handlers/runtime/codec";
import { defineHandler, registryOf, type HandlerContext } from "../../handlers/runtime/handler";
import { defineProjection } from "../../handlers/runtime/projections";

export interface Applied {
  count: number;
  attempt: number | null;
  invitationId: string;
  completedEventId: string;
}

export const applied = defineProjection<Applied>("test-applied");

/** Handler runs in flight in this process, and the most seen at once. */
export const concurrency = {
  current: 0,
  max: 0,
  reset(): void {
    this.current = 0;
    this.max = 0;
  },
};

async function sendInvitation(
  event: DecodedEvent<"com.eventline.share.requested">,
  ctx: HandlerContext<"email-sender">,
): Promise<void> {
  const behaviour = event.data.shareMetadata?.["behaviour"] ?? "ok";
  const delayMs = Number(event.data.shareMetadata?.["delayMs"] ?? 0);
  concurrency.current++;
  concurrency.max = Math.max(concurrency.max, concurrency.current);
  try {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const attempt = ctx.delivery.deliveryAttempt;
    if (behaviour === "fail-before-attempt-3" && (attempt ?? 1) < 3)
      throw new RetryableError(`provider unavailable (attempt ${attempt})`);
    if (behaviour === "always-fail") throw new Error("the provider adapter crashed");
    if (behaviour === "permanent")
      throw new PermanentError(
        "recipient-rejected",
        `the provider rejected ${event.data.recipient}`,
      );
    const completedEventId = ctx.publish("com.eventline.share.completed", {
      invitationId: event.data.invitationId,
      messageId: `smtp-${ctx.idempotencyKey}`,
      channel: event.data.channel,
      cardId: event.data.cardId,
      senderUserId: event.data.senderUserId,
    });
    await applied.update(ctx, event.meta.id, (current) => ({
      count: (current?.count ?? 0) + 1,
      attempt: attempt ?? null,
      invitationId: event.data.invitationId,
      completedEventId,
    }));
    ctx.log.info({ invitationId: event.data.invitationId }, "invitation sent");
  } finally {
    concurrency.current--;
  }
}

export const testEmailSender = defineHandler({
  name: "email-sender",
  accepts: ["com.eventline.share.requested"],
  handle: sendInvitation,
});
export const testSmsSender = defineHandler({
  name: "sms-sender",
  accepts: ["com.eventline.share.requested"],
  handle: sendInvitation,
});

export interface Sequence {
  eventIds: string[];
}

/** The order in which the funnel projector applied each invitation's events. */
export const applicationOrder = defineProjection<Sequence>("test-order");

/**
 * A funnel-projector that appends each event's id to its invitation's sequence, after waiting
 * the milliseconds an invitation.opened event's `userAgent` names ("delay:300"): run
 * concurrently, later events would overtake earlier, slower ones.
 */
export const testFunnelProjector = defineHandler({
  name: "funnel-projector",
  accepts: ["com.eventline.invitation.opened"],
  async handle(event, ctx) {
    const delayMs = Number(/^delay:(\d+)$/.exec(event.data.userAgent)?.[1] ?? 0);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    await applicationOrder.update(ctx, event.data.invitationId, (sequence) => ({
      eventIds: [...(sequence?.eventIds ?? []), event.meta.id],
    }));
  },
});

export const testRegistry = registryOf(
  testEmailSender,
  testSmsSender,
  testFunnelProjector,
  archiver,
);
