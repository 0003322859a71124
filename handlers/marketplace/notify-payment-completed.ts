/**
 * notify-payment-completed (the notification service; docs/requirements.md, MP-6): the
 * receipt, to the payer. The payment carries the payer's address, or the pending payment the
 * booking opened (payment-on-booking.ts) knows the client who pays.
 */
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { emailCommand, money } from "./email-commands";
import { payments } from "./payment-on-booking";
import { recipientEmail } from "./recipients";

export const notifyPaymentCompleted = defineHandler({
  name: "notify-payment-completed",
  accepts: ["com.skillancer.payment.completed"],
  async handle(event, ctx) {
    const payment = event.data;
    const opened = payment.payerEmail
      ? undefined
      : await payments.get(ctx, documentIdFor(payment.bookingId));
    const to = await recipientEmail(
      ctx,
      payment.payerEmail || opened?.payerEmail || "",
      opened?.clientUserId ?? "",
      `payer of booking ${payment.bookingId}`,
    );
    ctx.publish(
      "com.skillancer.email.send",
      emailCommand(
        "payment-receipt",
        to,
        {
          paymentId: payment.paymentId,
          bookingId: payment.bookingId,
          amount: money(payment.amount),
          currency: payment.currency,
          providerReference: payment.providerReference,
        },
        ctx.idempotencyKey,
      ),
    );
  },
});
