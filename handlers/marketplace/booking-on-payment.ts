/**
 * booking-on-payment (the booking service; docs/requirements.md, MP-9): a completed payment
 * marks its booking paid, `bookings/<bookingId>`. The first payment settles the booking; a
 * different payment for an already paid booking is recorded beside it (for a refund), never
 * over it.
 */
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";

export interface BookingPaymentState {
  bookingId: string;
  status: "paid";
  paymentId: string;
  paidAmount: number;
  currency: string;
  providerReference: string;
  /** ce-time of the payment. */
  paidAt: string;
  /** Further payments for the same booking, by payment id. */
  extraPayments: string[];
}

export const bookings = defineProjection<BookingPaymentState>("bookings");

export const bookingOnPayment = defineHandler({
  name: "booking-on-payment",
  accepts: ["com.skillancer.payment.completed"],
  async handle(event, ctx) {
    const payment = event.data;
    if (!payment.bookingId || !payment.paymentId)
      throw new PermanentError(
        "invalid-payment",
        "payment.completed needs a booking id and a payment id",
      );
    const id = documentIdFor(payment.bookingId);
    const current = await bookings.get(ctx, id);
    if (current !== undefined) {
      if (
        current.paymentId === payment.paymentId ||
        current.extraPayments.includes(payment.paymentId)
      )
        return;
      ctx.log.warn(
        {
          bookingId: payment.bookingId,
          paymentId: payment.paymentId,
          settledBy: current.paymentId,
        },
        "second payment for a paid booking; recorded for a refund",
      );
      await bookings.update(ctx, id, () => ({
        ...current,
        extraPayments: [...current.extraPayments, payment.paymentId],
      }));
      return;
    }
    await bookings.update(ctx, id, () => ({
      bookingId: payment.bookingId,
      status: "paid",
      paymentId: payment.paymentId,
      paidAmount: payment.amount,
      currency: payment.currency,
      providerReference: payment.providerReference,
      paidAt: ctx.delivery.time,
      extraPayments: [],
    }));
  },
});
