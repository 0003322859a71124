/**
 * email-sender (the viral-sharing system's email worker, docs/requirements.md VS-4): sends the
 * invitation email over SMTP, with the tracker's open pixel and click link, and reports it to
 * the funnel (share-delivery.ts).
 */
import type { Firestore } from "@google-cloud/firestore";
import type { EmailAdapter } from "../adapters/email";
import {
  processEmailAdapter,
  processLinkSettings,
  type LinkSettings,
} from "../adapters/environment";
import { defineHandler } from "../runtime/handler";
import { invitationEmail } from "./invitation-message";
import { deliverShare } from "./share-delivery";
import { trackingLinks } from "./tracking-links";

/** The outside service name of the email adapter's breaker. */
export const SMTP_SERVICE = "smtp";

export interface EmailSenderOptions {
  /** The email adapter for the process's Firestore client. Default: from the process's settings (adapters/environment.ts). */
  email?: (firestore: Firestore) => EmailAdapter;
  /** Where the tracking links point. Default: EVENTLINE_TRACKER_URL and EVENTLINE_CARD_BASE_URL. */
  links?: () => LinkSettings;
  /** The clock, epoch milliseconds. Default Date.now. */
  now?: () => number;
}

/** The email sender with its adapter and settings. */
export function createEmailSender(options: EmailSenderOptions = {}) {
  const email = options.email ?? processEmailAdapter;
  const links = options.links ?? processLinkSettings;
  return defineHandler({
    name: "email-sender",
    accepts: ["com.eventline.share.requested"],
    async handle(event, ctx) {
      const adapter = email(ctx.firestore);
      const { trackerUrl, cardBaseUrl } = links();
      await deliverShare(event, ctx, {
        channel: "email",
        service: SMTP_SERVICE,
        ...(options.now !== undefined && { now: options.now }),
        send: (share, signal) => {
          const message = invitationEmail(
            trackingLinks(trackerUrl, share.invitationId, share.cardId, cardBaseUrl),
            share.shareMetadata,
          );
          return adapter.send(
            { to: share.recipient, ...message, idempotencyKey: share.invitationId },
            signal,
          );
        },
      });
    },
  });
}

export const emailSender = createEmailSender();
