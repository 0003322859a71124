/**
 * The links an invitation carries back to the tracker: the open pixel and the click
 * redirect. The tracker turns a hit on either into com.eventline.invitation.opened or
 * .clicked, which is how the funnel learns what a recipient did with a message that has
 * already left the system.
 */

/** Where a recipient's tracking hits go and where the click finally lands. */
export interface TrackingLinks {
  /** `<tracker>/t/open/<invitationId>`: a 1×1 image in the email; loading it reports "opened". */
  openPixelUrl: string;
  /** `<tracker>/t/click/<invitationId>?to=<card url>`: reports "clicked", then redirects to the card. */
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
 * @param trackerUrl the tracker's public base URL (EVENTLINE_TRACKER_URL), e.g. `https://go.example.com`.
 * @param cardBaseUrl where cards are shown; the card's URL is `<cardBaseUrl>/cards/<cardId>`.
 *   Default: the tracker's URL.
 */
export function trackingLinks(
  trackerUrl: string,
  invitationId: string,
  cardId: string,
  cardBaseUrl: string = trackerUrl,
): TrackingLinks {
  const tracker = trimBase(trackerUrl);
  const cardUrl = `${trimBase(cardBaseUrl)}/cards/${encodeURIComponent(cardId)}`;
  const id = encodeURIComponent(invitationId);
  return {
    openPixelUrl: `${tracker}/t/open/${id}`,
    clickUrl: `${tracker}/t/click/${id}?to=${encodeURIComponent(cardUrl)}`,
    cardUrl,
  };
}
