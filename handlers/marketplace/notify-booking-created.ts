/** notify-booking-created (the notification service; docs/requirements.md, MP-6): tells both parties of the booking, one email each. */
import { defineHandler } from "../runtime/handler";
import { emailCommand, money } from "./email-commands";
import { recipientEmail } from "./recipients";

export const notifyBookingCreated = defineHandler({
  name: "notify-booking-created",
  accepts: ["com.skillancer.booking.created"],
  async handle(event, ctx) {
    const booking = event.data;
    const variables = {
      bookingId: booking.bookingId,
      projectId: booking.projectId,
      startDate: booking.startDate,
      amount: money(booking.amount),
      currency: booking.currency,
    };
    // Both addresses first: if either is not known yet, the retry publishes both, not one twice.
    const freelancer = await recipientEmail(
      ctx,
      booking.freelancerEmail,
      booking.freelancerUserId,
      "freelancer",
    );
    const client = await recipientEmail(ctx, booking.clientEmail, booking.clientUserId, "client");
    ctx.publish(
      "com.skillancer.email.send",
      emailCommand("booking-created-freelancer", freelancer, variables, ctx.idempotencyKey),
    );
    ctx.publish(
      "com.skillancer.email.send",
      emailCommand("booking-created-client", client, variables, ctx.idempotencyKey),
    );
  },
});
