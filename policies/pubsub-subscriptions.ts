/**
 * Pub/Sub subscription rules: the delivery guarantees (docs/architecture.md, "Delivery semantics") hold only if
 * every subscription retries with backoff, dead-letters after a bounded number of attempts, authenticates its
 * pushes and carries a filter the service accepts. Limits are the ones the declaration is validated against
 * (pubsubLimits).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import type { SubscriptionArgs } from "@pulumi/gcp/pubsub";
import type { Unwrap } from "@pulumi/pulumi";
import { FilterSyntaxError, MAX_FILTER_BYTES, parseFilter } from "../infra/model/filter";
import { pubsubLimits } from "../infra/model/validate";
import { isParkingSubscription } from "./conventions";
import { forTypes, known, protoSeconds, type RuleLevel } from "./rule";

export const SUBSCRIPTION = "gcp:pubsub/subscription:Subscription";
type Subscription = Unwrap<SubscriptionArgs>;

const attempts = pubsubLimits.maxDeliveryAttempts;
const backoff = pubsubLimits.backoffSeconds;
const ackDeadline = pubsubLimits.ackDeadlineSeconds;

export function subscriptionDeadLetter(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "pubsub-subscription-dead-letter",
    description:
      `Every subscription dead-letters after ${attempts.min}-${attempts.max} delivery attempts, so a message that ` +
      "keeps failing ends on the consumer's dead-letter topic instead of being retried until retention drops it. " +
      "Fix: set deadLetterPolicy { deadLetterTopic, maxDeliveryAttempts } (the consumer's maxDeliveryAttempts in " +
      "infra/system.ts). Parking subscriptions on dead-letter topics are exempt (policies/conventions.ts).",
    enforcementLevel: level,
    validateResource: forTypes<Subscription>([SUBSCRIPTION], (sub, args, report) => {
      if (isParkingSubscription(sub, args.name)) return;
      const policy = sub.deadLetterPolicy;
      if (policy === undefined) {
        report("deadLetterPolicy is not set.");
        return;
      }
      if (!("deadLetterTopic" in policy)) report("deadLetterPolicy has no deadLetterTopic.");
      // Pub/Sub applies 5 when maxDeliveryAttempts is left out, which is inside the range.
      const max = policy.maxDeliveryAttempts;
      if (
        max !== undefined &&
        !(Number.isInteger(max) && max >= attempts.min && max <= attempts.max)
      ) {
        report(`maxDeliveryAttempts is ${max}; Pub/Sub accepts ${attempts.min}..${attempts.max}.`);
      }
    }),
  };
}

export function subscriptionRetryPolicy(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "pubsub-subscription-retry-policy",
    description:
      "Every subscription redelivers with exponential backoff, so a failing handler is not hammered with " +
      `immediate redeliveries. Fix: set retryPolicy { minimumBackoff, maximumBackoff }, each ${backoff.min}s..` +
      `${backoff.max}s with minimumBackoff <= maximumBackoff (the consumer's retry in infra/system.ts).`,
    enforcementLevel: level,
    validateResource: forTypes<Subscription>([SUBSCRIPTION], (sub, _args, report) => {
      const retry = sub.retryPolicy;
      if (retry === undefined) {
        report("retryPolicy is not set: Pub/Sub redelivers at once after every nack.");
        return;
      }
      const bound = (field: "minimumBackoff" | "maximumBackoff", fallback: number): number => {
        const value = retry[field];
        if (value === undefined) return fallback;
        const seconds = protoSeconds(value);
        if (seconds === undefined || seconds < backoff.min || seconds > backoff.max) {
          report(
            `retryPolicy.${field} is "${value}"; write "<seconds>s" within ${backoff.min}s..${backoff.max}s.`,
          );
        }
        return seconds ?? fallback;
      };
      // The API's defaults when a bound is left out: 10s and 600s.
      const min = bound("minimumBackoff", 10);
      const max = bound("maximumBackoff", 600);
      if (min > max)
        report(`retryPolicy.minimumBackoff (${min}s) is greater than maximumBackoff (${max}s).`);
    }),
  };
}

export function subscriptionAckDeadline(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "pubsub-subscription-ack-deadline",
    description:
      `A subscription's ack deadline is ${ackDeadline.min}..${ackDeadline.max} s: the time a handler has before ` +
      "Pub/Sub redelivers. Fix: set ackDeadlineSeconds in range (the consumer's ackDeadline in infra/system.ts).",
    enforcementLevel: level,
    validateResource: forTypes<Subscription>([SUBSCRIPTION], (sub, _args, report) => {
      const seconds = sub.ackDeadlineSeconds;
      if (seconds !== undefined && (seconds < ackDeadline.min || seconds > ackDeadline.max)) {
        report(
          `ackDeadlineSeconds is ${seconds}; Pub/Sub accepts ${ackDeadline.min}..${ackDeadline.max}.`,
        );
      }
    }),
  };
}

export function pushSubscriptionOidc(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "pubsub-push-oidc",
    description:
      "A push subscription signs its requests with an OIDC token, so the Cloud Run handler can require " +
      "authentication (no public invoker) and trust that a request comes from Pub/Sub. Fix: set " +
      "pushConfig.oidcToken.serviceAccountEmail to a service account holding roles/run.invoker on the service.",
    enforcementLevel: level,
    validateResource: forTypes<Subscription>([SUBSCRIPTION], (sub, _args, report) => {
      const push = sub.pushConfig;
      if (push === undefined) return;
      if (push.oidcToken === undefined || !("serviceAccountEmail" in push.oidcToken)) {
        report(
          "pushConfig has no oidcToken.serviceAccountEmail: pushes reach the endpoint unauthenticated.",
        );
      }
    }),
  };
}

export function pushSubscriptionNoExactlyOnce(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "pubsub-push-no-exactly-once",
    description:
      "Pub/Sub offers exactly-once delivery to pull subscriptions only. Fix: drop enableExactlyOnceDelivery on " +
      "push subscriptions (the runtime's idempotency records already make effects happen once), or make the " +
      'consumer delivery: "pull".',
    enforcementLevel: level,
    validateResource: forTypes<Subscription>([SUBSCRIPTION], (sub, _args, report) => {
      if (sub.pushConfig !== undefined && sub.enableExactlyOnceDelivery === true) {
        report("enableExactlyOnceDelivery is true on a push subscription.");
      }
    }),
  };
}

export function subscriptionFilter(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "pubsub-subscription-filter",
    description:
      `A subscription filter parses and is at most ${MAX_FILTER_BYTES} bytes; filters are immutable, so a wrong ` +
      "one means recreating the subscription. Fix: write a filter on attributes, e.g. " +
      'attributes.ce-type = "com.eventline.share.requested" (handlers/runtime/filter.ts parses it as Pub/Sub does).',
    enforcementLevel: level,
    validateResource: forTypes<Subscription>([SUBSCRIPTION], (sub, _args, report) => {
      // A filter computed from other resources is not known during a preview; it is checked once it is.
      const filter = known(() => sub.filter);
      if (typeof filter !== "string") return;
      try {
        parseFilter(filter);
      } catch (err) {
        if (!(err instanceof FilterSyntaxError)) throw err;
        report(`filter ${JSON.stringify(filter)} is invalid: ${err.message}.`);
      }
    }),
  };
}

export function subscriptionExpiration(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "pubsub-subscription-expiration",
    description:
      "Every subscription never expires: by default Pub/Sub deletes a subscription after 31 days without " +
      "subscriber activity, and any ttl deletes it after that long, with its backlog, which silently drops a " +
      "quiet consumer's messages and, for a parking subscription, its dead letters. Fix: set " +
      'expirationPolicy { ttl: "" } (never expire), as infra/gcp/consumer-subscription.ts does.',
    enforcementLevel: level,
    validateResource: forTypes<Subscription>([SUBSCRIPTION], (sub, _args, report) => {
      if (sub.expirationPolicy === undefined) {
        report("expirationPolicy is not set (default: expire after 31 days idle).");
        return;
      }
      const ttl = known(() => sub.expirationPolicy?.ttl);
      if (typeof ttl === "string" && ttl !== "")
        report(
          `expirationPolicy.ttl is "${ttl}": the subscription is deleted, with its backlog, after ${ttl} without activity; set ttl "" (never expire).`,
        );
    }),
  };
}
