import { describe, expect, it } from "vitest";
import { deadLetterIam, deadLetterParking } from "../../policies/pubsub-dead-letters";
import { patched, stackViolations, type TestResource } from "./harness";
import { pushSubscription, SUBSCRIPTION, TOPIC } from "./resources";

/** How the engine marks a string Pulumi cannot know during a preview. */
const unknownString = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const agent = "serviceAccount:service-123456789@gcp-sa-pubsub.iam.gserviceaccount.com";
const TOPIC_MEMBER = "gcp:pubsub/topicIAMMember:TopicIAMMember";
const SUBSCRIPTION_MEMBER = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember";

/** One consumer's subscription with its dead-letter topic, parking subscription and both agent grants. */
function wiredConsumer(): TestResource[] {
  return [
    {
      type: TOPIC,
      name: "sms-worker-dlq",
      inputs: { name: "sms-worker-dlq", labels: { role: "dead-letter" } },
    },
    {
      type: SUBSCRIPTION,
      name: "sms-worker-dlq-parking",
      inputs: {
        name: "sms-worker-dlq-parking",
        topic: "sms-worker-dlq",
        labels: { role: "dead-letter-parking" },
      },
    },
    { type: SUBSCRIPTION, name: "sms-worker", inputs: pushSubscription },
    {
      type: TOPIC_MEMBER,
      name: "sms-worker-dlq-publisher",
      inputs: { topic: "sms-worker-dlq", role: "roles/pubsub.publisher", member: agent },
    },
    {
      type: SUBSCRIPTION_MEMBER,
      name: "sms-worker-dlq-subscriber",
      inputs: { subscription: "sms-worker", role: "roles/pubsub.subscriber", member: agent },
    },
  ];
}

const without = (name: string): TestResource[] =>
  wiredConsumer().filter((resource) => resource.name !== name);

describe("dead-letter wiring (stack policies)", () => {
  it("passes a consumer whose dead-letter topic has a parking subscription and both agent grants", () => {
    expect(stackViolations(deadLetterParking("mandatory"), wiredConsumer())).toEqual([]);
    expect(stackViolations(deadLetterIam("mandatory"), wiredConsumer())).toEqual([]);
  });

  it("fails a dead-letter topic without a parking subscription", () => {
    expect(
      stackViolations(deadLetterParking("mandatory"), without("sms-worker-dlq-parking")),
    ).toEqual([
      "sms-worker-dlq: dead-letter topic sms-worker-dlq (of sms-worker) has no subscription: what lands there is lost.",
    ]);
  });

  it("fails a dead-letter topic that is not declared in the stack", () => {
    expect(
      stackViolations(
        deadLetterParking("mandatory"),
        without("sms-worker-dlq").filter((r) => r.name !== "sms-worker-dlq-parking"),
      ),
    ).toEqual([
      "sms-worker: sms-worker dead-letters to projects/p/topics/sms-worker-dlq, which is not a topic of this stack.",
    ]);
  });

  it("fails a subscription marked as parking that is not on a dead-letter topic", () => {
    const stray: TestResource = {
      type: SUBSCRIPTION,
      name: "stray",
      inputs: { name: "stray", topic: "viral-shares", labels: { role: "dead-letter-parking" } },
    };
    expect(stackViolations(deadLetterParking("mandatory"), [...wiredConsumer(), stray])).toEqual([
      "stray: stray is marked as a parking subscription but its topic is no subscription's dead-letter topic.",
    ]);
  });

  it("fails when the service agent cannot publish to the dead-letter topic", () => {
    expect(
      stackViolations(deadLetterIam("mandatory"), without("sms-worker-dlq-publisher")),
    ).toEqual([
      "sms-worker-dlq: the Pub/Sub service agent lacks roles/pubsub.publisher on dead-letter topic sms-worker-dlq.",
    ]);
  });

  it("fails when the service agent cannot acknowledge on the source subscription", () => {
    expect(
      stackViolations(deadLetterIam("mandatory"), without("sms-worker-dlq-subscriber")),
    ).toEqual([
      "sms-worker: the Pub/Sub service agent lacks roles/pubsub.subscriber on sms-worker.",
    ]);
  });

  it("does not count a grant to another member as the service agent's", () => {
    const resources = wiredConsumer().map((r) =>
      r.name === "sms-worker-dlq-publisher"
        ? {
            ...r,
            inputs: patched(r.inputs, {
              member: "serviceAccount:someone@p.iam.gserviceaccount.com",
            }),
          }
        : r,
    );
    expect(stackViolations(deadLetterIam("mandatory"), resources)).toEqual([
      "sms-worker-dlq: the Pub/Sub service agent lacks roles/pubsub.publisher on dead-letter topic sms-worker-dlq.",
    ]);
  });

  it("follows a dead-letter reference that is unknown during a preview through the engine's property dependencies", () => {
    // The subscription's deadLetterTopic is the topic's id, which the cloud assigns: unknown in a preview.
    const unknownReference = (resources: TestResource[]): TestResource[] =>
      resources.map((r) =>
        r.name === "sms-worker"
          ? {
              ...r,
              inputs: patched(r.inputs, { deadLetterPolicy: { deadLetterTopic: unknownString } }),
            }
          : r,
      );
    const dependencies = { "sms-worker": { deadLetterPolicy: ["sms-worker-dlq"] } };
    expect(
      stackViolations(deadLetterParking("mandatory"), unknownReference(wiredConsumer()), {
        dependencies,
      }),
    ).toEqual([]);
    expect(
      stackViolations(
        deadLetterParking("mandatory"),
        unknownReference(without("sms-worker-dlq-parking")),
        { dependencies },
      ),
    ).toEqual([
      "sms-worker-dlq: dead-letter topic sms-worker-dlq (of sms-worker) has no subscription: what lands there is lost.",
    ]);
  });
});
