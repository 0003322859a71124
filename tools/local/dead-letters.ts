/**
 * A consumer's dead letters: what waits in its parking subscription (`<consumer>-dlq-parking`),
 * read without taking it away, and the redrive that puts it back on the topic it came from.
 *
 * Reading pulls every message and then releases it (ack deadline 0), as `gcloud pubsub
 * subscriptions pull` without `--auto-ack` does: the messages stay, and the next reader sees
 * them again. A redrive republishes each chosen message with its original data, attributes and
 * ordering key, plus `eventline-redrive-count`, and acks the parked copy only once the publish
 * is confirmed: a failure at any point leaves the dead letter where it was.
 *
 * While one reader holds the parked messages, no other can pull them. Within one box the
 * operations take turns (the dashboard lists and redrives through one box); a reader elsewhere
 * (`eventline dlq list` in another terminal) releases what it read at once, so a redrive by id
 * pulls again for a few seconds before it calls an id not found.
 */
import { v1, type PubSub } from "@google-cloud/pubsub";
import type { ResolvedConsumer } from "../../infra/model/types";
import { DEAD_LETTER_ATTRIBUTES, REDRIVE_FOR_ATTRIBUTE } from "../../handlers/runtime/dead-letter";
import type { MessagePublisher } from "../../handlers/runtime/publisher";

/** How many times a message has been redriven; the next redrive adds one. */
export const REDRIVE_COUNT_ATTRIBUTE = "eventline-redrive-count";

/** Lease taken on pulled messages while they are read or redriven, in seconds. */
const LEASE_SECONDS = 60;

/** How long a redrive by id looks again for ids another reader may be holding. */
const DEFAULT_WAIT_FOR_HELD_MS = 3_000;
const LOOK_AGAIN_EVERY_MS = 250;

export interface DeadLetter {
  /** The parked message's Pub/Sub id. */
  messageId: string;
  /** The event's id (`ce-id`); absent for a message that was never a valid event. */
  eventId?: string;
  type?: string;
  reason: string;
  error: string;
  /** The topic a redrive publishes to. */
  topic: string;
  attempt: string;
  deadLetteredAt: string;
  redriveCount: number;
  attributes: Record<string, string>;
  data: Buffer;
}

export interface RedriveResult {
  redriven: { messageId: string; eventId?: string; newMessageId: string }[];
  /** Ids asked for that no dead letter has. */
  notFound: string[];
  failed: { messageId: string; error: string }[];
}

export interface DropResult {
  dropped: DeadLetter[];
  /** Ids asked for that no dead letter has. */
  notFound: string[];
  /** False when the confirmation said no: nothing was dropped. */
  confirmed: boolean;
}

interface Leased {
  ackId: string;
  letter: DeadLetter;
}

const byParkingTime = (a: Leased, b: Leased) =>
  a.letter.deadLetteredAt.localeCompare(b.letter.deadLetteredAt);

function toDeadLetter(
  consumer: ResolvedConsumer,
  messageId: string,
  attributes: Record<string, string>,
  data: Uint8Array,
): DeadLetter {
  const a = DEAD_LETTER_ATTRIBUTES;
  return {
    messageId,
    ...(attributes["ce-id"] !== undefined && { eventId: attributes["ce-id"] }),
    ...(attributes["ce-type"] !== undefined && { type: attributes["ce-type"] }),
    reason: attributes[a.reason] ?? "max-delivery-attempts",
    error: attributes[a.error] ?? "",
    topic: attributes[a.topic] ?? consumer.topic,
    attempt: attributes[a.attempt] ?? "unknown",
    deadLetteredAt: attributes[a.at] ?? "",
    redriveCount: Number(attributes[REDRIVE_COUNT_ATTRIBUTE] ?? "0") || 0,
    attributes,
    data: Buffer.from(data),
  };
}

/** Reads parking subscriptions through the low-level client, whose pull can return at once when nothing waits. */
export class DeadLetterBox {
  private readonly client: v1.SubscriberClient;
  /** The last operation started; the next one waits for it, so this box's reads never hide letters from its redrives. */
  private turn: Promise<unknown> = Promise.resolve();

  /** @param waitForHeldMs how long a redrive by id keeps looking for ids it has not found yet. */
  constructor(
    private readonly pubsub: PubSub,
    private readonly waitForHeldMs = DEFAULT_WAIT_FOR_HELD_MS,
  ) {
    // pubsub.options carries the emulator's endpoint and insecure credentials once the client is built.
    this.client = new v1.SubscriberClient(
      (pubsub as unknown as { options: ConstructorParameters<typeof v1.SubscriberClient>[0] })
        .options,
    );
  }

  /** The dead letters of `consumer`, oldest first, left in place. */
  list(consumer: ResolvedConsumer): Promise<DeadLetter[]> {
    return this.inTurn(async () => {
      const leased = await this.pullAll(consumer);
      await this.release(consumer, leased);
      return leased.map((l) => l.letter);
    });
  }

  /**
   * Republishes the chosen dead letters to their topics and then removes them from parking.
   * @param ids event ids (`ce-id`) or Pub/Sub message ids (parked or original); undefined = all.
   * @param onProgress called after each message, for a progress bar.
   */
  redrive(
    consumer: ResolvedConsumer,
    publisher: MessagePublisher,
    ids: readonly string[] | undefined,
    onProgress?: (done: number, total: number) => void,
  ): Promise<RedriveResult> {
    return this.inTurn(() => this.redriveNow(consumer, publisher, ids, onProgress));
  }

