/**
 * Dead-letter wiring, checked over the whole stack: a subscription's dead-letter policy only works if the topic it
 * names exists here, has a parking subscription (else what lands there is lost), and the Pub/Sub service agent
 * may publish to that topic and acknowledge on the source subscription (else Pub/Sub cannot forward at all and
 * keeps redelivering). docs/requirements.md, PL-14.
 */
import type { PolicyResource, ReportViolation, StackValidationPolicy } from "@pulumi/policy";
import { isParkingSubscription, PUBSUB_SERVICE_AGENT } from "./conventions";
import { grantsOf } from "./iam";
import { SUBSCRIPTION } from "./pubsub-subscriptions";
import { TOPIC } from "./pubsub-topics";
import { known, shortName, type RuleLevel } from "./rule";

/**
 * Finds the resource a reference input points at. A reference is a Pub/Sub name or full id
 * (`projects/p/topics/orders`), compared by its last segment with each candidate's `name` input (or its Pulumi
 * name, when the program leaves the Pub/Sub name to autonaming). When the reference is unknown during a preview
 * (an id the cloud assigns), the engine's record of which resources the input was computed from decides instead.
 */
function referenced(
  from: PolicyResource,
  read: () => unknown,
  property: string,
  candidates: PolicyResource[],
): PolicyResource | undefined {
  const reference = known(read);
  if (typeof reference === "string") {
    const name = shortName(reference);
    return candidates.find((candidate) => {
      const own = known(() => candidate.props["name"] as unknown);
      return (typeof own === "string" ? shortName(own) : candidate.name) === name;
    });
  }
  return from.propertyDependencies[property]?.find((dependency) => candidates.includes(dependency));
}

interface DeadLetterRoute {
  source: PolicyResource;
  topic: PolicyResource | undefined;
  reference: string;
}

/** Every subscription with a dead-letter policy, and the topic of this stack it names (if any). */
function deadLetterRoutes(resources: PolicyResource[]): DeadLetterRoute[] {
  const topics = resources.filter((r) => r.type === TOPIC);
  const namesTopic = (sub: PolicyResource): boolean => {
    const policy = known(() => sub.props["deadLetterPolicy"] as object | undefined);
    return typeof policy === "object" && policy !== null && "deadLetterTopic" in policy;
  };
  return resources
    .filter((r) => r.type === SUBSCRIPTION && namesTopic(r))
    .map((source) => ({
      source,
      topic: referenced(
        source,
        () => source.props["deadLetterPolicy"]["deadLetterTopic"],
        "deadLetterPolicy",
        topics,
      ),
      reference: String(
        known(() => source.props["deadLetterPolicy"]["deadLetterTopic"]) ??
          "(unknown during preview)",
      ),
    }));
}

function subscriptionsOn(topic: PolicyResource, resources: PolicyResource[]): PolicyResource[] {
  return resources.filter(
    (r) =>
      r.type === SUBSCRIPTION && referenced(r, () => r.props["topic"], "topic", [topic]) === topic,
  );
}

export function deadLetterParking(level: RuleLevel): StackValidationPolicy {
  return {
    name: "pubsub-dead-letter-parking",
    description:
      "Every dead-letter topic is declared in this stack and has a parking subscription, so a dead-lettered " +
      "message is kept (and can be listed and redriven) instead of being dropped by a topic nobody subscribes " +
      "to. Fix: give each consumer's dead-letter topic a subscription labelled role: dead-letter-parking (or " +
      "named <consumer>-dlq-parking); only such subscriptions may omit a dead-letter policy.",
    enforcementLevel: level,
    validateStack: (args, report: ReportViolation) => {
      const routes = deadLetterRoutes(args.resources);
      const deadLetterTopics = new Set<PolicyResource>();
      for (const route of routes) {
        if (route.topic === undefined) {
          report(
            `${route.source.name} dead-letters to ${route.reference}, which is not a topic of this stack.`,
            route.source.urn,
          );
          continue;
        }
        deadLetterTopics.add(route.topic);
        const parking = subscriptionsOn(route.topic, args.resources).filter(
          (sub) => sub !== route.source,
        );
        if (parking.length === 0) {
          report(
            `dead-letter topic ${route.topic.name} (of ${route.source.name}) has no subscription: what lands there is lost.`,
            route.topic.urn,
          );
        }
      }
      for (const sub of args.resources.filter((r) => r.type === SUBSCRIPTION)) {
        if (!isParkingSubscription(sub.props, sub.name)) continue;
        const topic = [...deadLetterTopics].find(
          (t) => referenced(sub, () => sub.props["topic"], "topic", [t]) === t,
        );
        if (topic === undefined) {
          report(
            `${sub.name} is marked as a parking subscription but its topic is no subscription's dead-letter topic.`,
            sub.urn,
          );
        }
      }
    },
  };
}

const TOPIC_IAM = [
  "gcp:pubsub/topicIAMMember:TopicIAMMember",
  "gcp:pubsub/topicIAMBinding:TopicIAMBinding",
  "gcp:pubsub/topicIAMPolicy:TopicIAMPolicy",
];
const SUBSCRIPTION_IAM = [
  "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
  "gcp:pubsub/subscriptionIAMBinding:SubscriptionIAMBinding",
  "gcp:pubsub/subscriptionIAMPolicy:SubscriptionIAMPolicy",
];

/** True when an IAM resource of `types` on `target` (through its `property` input) grants `role` to the agent. */
function agentHolds(
  role: string,
  target: PolicyResource,
  types: string[],
  property: string,
  resources: PolicyResource[],
): boolean {
  return resources.some(
    (iam) =>
      types.includes(iam.type) &&
      referenced(iam, () => iam.props[property], property, [target]) === target &&
      grantsOf(iam.type, iam.props).some(
        (grant) => grant.role === role && PUBSUB_SERVICE_AGENT.test(grant.member),
      ),
  );
}

export function deadLetterIam(level: RuleLevel): StackValidationPolicy {
  return {
    name: "pubsub-dead-letter-iam",
    description:
      "The Pub/Sub service agent (serviceAccount:service-<project number>@gcp-sa-pubsub.iam.gserviceaccount.com) " +
      "holds roles/pubsub.publisher on each dead-letter topic and roles/pubsub.subscriber on each subscription " +
      "that dead-letters to it; without them Pub/Sub cannot forward and redelivers forever. Fix: declare a " +
      "TopicIAMMember and a SubscriptionIAMMember for the agent beside the dead-letter topic.",
    enforcementLevel: level,
    validateStack: (args, report: ReportViolation) => {
      for (const route of deadLetterRoutes(args.resources)) {
        if (
          route.topic !== undefined &&
          !agentHolds("roles/pubsub.publisher", route.topic, TOPIC_IAM, "topic", args.resources)
        ) {
          report(
            `the Pub/Sub service agent lacks roles/pubsub.publisher on dead-letter topic ${route.topic.name}.`,
            route.topic.urn,
          );
        }
        if (
          !agentHolds(
            "roles/pubsub.subscriber",
            route.source,
            SUBSCRIPTION_IAM,
            "subscription",
            args.resources,
          )
        ) {
          report(
            `the Pub/Sub service agent lacks roles/pubsub.subscriber on ${route.source.name}.`,
            route.source.urn,
          );
        }
      }
    },
  };
}
