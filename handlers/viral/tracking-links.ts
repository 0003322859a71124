/**
 * The links an invitation carries back to the gateway: the open pixel and the click
 * redirect. The gateway turns a hit on either into com.eventline.invitation.opened or
 * .clicked, which is how the funnel learns what a recipient did with a message that has
 * already left the system.
 */

/** Where a recipient's tracking hits go and where the click finally lands. */
export interface TrackingLinks {
  /** `<gateway>/t/open/<invitationId>`: a 1×1 image in the email; loading it reports "opened". */
  openPixelUrl: string;
  /** `<gateway>/t/click/<invitationId>?to=<card url>`: reports "clicked", then redirects to the card. */
  clickUrl: string;
  /** The shared card itself, the click's destination. */
  cardUrl: string;
}

/** A base URL without its trailing slashes, so paths can be appended with one `/`. */
function trimBase(url: string): string {
  return url.replace(/\/+$/, "");
}

/**
 * The tracking links of one invitation.
 * @param gatewayUrl the gateway's public base URL (EVENTLINE_GATEWAY_URL), e.g. `https://go.example.com`.
 * @param cardBaseUrl where cards are shown; the card's URL is `<cardBaseUrl>/cards/<cardId>`.
 *   Default: the gateway's URL.
 */
export function trackingLinks(gatewayUrl: string, invitationId: string, cardId: string, cardBaseUrl: string = gatewayUrl): TrackingLinks {
  const gateway = trimBase(gatewayUrl);
  const cardUrl = `${trimBase(cardBaseUrl)}/cards/${encodeURIComponent(cardId)}`;
  const id = encodeURIComponent(invitationId);
  return {
    openPixelUrl: `${gateway}/t/open/${id}`,
    clickUrl: `${gateway}/t/click/${id}?to=${encodeURIComponent(cardUrl)}`,
    cardUrl,
  };
}
