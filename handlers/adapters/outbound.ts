/**
 * The local stand-in for every outside messaging service: instead of sending, it records
 * what would have been sent in Firestore at `outbound/{id}`, where the local dashboard shows
 * it like a mail catcher. It behaves as a provider that honours idempotency keys: recording
 * the same key twice returns the first record's message id and writes nothing, so a retried
 * handler leaves one entry, as the real provider would send one message.
 *
 * A record: { channel, to, from, subject?, text, html?, idempotencyKey, messageId,
 * provider: "outbox", recordedAt }.
 */
import { createHash } from "node:crypto";
import { FieldValue, type Firestore } from "@google-cloud/firestore";
import { documentIdFor } from "../runtime/idempotency";

/** The collection the local adapters record into. */
export const OUTBOUND_COLLECTION = "outbound";

export type OutboundChannel = "email" | "sms" | "whatsapp";

/** One message as recorded. */
export interface OutboundMessage {
  channel: OutboundChannel;
  to: string;
  from: string;
  subject?: string;
  text: string;
  html?: string;
  idempotencyKey: string;
}

/** A hex digest of an idempotency key, for ids derived from it. */
export function keyDigest(idempotencyKey: string, length = 32): string {
  return createHash("sha256").update(idempotencyKey).digest("hex").slice(0, length);
}

/** Records outbound messages in Firestore instead of sending them. */
export class OutboundRecorder {
  constructor(private readonly firestore: Firestore) {}

  /**
   * Records a message once per channel and idempotency key.
   * @param messageId the id to give it when it is new (the provider-style id the adapter makes).
   * @returns the message id of the record: the new one, or the first one for a repeated key.
   */
  async record(message: OutboundMessage, messageId: string): Promise<string> {
    const ref = this.firestore
      .collection(OUTBOUND_COLLECTION)
      .doc(documentIdFor(`${message.channel}-${message.idempotencyKey}`));
    // A transaction rather than create(): in the Node client a create() that fails ALREADY_EXISTS costs about three times a read.
    return this.firestore.runTransaction(async (tx) => {
      const existing = await tx.get(ref);
      if (existing.exists) return String(existing.get("messageId"));
      const fields = Object.fromEntries(
        Object.entries(message).filter(([, value]) => value !== undefined),
      );
      tx.create(ref, {
        ...fields,
        messageId,
        provider: "outbox",
        recordedAt: FieldValue.serverTimestamp(),
      });
      return messageId;
    });
  }
}
