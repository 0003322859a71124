/**
 * The SMS and WhatsApp workers are one handler shape over two channels: the invitation as a
 * text with the click link, sent through the Twilio-style adapter under the channel's own
 * breaker (an outage of one channel does not stop the other).
 */
import type { Firestore } from "@google-cloud/firestore";
import {
  processLinkSettings,
  processTextAdapter,
  type LinkSettings,
} from "../adapters/environment";
import type { TextChannel, TextMessageAdapter } from "../adapters/text-messages";
import type { HandlerContext, HandlerEvent } from "../runtime/handler";
import { invitationText } from "./invitation-message";
import { deliverShare, type SenderName } from "./share-delivery";
import { trackingLinks } from "./tracking-links";

export interface TextSenderOptions {
  /** The text adapter for the process's Firestore client. Default: from the process's settings (adapters/environment.ts). */
  messaging?: (firestore: Firestore) => TextMessageAdapter;
  /** Where the click link points. Default: EVENTLINE_TRACKER_URL and EVENTLINE_CARD_BASE_URL. */
  links?: () => LinkSettings;
  /** The clock, epoch milliseconds. Default Date.now. */
  now?: () => number;
}

/** The handle function of a text channel's worker; the channel is also its breaker's name. */
export function textSenderHandle(channel: TextChannel, options: TextSenderOptions) {
  const messaging = options.messaging ?? processTextAdapter;
  const links = options.links ?? processLinkSettings;
  return async (
    event: HandlerEvent<"com.eventline.share.requested">,
    ctx: HandlerContext<SenderName>,
  ): Promise<void> => {
    const adapter = messaging(ctx.firestore);
    const { trackerUrl, cardBaseUrl } = links();
    await deliverShare(event, ctx, {
      channel,
      service: channel,
      ...(options.now !== undefined && { now: options.now }),
      send: (share, signal) =>
        adapter.send(
          {
            channel,
            to: share.recipient,
            body: invitationText(
              trackingLinks(trackerUrl, share.invitationId, share.cardId, cardBaseUrl),
              share.shareMetadata,
            ),
            idempotencyKey: share.invitationId,
          },
          signal,
        ),
    });
  };
}
