/**
 * What the three channel workers share: check the invitation, send it through the channel's
 * adapter (inside the runtime's named breaker), and report the outcome to the funnel as
 * com.eventline.share.completed or com.eventline.share.failed.
 *
 * - A rejected recipient (the adapter's PermanentError, or an address that cannot be one) is
 *   a business outcome: share.failed is published and the event acked, so the funnel counts
 *   it. A share without an invitation id cannot be reported at all: PermanentError.
 * - A transient failure (RetryableError, or an open circuit) propagates: the runtime nacks
 *   and Pub/Sub redelivers. On the last attempt the runtime dead-letters it; no share.failed
 *   is published then, because a parked message can still be redriven and sent.
 * - retry_count is the delivery attempt − 1; processing_time_ms runs from the request's
 *   ce-time to the channel's acceptance, so it includes queueing and every retry: the
 *   latency the sender's recipient actually sees.
 * - The invitation id is the idempotency key given to the provider: one invitation is one
 *   message, whichever event or attempt asks for it.
 */
import type { viral } from "../../proto/gen";
import { PermanentError } from "../runtime/errors";
import type { HandlerContext, HandlerEvent } from "../runtime/handler";

/** The channel workers' contracts (they accept and emit the same types). */
export type SenderName = "email-sender" | "sms-sender" | "whatsapp-sender";

export type ShareChannel = "email" | "sms" | "whatsapp";

/** The adapter call for one invitation: resolves to the provider's message id. */
export type SendInvitation = (
  share: viral.v1.ViralShareRequested,
  signal: AbortSignal,
) => Promise<{ messageId: string }>;

/** What a recipient of a channel must look like; anything else fails without a provider call. */
const RECIPIENT_PATTERNS: Readonly<Record<ShareChannel, { pattern: RegExp; what: string }>> = {
  // Deliberately loose: the SMTP server is the judge of an address; this only rejects what cannot be one.
  email: { pattern: /^[^@\s]+@[^@\s]+\.[^@\s]+$/, what: "an email address" },
  // E.164: a plus, a country code that does not start with 0, up to 15 digits in all.
  sms: { pattern: /^\+[1-9]\d{6,14}$/, what: "an E.164 phone number" },
  whatsapp: { pattern: /^\+[1-9]\d{6,14}$/, what: "an E.164 phone number" },
};

export interface DeliveryOptions {
  channel: ShareChannel;
  /** The name of the outside service in `ctx.breaker(name)`. */
  service: string;
  send: SendInvitation;
  /** The clock, epoch milliseconds. Default Date.now. */
  now?: () => number;
}

/** Sends one invitation and reports it to the funnel. */
export async function deliverShare(
  event: HandlerEvent<"com.eventline.share.requested">,
  ctx: HandlerContext<SenderName>,
  options: DeliveryOptions,
): Promise<void> {
  const share = event.data;
  if (!share.invitationId)
    throw new PermanentError(
      "missing-invitation-id",
      "share.requested has no invitation id; nothing can report on it",
    );
  if (share.channel !== options.channel)
    throw new PermanentError(
      "wrong-channel",
      `the ${options.channel} worker received a ${share.channel || "channel-less"} share (check the subscription filter)`,
    );
  const now = options.now ?? Date.now;
  const report = {
    invitationId: share.invitationId,
    channel: share.channel,
    cardId: share.cardId,
    senderUserId: share.senderUserId,
    retryCount: Math.max(0, (ctx.delivery.deliveryAttempt ?? 1) - 1),
  };
  const elapsed = (): number => Math.max(0, Math.round(now() - Date.parse(ctx.delivery.time)));
  const fail = (reason: string): void => {
    ctx.log.info({ invitationId: share.invitationId, reason }, "invitation failed permanently");
    ctx.publish("com.eventline.share.failed", { ...report, reason, processingTimeMs: elapsed() });
  };

  const { pattern, what } = RECIPIENT_PATTERNS[options.channel];
  if (!pattern.test(share.recipient))
    return fail(`recipient ${JSON.stringify(share.recipient)} is not ${what}`);
  let messageId: string;
  try {
    ({ messageId } = await ctx
      .breaker(options.service)
      .execute((signal) => options.send(share, signal)));
  } catch (err) {
    if (err instanceof PermanentError) return fail(err.message);
    throw err;
  }
  ctx.publish("com.eventline.share.completed", {
    ...report,
    messageId,
    processingTimeMs: elapsed(),
  });
}
