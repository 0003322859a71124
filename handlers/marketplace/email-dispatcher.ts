/**
 * email-dispatcher (docs/requirements.md, MP-7): the send.email command's one consumer.
 * Renders the command's template and sends it through the email adapter, at most once per
 * idempotency key.
 *
 * At most once needs the claim to be durable before the send, so it cannot ride in the
 * handler's transaction (which commits after the handler returns): the dispatcher claims
 * `email-dispatches/<key>` in a transaction of its own, then sends, then records the result.
 *   - claim exists                        → already sent, failed or in doubt: nothing is sent
 *   - send succeeds                       → "sent" with the message id
 *   - the server refuses (PermanentError) → "failed", and the command is dead-lettered
 *   - it surely did not send (no connection, a 4yz reply, an open circuit)
 *                                         → the claim is released and the command retried
 *   - it may have sent (a timeout or a socket dropped mid-message)
 *                                         → "unknown", acked: a second copy is the one thing
 *                                           at most once rules out
 * A process that dies between claim and send leaves "sending": also never resent.
 * The adapter's breaker runs with no in-call retries for the same reason.
 */
import type { Firestore } from "@google-cloud/firestore";
import { BrokenCircuitError, BulkheadRejectedError } from "cockatiel";
import type { EmailAdapter } from "../adapters/email";
import { processEmailAdapter } from "../adapters/environment";
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";
import { renderEmail } from "./email-templates";

/** The outside service name of the dispatcher's breaker. */
export const DISPATCH_SERVICE = "smtp-dispatcher";

export type DispatchStatus = "sending" | "sent" | "failed" | "unknown";

export interface DispatchRecord {
  idempotencyKey: string;
  to: string;
  template: string;
  status: DispatchStatus;
  /** The command event that claimed the key. */
  claimedBy: string;
  messageId: string | null;
  reason: string | null;
}

export const dispatches = defineProjection<DispatchRecord>("email-dispatches");

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Error codes (nodemailer's and the OS's) of failures that happen before a message is handed over. */
const NOT_SENT_CODES = new Set([
  "ECONNECTION",
  "ECONNREFUSED",
  "EDNS",
  "ENOTFOUND",
  "EAUTH",
  "ETLS",
  "EENVELOPE",
]);

/** Whether a failed send surely sent nothing; false when it may have. */
export function surelyNotSent(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const fields = e as Error & { responseCode?: number; code?: string };
    // The runtime's policies refused the call: it never started.
    if (e instanceof BrokenCircuitError || e instanceof BulkheadRejectedError) return true;
    if (fields.responseCode !== undefined && fields.responseCode >= 400) return true;
    if (fields.code !== undefined && NOT_SENT_CODES.has(fields.code)) return true;
  }
  return false;
}

export interface EmailDispatcherOptions {
  /** The email adapter for the process's Firestore client. Default: from the process's settings (adapters/environment.ts). */
  email?: (firestore: Firestore) => EmailAdapter;
}

/** The dispatcher with its adapter. */
export function createEmailDispatcher(options: EmailDispatcherOptions = {}) {
  const email = options.email ?? processEmailAdapter;
  return defineHandler({
    name: "email-dispatcher",
    accepts: ["com.skillancer.email.send"],
    outside: { [DISPATCH_SERVICE]: { retries: 0 } },
    async handle(event, ctx) {
      const command = event.data;
      if (!EMAIL.test(command.to))
        throw new PermanentError(
          "invalid-recipient",
          `send.email to ${JSON.stringify(command.to)}: not an email address`,
        );
      const rendered = renderEmail(command.template, command.variables);
      const key = command.idempotencyKey || ctx.idempotencyKey;
      const ref = dispatches.ref(ctx.firestore, documentIdFor(key));
      const claim: DispatchRecord = {
        idempotencyKey: key,
        to: command.to,
        template: command.template,
        status: "sending",
        claimedBy: ctx.delivery.id,
        messageId: null,
        reason: null,
      };
      const claimed = await ctx.firestore.runTransaction(async (tx) => {
        if ((await tx.get(ref)).exists) return false;
        tx.create(ref, claim);
        return true;
      });
      if (!claimed) {
        ctx.log.info(
          { idempotencyKey: key },
          "email already dispatched under this key; not sent again",
        );
        return;
      }
      const adapter = email(ctx.firestore);
      try {
        const sent = await ctx.breaker(DISPATCH_SERVICE).execute((signal) =>
          adapter.send(
            {
              to: command.to,
              subject: command.subject || rendered.subject,
              text: rendered.text,
              idempotencyKey: key,
            },
            signal,
          ),
        );
        await ref.update({ status: "sent", messageId: sent.messageId });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        if (err instanceof PermanentError) {
          await ref.update({ status: "failed", reason });
          throw err;
        }
        if (surelyNotSent(err)) {
          await ref.delete();
          throw err;
        }
        ctx.log.error(
          { err, idempotencyKey: key },
          "email may or may not have been sent; not retried (at most once)",
        );
        await ref.update({ status: "unknown", reason });
      }
    },
  });
}

export const emailDispatcher = createEmailDispatcher();
