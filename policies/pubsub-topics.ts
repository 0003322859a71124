/**
 * Pub/Sub topic rules: every event topic carries its schema (one wrapper message per topic, docs/requirements.md
 * PL-5), keeps messages for a deliberate time, is encrypted with the customer's key where the stack asks for it,
 * and nothing in Pub/Sub is readable or writable by the public.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import type { TopicArgs } from "@pulumi/gcp/pubsub";
import type { Unwrap } from "@pulumi/pulumi";
import { pubsubLimits } from "../infra/model/validate";
import { isDeadLetterTopic } from "./conventions";
import { grantsOf, PUBLIC_PRINCIPALS } from "./iam";
import { forTypes, mirrors, protoSeconds, settingsSchema, type RuleLevel } from "./rule";

export const TOPIC = "gcp:pubsub/topic:Topic";
type Topic = Unwrap<TopicArgs>;

export function topicSchema(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "pubsub-topic-schema",
    description:
      "An event topic has its Pub/Sub schema attached, so the service rejects a message that is not the topic's " +
      "wrapper message before any consumer sees it. Fix: set schemaSettings { schema, encoding } to the topic's " +
      "schema resource. Dead-letter topics are exempt: they must accept messages that failed to decode " +
      "(policies/conventions.ts).",
    enforcementLevel: level,
    validateResource: forTypes<Topic>([TOPIC], (topic, args, report) => {
      if (isDeadLetterTopic(topic, args.name)) return;
      if (topic.schemaSettings === undefined || !("schema" in topic.schemaSettings)) {
        report("schemaSettings.schema is not set.");
      }
    }),
  };
}

const retention = pubsubLimits.retentionSeconds;

export function topicRetention(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "pubsub-topic-retention",
    description:
      "A topic keeps its messages for a set time, so a subscription can be replayed (seek) after a bad deploy. " +
      `Fix: set messageRetentionDuration within ${retention.min}s..${retention.max}s (10 minutes to 31 days; the ` +
      "topic's retention in infra/system.ts).",
    enforcementLevel: level,
    validateResource: forTypes<Topic>([TOPIC], (topic, _args, report) => {
      const value = topic.messageRetentionDuration;
      if (value === undefined) {
        report("messageRetentionDuration is not set.");
        return;
      }
      const seconds = protoSeconds(value);
      if (seconds === undefined || seconds < retention.min || seconds > retention.max) {
        report(
          `messageRetentionDuration is "${value}"; write "<seconds>s" within ${retention.min}s..${retention.max}s.`,
        );
      }
    }),
  };
}

export interface TopicCmekSettings {
  /** Whether every topic must name a Cloud KMS key. Default false; a stack's config file turns it on. */
  required: boolean;
}

export function topicCmek(
  level: RuleLevel,
  defaults: TopicCmekSettings = { required: false },
): ResourceValidationPolicy {
  return {
    name: "pubsub-topic-cmek",
    description:
      "Where the stack's policy config sets required: true, every topic is encrypted with a customer-managed " +
      "key, so revoking the key revokes access to stored messages. Fix: set kmsKeyName to a Cloud KMS key on " +
      "which the Pub/Sub service agent holds roles/cloudkms.cryptoKeyEncrypterDecrypter." +
      mirrors("Checkov CKV_GCP_83"),
    enforcementLevel: level,
    configSchema: settingsSchema(defaults, { required: { type: "boolean" } }),
    validateResource: forTypes<Topic>([TOPIC], (topic, args, report) => {
      if (args.getConfig<TopicCmekSettings>().required && !("kmsKeyName" in topic))
        report("kmsKeyName is not set.");
    }),
  };
}

/** Every resource type that grants IAM on a Pub/Sub topic or subscription. */
export const PUBSUB_IAM_TYPES = [
  "gcp:pubsub/topicIAMMember:TopicIAMMember",
  "gcp:pubsub/topicIAMBinding:TopicIAMBinding",
  "gcp:pubsub/topicIAMPolicy:TopicIAMPolicy",
  "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
  "gcp:pubsub/subscriptionIAMBinding:SubscriptionIAMBinding",
  "gcp:pubsub/subscriptionIAMPolicy:SubscriptionIAMPolicy",
] as const;

export function pubsubNoPublicIam(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "pubsub-no-public-iam",
    description:
      "No topic or subscription grants a role to allUsers or allAuthenticatedUsers: anyone could publish forged " +
      "events or read the stream. Fix: grant the role to the service account that needs it." +
      mirrors("Checkov CKV_GCP_99", "KICS (Datadog) pubsub_topic_is_public"),
    enforcementLevel: level,
    validateResource: forTypes<Parameters<typeof grantsOf>[1]>(
      PUBSUB_IAM_TYPES,
      (props, args, report) => {
        for (const grant of grantsOf(args.type, props)) {
          if (PUBLIC_PRINCIPALS.has(grant.member))
            report(`${grant.role} is granted to ${grant.member}.`);
        }
      },
    ),
  };
}
