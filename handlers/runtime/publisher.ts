/**
 * Publishes encoded messages (codec.ts's OutgoingMessage) through one PubSub client, one
 * Topic object per topic, and counts `events_published` (docs/requirements.md, VS-13).
 *
 * Batching, on a topic without ordering: a request leaves at once when the topic has none in
 * flight, and what is published while one is in flight goes out together as soon as it
 * returns (the client's `flush()`, which drains again until nothing is left). A lone publish
 * waits for nothing, and under load requests follow one another back to back, each carrying
 * what arrived during the last. That is faster at p50 and p99 than the client's timer, at
 * 1 ms or at its default 10 ms (bench/README.md, publish-ops). The client's own batching
 * stays as the backstop (100 messages or 1 MiB sends a batch at once; a batch that waited
 * 10 ms for a slow request goes out beside it).
 *
 * Batching, on a topic with ordering: the client's ordered queue already holds a key's next
 * batch until its request in flight returns, and sends it then; only a key's first message
 * waits for the timer, 1 ms. A flush there would put a second batch of the key in flight,
 * which the ordered queue does not guard against, so ordered topics are never flushed early.
 * The timer is 1 ms rather than the client's default 10 ms, which a lone publish would wait
 * out in full (bench/README.md, publish-ops).
 *
 * Ordering: topics that declare an ordering key are published with message ordering on. When
 * an ordered publish fails, the client pauses that key: publishes on it fail until it is
 * resumed (the 5.x client also drops the paused queue once it drains, which narrows but does
 * not close that window). The publisher resumes the key and rethrows, so the delivery is
 * nacked and its retry publishes again, in order.
 *
 * Tracing: each message is sent in a producer span (`send <topic>`, tracing.ts), whose
 * context replaces the message's `ce-traceparent`, so what consumes it is that span's child.
 * The span's parent is the active span (the gateway's request, the delivery whose handler
 * emitted the event), or else the trace the message already carries (the outbox relay).
 */
import type { PubSub, Topic } from "@google-cloud/pubsub";
import type { EventTypes } from "./event-types";
import type { OutgoingMessage } from "./codec";
import type { RuntimeMetrics } from "./metrics";
import {
  ATTR,
  MESSAGING_SYSTEM,
  SpanKind,
  context,
  contextFromAttributes,
  eventAttributes,
  inSpan,
  injectIntoAttributes,
  trace,
} from "./tracing";

/** The client's batching on ordered topics, and what the baseline uses everywhere (see the file comment). */
export const PUBLISH_BATCHING = {
  maxMessages: 100,
  maxBytes: 1024 * 1024,
  maxMilliseconds: 1,
} as const;

/** The client's batching on unordered topics: only the backstop behind sending when idle. */
const UNORDERED_BACKSTOP = { ...PUBLISH_BATCHING, maxMilliseconds: 10 } as const;

/** One topic's client object, and whether its batches are sent when idle (unordered) and are being sent. */
interface TopicState {
  topic: Topic;
  ordered: boolean;
  /** A flush is in flight (unordered topics). */
  flushing: boolean;
  /** Something was published while it was: flush again when it returns. */
  again: boolean;
}

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
  private readonly topics = new Map<string, TopicState>();

  constructor(
    private readonly pubsub: PubSub,
    private readonly eventTypes: EventTypes,
    private readonly metrics: RuntimeMetrics,
  ) {}

  async publish(messages: readonly OutgoingMessage[]): Promise<string[]> {
    return Promise.all(messages.map((message) => this.publishOne(message)));
  }

  async flush(): Promise<void> {
    await Promise.all([...this.topics.values()].map((state) => state.topic.flush()));
  }

  private topic(name: string): TopicState {
    let state = this.topics.get(name);
    if (state === undefined) {
      const ordered = this.eventTypes.topic(name)?.orderingKey !== undefined;
      const topic = this.pubsub.topic(name, {
        batching: ordered ? PUBLISH_BATCHING : UNORDERED_BACKSTOP,
        messageOrdering: ordered,
      });
      state = { topic, ordered, flushing: false, again: false };
      this.topics.set(name, state);
    }
    return state;
  }

  /** Sends what an unordered topic has batched now, unless a request of its is in flight: then right after it. */
  private sendWhenIdle(state: TopicState): void {
    if (state.flushing) {
      state.again = true;
      return;
    }
    state.flushing = true;
    state.again = false;
    state.topic
      .flush()
      // Each message's own publish promise carries a failure to its caller.
      .catch(() => undefined)
      .finally(() => {
        state.flushing = false;
        if (state.again) this.sendWhenIdle(state);
      });
  }

  private publishOne(message: OutgoingMessage): Promise<string> {
    const active = context.active();
    const parent =
      trace.getSpan(active) !== undefined ? active : contextFromAttributes(message.attributes);
    return inSpan(
      `send ${message.topic}`,
      {
        kind: SpanKind.PRODUCER,
        parent,
        attributes: {
          [ATTR.messagingSystem]: MESSAGING_SYSTEM,
          [ATTR.destination]: message.topic,
          [ATTR.operationType]: "send",
          [ATTR.operationName]: "send",
          ...(message.orderingKey !== undefined && { [ATTR.orderingKey]: message.orderingKey }),
          ...eventAttributes(message.attributes),
        },
      },
      async (span) => {
        const attributes = { ...message.attributes };
        injectIntoAttributes(span, attributes);
        const id = await this.send(message, attributes);
        span.setAttribute(ATTR.messageId, id);
        return id;
      },
    );
  }

  private async send(
    message: OutgoingMessage,
    attributes: Record<string, string>,
  ): Promise<string> {
    const state = this.topic(message.topic);
    const { topic } = state;
    try {
      const published = topic.publishMessage({
        data: message.data,
        attributes,
        ...(message.orderingKey !== undefined && { orderingKey: message.orderingKey }),
      });
      if (!state.ordered) this.sendWhenIdle(state);
      const id = await published;
      const type = message.attributes["ce-type"];
      if (type !== undefined && this.eventTypes.find(type)?.topic === message.topic)
        this.metrics.published.inc({ type, topic: message.topic });
      return id;
    } catch (err) {
      if (message.orderingKey !== undefined) topic.resumePublishing(message.orderingKey);
      throw err;
    }
  }
}
