/** A message as a host received it, from Pub/Sub's push body or a pull: what the delivery pipeline processes. */
export interface ReceivedMessage {
  messageId: string;
  data: Uint8Array;
  attributes: Readonly<Record<string, string>>;
  /** 1 on the first delivery; undefined when the transport does not count (no dead-letter policy). */
  deliveryAttempt: number | undefined;
  orderingKey?: string;
}
