/**
 * payment-on-booking (the payment service; docs/requirements.md, MP-9): a new booking opens a
 * pending payment, `payments/<bookingId>`, for its amount. The payment is opened once per
 * booking; a booking reported again leaves the payment as it is (it may have moved on).
 */
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";

export interface PaymentRecord {
  bookingId: string;
  projectId: string;
  clientUserId: string;
  freelancerUserId: string;
  /** Who pays: the client (event-carried; "" when the booking did not say). */
  payerEmail: string;
  amount: number;
  currency: string;
  status: "pending";
  /** ce-time of the booking. */
  openedAt: string;
}

export const payments = defineProjection<PaymentRecord>("payments");

export const paymentOnBooking = defineHandler({
  name: "payment-on-booking",
  accepts: ["com.skillancer.booking.created"],
  async handle(event, ctx) {
    const booking = event.data;
    if (!booking.bookingId)
      throw new PermanentError("missing-booking-id", "booking.created has no booking id");
    if (!(booking.amount > 0) || !booking.currency)
      throw new PermanentError(
        "invalid-amount",
        `booking ${booking.bookingId}: amount ${booking.amount} ${booking.currency} cannot be paid`,
      );
    const id = documentIdFor(booking.bookingId);
    if ((await payments.get(ctx, id)) !== undefined) return;
    await payments.update(ctx, id, () => ({
      bookingId: booking.bookingId,
      projectId: booking.projectId,
      clientUserId: booking.clientUserId,
      freelancerUserId: booking.freelancerUserId,
      payerEmail: booking.clientEmail,
      amount: booking.amount,
      currency: booking.currency,
      status: "pending",
      openedAt: ctx.delivery.time,
    }));
  },
});
