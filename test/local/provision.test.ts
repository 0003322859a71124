import { PubSub } from "@google-cloud/pubsub";
import { describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { subscriptionMetadata } from "../../tools/local/provision";

// No emulator: the metadata is computed, not sent; the client only formats names.
const pubsub = new PubSub({ projectId: "provision-test" });
const consumer = eventTypesFor("local").system.consumers.find((c) => c.name === "email-worker")!;

describe("subscriptionMetadata", () => {
  it("carries the consumer's declared retry and dead-letter policy", () => {
    const metadata = subscriptionMetadata(pubsub, consumer);
    expect(metadata.ackDeadlineSeconds).toBe(consumer.ackDeadlineSeconds);
    expect(metadata.deadLetterPolicy).toEqual({
      deadLetterTopic: `projects/provision-test/topics/${consumer.deadLetterTopic}`,
      maxDeliveryAttempts: consumer.maxDeliveryAttempts,
    });
    expect(metadata.retryPolicy?.minimumBackoff).toEqual({
      seconds: consumer.retry.minBackoffSeconds,
      nanos: 0,
    });
  });

  it("lets the caller override the backoff, and nothing else", () => {
    const declared = subscriptionMetadata(pubsub, consumer);
    const metadata = subscriptionMetadata(pubsub, consumer, {
      retry: { minBackoffSeconds: 0.1, maxBackoffSeconds: 0.5 },
    });
    expect(metadata.retryPolicy).toEqual({
      minimumBackoff: { seconds: 0, nanos: 100_000_000 },
      maximumBackoff: { seconds: 0, nanos: 500_000_000 },
    });
    expect({ ...metadata, retryPolicy: undefined }).toEqual({
      ...declared,
      retryPolicy: undefined,
    });
  });
});
