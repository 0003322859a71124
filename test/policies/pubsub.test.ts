import type { ResourceValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import {
  pushSubscriptionNoExactlyOnce,
  pushSubscriptionOidc,
  subscriptionAckDeadline,
  subscriptionDeadLetter,
  subscriptionExpiration,
  subscriptionFilter,
  subscriptionRetryPolicy,
} from "../../policies/pubsub-subscriptions";
import {
  pubsubNoPublicIam,
  topicCmek,
  topicRetention,
  topicSchema,
} from "../../policies/pubsub-topics";
import { patched, resourceViolations } from "./harness";
import { eventTopic, pullSubscription, pushSubscription, SUBSCRIPTION, TOPIC } from "./resources";

interface Case {
  rule: ResourceValidationPolicy;
  type: string;
  inputs: Record<string, unknown>;
  name?: string;
  settings?: Record<string, unknown>;
  reports: string[];
}

const cases: Record<string, Case> = {
  "a subscription with a dead-letter policy of 5..100 attempts passes": {
    rule: subscriptionDeadLetter("mandatory"),
    type: SUBSCRIPTION,
    inputs: pushSubscription,
    reports: [],
  },
  "a subscription without a dead-letter policy fails": {
    rule: subscriptionDeadLetter("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { deadLetterPolicy: undefined }),
    reports: ["deadLetterPolicy is not set."],
  },
  "a dead-letter policy of 3 attempts fails": {
    rule: subscriptionDeadLetter("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { deadLetterPolicy: { maxDeliveryAttempts: 3 } }),
    reports: ["maxDeliveryAttempts is 3; Pub/Sub accepts 5..100."],
  },
  "a dead-letter policy without a topic fails": {
    rule: subscriptionDeadLetter("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { deadLetterPolicy: { deadLetterTopic: undefined } }),
    reports: ["deadLetterPolicy has no deadLetterTopic."],
  },
  "a parking subscription (role label) needs no dead-letter policy": {
    rule: subscriptionDeadLetter("mandatory"),
    type: SUBSCRIPTION,
    name: "parked",
    inputs: patched(pushSubscription, {
      name: "parked",
      deadLetterPolicy: undefined,
      labels: { role: "dead-letter-parking" },
    }),
    reports: [],
  },
  "a parking subscription (named <consumer>-dlq-parking) needs no dead-letter policy": {
    rule: subscriptionDeadLetter("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, {
      name: "sms-worker-dlq-parking",
      deadLetterPolicy: undefined,
    }),
    reports: [],
  },
  "a subscription with backoff 10s..600s passes": {
    rule: subscriptionRetryPolicy("mandatory"),
    type: SUBSCRIPTION,
    inputs: pushSubscription,
    reports: [],
  },
  "a subscription without a retry policy fails": {
    rule: subscriptionRetryPolicy("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { retryPolicy: undefined }),
    reports: ["retryPolicy is not set: Pub/Sub redelivers at once after every nack."],
  },
  "a backoff over 600s fails": {
    rule: subscriptionRetryPolicy("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { retryPolicy: { maximumBackoff: "900s" } }),
    reports: ['retryPolicy.maximumBackoff is "900s"; write "<seconds>s" within 0s..600s.'],
  },
  "a minimum backoff above the maximum fails": {
    rule: subscriptionRetryPolicy("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, {
      retryPolicy: { minimumBackoff: "60s", maximumBackoff: "30s" },
    }),
    reports: ["retryPolicy.minimumBackoff (60s) is greater than maximumBackoff (30s)."],
  },
  "an ack deadline of 60s passes": {
    rule: subscriptionAckDeadline("mandatory"),
    type: SUBSCRIPTION,
    inputs: pushSubscription,
    reports: [],
  },
  "an ack deadline of 5s fails": {
    rule: subscriptionAckDeadline("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { ackDeadlineSeconds: 5 }),
    reports: ["ackDeadlineSeconds is 5; Pub/Sub accepts 10..600."],
  },
  "a push subscription with an OIDC token passes": {
    rule: pushSubscriptionOidc("mandatory"),
    type: SUBSCRIPTION,
    inputs: pushSubscription,
    reports: [],
  },
  "a pull subscription needs no OIDC token": {
    rule: pushSubscriptionOidc("mandatory"),
    type: SUBSCRIPTION,
    inputs: pullSubscription,
    reports: [],
  },
  "a push subscription without an OIDC token fails": {
    rule: pushSubscriptionOidc("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { pushConfig: { oidcToken: undefined } }),
    reports: [
      "pushConfig has no oidcToken.serviceAccountEmail: pushes reach the endpoint unauthenticated.",
    ],
  },
  "a pull subscription may deliver exactly once": {
    rule: pushSubscriptionNoExactlyOnce("mandatory"),
    type: SUBSCRIPTION,
    inputs: pullSubscription,
    reports: [],
  },
  "a push subscription with exactly-once fails": {
    rule: pushSubscriptionNoExactlyOnce("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { enableExactlyOnceDelivery: true }),
    reports: ["enableExactlyOnceDelivery is true on a push subscription."],
  },
  "a filter that parses passes": {
    rule: subscriptionFilter("mandatory"),
    type: SUBSCRIPTION,
    inputs: pushSubscription,
    reports: [],
  },
  "a filter with a lowercase operator fails": {
    rule: subscriptionFilter("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { filter: 'attributes.a = "1" and attributes.b = "2"' }),
    reports: [
      'filter "attributes.a = \\"1\\" and attributes.b = \\"2\\"" is invalid: expected "AND", "OR" or end of filter at 19, found "and" (operators are uppercase: AND).',
    ],
  },
  "a filter over 256 bytes fails": {
    rule: subscriptionFilter("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { filter: `attributes.k = "${"x".repeat(250)}"` }),
    reports: [
      `filter ${JSON.stringify(`attributes.k = "${"x".repeat(250)}"`)} is invalid: filter is 267 bytes, over the 256-byte limit (UTF-8) at 256.`,
    ],
  },
  "a subscription that never expires passes": {
    rule: subscriptionExpiration("mandatory"),
    type: SUBSCRIPTION,
    inputs: pushSubscription,
    reports: [],
  },
  "a subscription with the default expiration fails": {
    rule: subscriptionExpiration("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { expirationPolicy: undefined }),
    reports: ["expirationPolicy is not set (default: expire after 31 days idle)."],
  },
  "a subscription that expires after a chosen ttl fails": {
    rule: subscriptionExpiration("mandatory"),
    type: SUBSCRIPTION,
    inputs: patched(pushSubscription, { expirationPolicy: { ttl: "2678400s" } }),
    reports: [
      'expirationPolicy.ttl is "2678400s": the subscription is deleted, with its backlog, after 2678400s without activity; set ttl "" (never expire).',
    ],
  },
  "a topic with a schema passes": {
    rule: topicSchema("mandatory"),
    type: TOPIC,
    inputs: eventTopic,
    reports: [],
  },
  "a topic without a schema fails": {
    rule: topicSchema("mandatory"),
    type: TOPIC,
    inputs: patched(eventTopic, { schemaSettings: undefined }),
    reports: ["schemaSettings.schema is not set."],
  },
  "a dead-letter topic needs no schema": {
    rule: topicSchema("mandatory"),
    type: TOPIC,
    inputs: patched(eventTopic, { name: "sms-worker-dlq", schemaSettings: undefined }),
    reports: [],
  },
  "a topic keeping messages 7 days passes": {
    rule: topicRetention("mandatory"),
    type: TOPIC,
    inputs: eventTopic,
    reports: [],
  },
  "a topic without retention fails": {
    rule: topicRetention("mandatory"),
    type: TOPIC,
    inputs: patched(eventTopic, { messageRetentionDuration: undefined }),
    reports: ["messageRetentionDuration is not set."],
  },
  "a topic keeping messages 60 days fails": {
    rule: topicRetention("mandatory"),
    type: TOPIC,
    inputs: patched(eventTopic, { messageRetentionDuration: "5184000s" }),
    reports: ['messageRetentionDuration is "5184000s"; write "<seconds>s" within 600s..2678400s.'],
  },
  "a topic without a key passes where CMEK is not required": {
    rule: topicCmek("mandatory"),
    type: TOPIC,
    inputs: eventTopic,
    reports: [],
  },
  "a topic with a key passes where CMEK is required": {
    rule: topicCmek("mandatory"),
    type: TOPIC,
    settings: { required: true },
    inputs: patched(eventTopic, {
      kmsKeyName: "projects/p/locations/europe/keyRings/r/cryptoKeys/k",
    }),
    reports: [],
  },
  "a topic without a key fails where CMEK is required": {
    rule: topicCmek("mandatory"),
    type: TOPIC,
    settings: { required: true },
    inputs: eventTopic,
    reports: ["kmsKeyName is not set."],
  },
  "a topic grant to a service account passes": {
    rule: pubsubNoPublicIam("mandatory"),
    type: "gcp:pubsub/topicIAMMember:TopicIAMMember",
    inputs: {
      topic: "viral-shares",
      role: "roles/pubsub.publisher",
      member: "serviceAccount:gw@p.iam.gserviceaccount.com",
    },
    reports: [],
  },
  "a topic grant to allUsers fails": {
    rule: pubsubNoPublicIam("mandatory"),
    type: "gcp:pubsub/topicIAMMember:TopicIAMMember",
    inputs: { topic: "viral-shares", role: "roles/pubsub.publisher", member: "allUsers" },
    reports: ["roles/pubsub.publisher is granted to allUsers."],
  },
  "a subscription binding with allAuthenticatedUsers fails": {
    rule: pubsubNoPublicIam("mandatory"),
    type: "gcp:pubsub/subscriptionIAMBinding:SubscriptionIAMBinding",
    inputs: {
      subscription: "sms-worker",
      role: "roles/pubsub.subscriber",
      members: ["user:a@example.com", "allAuthenticatedUsers"],
    },
    reports: ["roles/pubsub.subscriber is granted to allAuthenticatedUsers."],
  },
  "a topic policy document granting allUsers fails": {
    rule: pubsubNoPublicIam("mandatory"),
    type: "gcp:pubsub/topicIAMPolicy:TopicIAMPolicy",
    inputs: {
      topic: "viral-shares",
      policyData: JSON.stringify({
        bindings: [{ role: "roles/pubsub.viewer", members: ["allUsers"] }],
      }),
    },
    reports: ["roles/pubsub.viewer is granted to allUsers."],
  },
};

describe("Pub/Sub rules", () => {
  it.each(Object.entries(cases))(
    "%s",
    (_title, { rule, type, inputs, name, settings, reports }) => {
      expect(
        resourceViolations(rule, { type, inputs, ...(name !== undefined && { name }) }, settings),
      ).toEqual(reports);
    },
  );

  it("ignores resources of other types", () => {
    expect(
      resourceViolations(subscriptionDeadLetter("mandatory"), { type: TOPIC, inputs: {} }),
    ).toEqual([]);
  });
});
