/**
 * funnel-projector: keeps the viral-sharing conversion funnel, sent → opened → clicked →
 * converted, per card and per sender, with its rates (funnel.ts; docs/requirements.md, VS-11).
 * Three projections:
 *   funnel-invitations/<invitationId>  the steps an invitation has reached (and whether it failed)
 *   funnel-cards/<cardId>              counts of the card's invitations
 *   funnel-senders/<senderUserId>      counts of the sender's invitations
 * The invitation record is what makes the counts exact: a card or sender count moves only by
 * the steps the invitation had not reached, so a redelivered event (which the runtime's
 * processed record already stops) and a second event reporting the same step (two opens)
 * both leave the counts alone. All three move in the handler's one transaction.
 *
 * Only the invitation record is read. The card and sender counts are incremented blind:
 * every share of a card changes its counts, and transactions that read them would queue on
 * the card's lock during a burst (handlers/runtime/projections.ts). Rates are derived from
 * the counts when read (funnelRates, as the dashboard's /api/funnel does).
 */
import { PermanentError, RetryableError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";
import {
  addFailure,
  addSteps,
  EMPTY_FUNNEL,
  newSteps,
  type FunnelCounts,
  type FunnelStep,
} from "./funnel";

/** What the funnel knows of one invitation. */
export interface InvitationRecord {
  invitationId: string;
  cardId: string;
  senderUserId: string;
  channel: string;
  /** Steps reached, in funnel order. */
  steps: FunnelStep[];
  /** ce-time of the event that first reached each step. */
  stepTimes: Partial<Record<FunnelStep, string>>;
  failed: boolean;
  failureReason: string | null;
  /** The provider's message id, once sent. */
  messageId: string | null;
}

/** A card's or a sender's funnel counts. */
export interface FunnelTotals extends FunnelCounts {
  id: string;
}

export const invitations = defineProjection<InvitationRecord>("funnel-invitations");
export const cardFunnels = defineProjection<FunnelTotals>("funnel-cards");
export const senderFunnels = defineProjection<FunnelTotals>("funnel-senders");

const STEP_OF = {
  "com.eventline.share.completed": "sent",
  "com.eventline.invitation.opened": "opened",
  "com.eventline.invitation.clicked": "clicked",
  "com.eventline.invitation.converted": "converted",
} as const;

/**
 * The amounts to add to every count: `change` applied to an empty funnel. Zeros are kept, so
 * a new card's or sender's document gets every count.
 */
function amounts(change: (counts: FunnelCounts) => FunnelCounts): FunnelCounts {
  return change({ ...EMPTY_FUNNEL });
}

export const funnelProjector = defineHandler({
  name: "funnel-projector",
  accepts: [
    "com.eventline.share.completed",
    "com.eventline.share.failed",
    "com.eventline.invitation.opened",
    "com.eventline.invitation.clicked",
    "com.eventline.invitation.converted",
  ],
  async handle(event, ctx) {
    const data = event.data;
    if (!data.invitationId)
      throw new PermanentError("missing-invitation-id", `${event.type} has no invitation id`);
    const id = documentIdFor(data.invitationId);
    const known = await invitations.get(ctx, id);
    // The gateway's tracking events may lack the card and sender (its lookup has a deadline); share.completed has them.
    const cardId = data.cardId || known?.cardId || "";
    const senderUserId = data.senderUserId || known?.senderUserId || "";
    if (!cardId || !senderUserId) {
      throw new RetryableError(
        `invitation ${data.invitationId}: card and sender are not known yet (share.completed has not been projected); retrying`,
      );
    }
    const record: InvitationRecord = known ?? {
      invitationId: data.invitationId,
      cardId,
      senderUserId,
      channel: data.channel,
      steps: [],
      stepTimes: {},
      failed: false,
      failureReason: null,
      messageId: null,
    };
    const next: InvitationRecord = {
      ...record,
      cardId,
      senderUserId,
      channel: record.channel || data.channel,
      steps: [...record.steps],
      stepTimes: { ...record.stepTimes },
    };

    let change: (counts: FunnelCounts) => FunnelCounts;
    if (event.type === "com.eventline.share.failed") {
      if (record.failed) return;
      next.failed = true;
      next.failureReason = event.data.reason;
      change = addFailure;
    } else {
      const step = STEP_OF[event.type];
      const added = newSteps(record.steps, step);
      if (added.length === 0) return;
      for (const s of added) next.stepTimes[s] = ctx.delivery.time;
      // Steps are always reached in prefixes (newSteps adds the implied ones), so appending keeps funnel order.
      next.steps = [...record.steps, ...added];
      if (event.type === "com.eventline.share.completed") next.messageId = event.data.messageId;
      const value =
        event.type === "com.eventline.invitation.converted" ? event.data.conversionValue : 0;
      change = (counts) => addSteps(counts, added, value);
    }
    await invitations.update(ctx, id, () => next);
    const moved = amounts(change);
    cardFunnels.increment(ctx, documentIdFor(cardId), moved, { id: cardId });
    senderFunnels.increment(ctx, documentIdFor(senderUserId), moved, { id: senderUserId });
  },
});
