/**
 * Publishes encoded messages (codec.ts's OutgoingMessage) through one PubSub client, one
 * Topic object per topic, and counts seed 000's `events_published`.
 *
 * Batching: up to 100 messages or 1 MiB per request, sent after at most 1 ms. The client's
 * default 10 ms timer is added to every lone publish (DESIGN.md: p50 12 ms against ~1 ms
 * unbatched), and a handler's events are published one delivery at a time, so most batches
 * are small; 1 ms still gathers what concurrent handlers publish in the same moment (a pull
 * host has up to maxMessages deliveries in flight) into one request, where `maxMessages: 1`
 * would send a request per event. An explicit flush after each publish would do the same
 * without the millisecond, but would put a second in-flight batch on an ordering key, which
 * the client's ordered queue does not guard against.
 *
 * Ordering: topics that declare an ordering key are published with message ordering on. When
 * an ordered publish fails, the client pauses that key: publishes on it fail until it is
 * resumed (the 5.x client also drops the paused queue once it drains, which narrows but does
 * not close that window). The publisher resumes the key and rethrows, so the delivery is
 * nacked and its retry publishes again, in order.
 */
import type { PubSub, Topic } from "@google-cloud/pubsub";
import type { EventCatalog } from "./catalog";
import type { OutgoingMessage } from "./codec";
import type { RuntimeMetrics } from "./metrics";

/** Publisher batching (see the file comment for why). */
export const PUBLISH_BATCHING = { maxMessages: 100, maxBytes: 1024 * 1024, maxMilliseconds: 1 } as const;

/** Where the runtime sends events and dead letters; the test helper captures instead. */
export interface MessagePublisher {
  /**
   * Publishes every message and resolves with their message ids, in order.
   * @throws the first publish error; the others may have been published.
   */
  publish(messages: readonly OutgoingMessage[]): Promise<string[]>;
  /** Sends whatever is batched; for shutdown. */
  flush(): Promise<void>;
}

export class PubSubPublisher implements MessagePublisher {
  private readonly topics = new Map<string, Topic>();

  constructor(
    private readonly pubsub: PubSub,
    private readonly catalog: EventCatalog,
    private readonly metrics: RuntimeMetrics,
  ) {}

  async publish(messages: readonly OutgoingMessage[]): Promise<string[]> {
    return Promise.all(messages.map((message) => this.publishOne(message)));
  }

  async flush(): Promise<void> {
    await Promise.all([...this.topics.values()].map((topic) => topic.flush()));
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (topic === undefined) {
      const ordered = this.catalog.topic(name)?.orderingKey !== undefined;
      topic = this.pubsub.topic(name, { batching: PUBLISH_BATCHING, messageOrdering: ordered });
      this.topics.set(name, topic);
    }
    return topic;
  }

  private async publishOne(message: OutgoingMessage): Promise<string> {
    const topic = this.topic(message.topic);
    try {
      const id = await topic.publishMessage({
        data: message.data,
        attributes: message.attributes,
        ...(message.orderingKey !== undefined && { orderingKey: message.orderingKey }),
      });
      const type = message.attributes["ce-type"];
      if (type !== undefined && this.catalog.find(type)?.topic === message.topic) this.metrics.published.inc({ type, topic: message.topic });
      return id;
    } catch (err) {
      if (message.orderingKey !== undefined) topic.resumePublishing(message.orderingKey);
      throw err;
    }
  }
}
