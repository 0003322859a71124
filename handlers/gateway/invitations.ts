/**
 * What the gateway knows about an invitation when a tracking hit arrives: the card, the
 * sender and the channel, and the flow it belongs to. The runtime keeps no invitation record
 * of its own; the event store does: the com.eventline.share.requested event whose subject is
 * the invitation id. A hit must never wait on it for long (the recipient is looking at an
 * email), so the lookup has a short deadline and a miss just means a leaner event.
 */
import type { Firestore } from "@google-cloud/firestore";
import { EVENTS_COLLECTION } from "../runtime/event-store";
import { SHARE_REQUESTED } from "./shares";

export interface Invitation {
  cardId: string;
  senderUserId: string;
  channel: string;
  /** The share's correlation id: tracking events join its flow. */
  correlationId: string;
  /** The share.requested event's id: the cause of the tracking event. */
  eventId: string;
}

export type InvitationLookup = (invitationId: string) => Promise<Invitation | undefined>;

/** How long a tracking hit waits for the lookup, in milliseconds. */
export const LOOKUP_DEADLINE_MS = 300;

/** Finds invitations in the event store; undefined when absent, slow or unreadable. */
export function eventStoreInvitations(firestore: Firestore, deadlineMs = LOOKUP_DEADLINE_MS): InvitationLookup {
  return async (invitationId) => {
    const query = firestore.collection(EVENTS_COLLECTION).where("type", "==", SHARE_REQUESTED).where("subject", "==", invitationId).limit(1).get();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), deadlineMs)));
    try {
      const snapshot = await Promise.race([query, deadline]);
      const doc = snapshot?.docs[0];
      if (doc === undefined) return undefined;
      const stored = doc.data() as { id: string; correlationId: string; payload: Record<string, string | undefined> };
      return {
        cardId: stored.payload["cardId"] ?? "",
        senderUserId: stored.payload["senderUserId"] ?? "",
        channel: stored.payload["channel"] ?? "",
        correlationId: stored.correlationId,
        eventId: stored.id,
      };
    } catch {
      // An unreadable store costs the event its details, not the recipient their redirect.
      return undefined;
    } finally {
      clearTimeout(timer);
      // A query that lost the race still settles later; its rejection is not an error anyone waits for.
      query.catch(() => undefined);
    }
  };
}