  /**
   * Removes the chosen dead letters for good, once `confirm` has seen them and agreed, and
   * `record` has kept each (the caller writes them somewhere they can be read back from).
   * @param ids as for {@link redrive}; undefined = all.
   */
  drop(
    consumer: ResolvedConsumer,
    ids: readonly string[] | undefined,
    confirm: (letters: readonly DeadLetter[]) => Promise<boolean>,
    record: (letters: readonly DeadLetter[]) => void,
  ): Promise<DropResult> {
    return this.inTurn(async () => {
      const { chosen, notFound } = await this.choose(consumer, ids);
      if (chosen.length === 0 || !(await confirm(chosen.map((l) => l.letter)))) {
        await this.release(consumer, chosen);
        return { dropped: [], notFound, confirmed: chosen.length === 0 };
      }
      record(chosen.map((l) => l.letter));
      await this.client.acknowledge({
        subscription: this.path(consumer),
        ackIds: chosen.map((l) => l.ackId),
      });
      return { dropped: chosen.map((l) => l.letter), notFound, confirmed: true };
    });
  }

  /** The leased dead letters `ids` name (all when undefined), oldest first; the others are released. */
  private async choose(
    consumer: ResolvedConsumer,
    ids: readonly string[] | undefined,
  ): Promise<{ chosen: Leased[]; notFound: string[] }> {
    const matches = (l: Leased, id: string) =>
      [
        l.letter.messageId,
        l.letter.eventId,
        l.letter.attributes[DEAD_LETTER_ATTRIBUTES.messageId],
      ].includes(id);
    const leased = await this.pullAll(consumer);
    // An id not seen may be leased by another reader for a moment: keep what is held and look again.
    const deadline = Date.now() + this.waitForHeldMs;
    const missing = () => (ids ?? []).filter((id) => !leased.some((l) => matches(l, id)));
    while (missing().length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, LOOK_AGAIN_EVERY_MS));
      leased.push(...(await this.pullAll(consumer)));
    }
    leased.sort(byParkingTime);
    const chosen =
      ids === undefined ? leased : leased.filter((l) => ids.some((id) => matches(l, id)));
    await this.release(
      consumer,
      leased.filter((l) => !chosen.includes(l)),
    );
    return { chosen, notFound: missing() };
  }

  private async redriveNow(
    consumer: ResolvedConsumer,
    publisher: MessagePublisher,
    ids: readonly string[] | undefined,
    onProgress?: (done: number, total: number) => void,
  ): Promise<RedriveResult> {
    const { chosen, notFound } = await this.choose(consumer, ids);
    const result: RedriveResult = { redriven: [], failed: [], notFound };
    let done = 0;
    for (const l of chosen) {
      try {
        const [newMessageId] = await publisher.publish([this.republished(l, consumer)]);
        await this.client.acknowledge({ subscription: this.path(consumer), ackIds: [l.ackId] });
        result.redriven.push({
          messageId: l.letter.messageId,
          ...(l.letter.eventId !== undefined && { eventId: l.letter.eventId }),
          newMessageId: newMessageId!,
        });
      } catch (err) {
        result.failed.push({
          messageId: l.letter.messageId,
          error: (err as Error).message.split("\n")[0]!,
        });
        await this.release(consumer, [l]);
      }
      onProgress?.(++done, chosen.length);
    }
    return result;
  }

  async close(): Promise<void> {
    await this.turn.catch(() => {});
    await this.client.close();
  }

  private inTurn<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.turn.then(operation, operation);
    this.turn = result.catch(() => {});
    return result;
  }

  private path(consumer: ResolvedConsumer): string {
    return this.pubsub.subscription(consumer.parkingSubscription).name;
  }

  /** The original message as it was published, plus one more redrive. */
  private republished(l: Leased, consumer: ResolvedConsumer) {
    const attributes: Record<string, string> = {};
    const ours = new Set<string>(Object.values(DEAD_LETTER_ATTRIBUTES));
    for (const [key, value] of Object.entries(l.letter.attributes))
      if (!ours.has(key)) attributes[key] = value;
    attributes[REDRIVE_COUNT_ATTRIBUTE] = String(l.letter.redriveCount + 1);
    // Only the consumer that gave up on it handles it again; the topic's other subscriptions ack it.
    attributes[REDRIVE_FOR_ATTRIBUTE] = consumer.name;
    const orderingKey = l.letter.attributes[DEAD_LETTER_ATTRIBUTES.orderingKey];
    return {
      topic: l.letter.topic,
      data: l.letter.data,
      attributes,
      ...(orderingKey ? { orderingKey } : {}),
    };
  }

  /** Pulls until the subscription has nothing more to give, keeping every message leased. */
  private async pullAll(consumer: ResolvedConsumer): Promise<Leased[]> {
    const subscription = this.path(consumer);
    const leased = new Map<string, Leased>();
    for (;;) {
      const [response] = await this.client.pull({
        subscription,
        maxMessages: 500,
        returnImmediately: true,
      });
      const received = response.receivedMessages ?? [];
      if (received.length === 0) break;
      await this.client.modifyAckDeadline({
        subscription,
        ackIds: received.map((r) => r.ackId!),
        ackDeadlineSeconds: LEASE_SECONDS,
      });
      for (const r of received) {
        const message = r.message!;
        const letter = toDeadLetter(
          consumer,
          message.messageId!,
          { ...(message.attributes ?? {}) },
          (message.data as Uint8Array | undefined) ?? new Uint8Array(),
        );
        leased.set(letter.messageId, { ackId: r.ackId!, letter });
      }
    }
    return [...leased.values()].sort(byParkingTime);
  }

  /** Gives leased messages back at once, for the next reader. */
  private async release(consumer: ResolvedConsumer, leased: readonly Leased[]): Promise<void> {
    if (leased.length === 0) return;
    await this.client.modifyAckDeadline({
      subscription: this.path(consumer),
      ackIds: leased.map((l) => l.ackId),
      ackDeadlineSeconds: 0,
    });
  }
}
