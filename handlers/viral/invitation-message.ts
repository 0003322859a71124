/**
 * What an invitation says on each channel. The email is HTML with a text alternative and
 * carries both tracking links; a text message (SMS, WhatsApp) can carry only the click link,
 * since nothing in it can report an open.
 */
import type { TrackingLinks } from "./tracking-links";

/** The share_metadata key naming the sender as the recipient knows them. */
export const SENDER_NAME_KEY = "sender_name";

/** An invitation email, ready for the email adapter. */
export interface InvitationEmail {
  subject: string;
  text: string;
  html: string;
}

const htmlEscapes: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text made safe for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => htmlEscapes[c]!);
}

/** Who the message says the card comes from: the sender's name when the share gave one. */
function senderPhrase(metadata: Readonly<Record<string, string>>): string {
  const name = metadata[SENDER_NAME_KEY]?.trim();
  return name ? name : "Someone";
}

/**
 * The invitation email. The pixel is the last element of the body so that a client that
 * renders the message at all loads it; the click link wraps the call to action.
 */
export function invitationEmail(
  links: TrackingLinks,
  metadata: Readonly<Record<string, string>>,
): InvitationEmail {
  const sender = senderPhrase(metadata);
  const subject = `${sender} shared a card with you`;
  const text = `${sender} shared a card with you.\n\nOpen it here: ${links.clickUrl}\n`;
  const html =
    `<!doctype html><html><body>` +
    `<p>${escapeHtml(sender)} shared a card with you.</p>` +
    `<p><a href="${escapeHtml(links.clickUrl)}">Open the card</a></p>` +
    `<img src="${escapeHtml(links.openPixelUrl)}" width="1" height="1" alt="" style="display:block;border:0">` +
    `</body></html>`;
  return { subject, text, html };
}

/** The invitation as a text message (SMS or WhatsApp): one line and the click link. */
export function invitationText(
  links: TrackingLinks,
  metadata: Readonly<Record<string, string>>,
): string {
  return `${senderPhrase(metadata)} shared a card with you: ${links.clickUrl}`;
}
