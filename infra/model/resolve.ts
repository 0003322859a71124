/**
 * `resolveSystem` turns the declaration into the model every interpreter reads: stack
 * overrides merged, defaults applied, derived names and filters filled in, durations
 * in seconds, and the built-in archiver consumer added to every topic. It validates
 * everything first and throws one {@link DeclarationError} that lists every problem.
 */
import { filterForTypes } from "../../handlers/runtime/filter";
import { toSeconds } from "./duration";
import { messageNameOf, oneofMembers } from "./proto";
import type {
  CloudRunPlacement,
  ConsumerSpec,
  GkePlacement,
  HandlerContract,
  PullConsumerSpec,
  ResolvedConsumer,
  ResolvedPullConsumer,
  ResolvedEvent,
  ResolvedSystem,
  ResolvedTopic,
  StackOverrides,
  SystemSpec,
} from "./types";
import { DeclarationError, validateSystem } from "./validate";

/** Defaults for what a consumer leaves out; documented on the spec's fields. */
export const consumerDefaults = {
  ackDeadline: "60s",
  retry: { minBackoff: "10s", maxBackoff: "600s" },
  maxDeliveryAttempts: 5,
  retention: "7d",
  cloudRun: { cpu: "1", memory: "512Mi", minInstances: 0, maxInstances: 10, concurrency: 80 } satisfies Required<CloudRunPlacement>,
  gke: {
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    replicas: { min: 1, max: 10 },
    backlogTarget: 100,
    // bench/flow-control.ts: within 10% of the best limit's pipeline throughput (with unary
    // pulls locally, 2026-12-06: 200 reached 0.96–1.00 of it, 100 only 0.80–0.93), at half
    // the latency and the messages held of 500.
    maxMessages: 200,
  } satisfies Required<GkePlacement>,
} as const;

/** Topic message retention when a topic leaves it out. */
export const defaultTopicRetention = "7d";

/** The handler name of the archiver the platform adds to every topic. */
export const ARCHIVER_HANDLER = "archiver";

/** The archiver that appends every event of `topic` to the event store. */
export function archiverConsumerName(topic: string): string {
  return `${topic}-archiver`;
}

/** The placement of the built-in archivers: small pull workers on GKE. */
const archiverPlacement: Required<GkePlacement> = {
  resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
  replicas: { min: 1, max: 5 },
  backlogTarget: 500,
  maxMessages: 200,
};

/** The declaration with one stack's overrides merged in (shallow per consumer field group). */
export function applyStackOverrides(spec: SystemSpec, stack: string): SystemSpec {
  const overrides: StackOverrides | undefined = spec.stacks?.[stack];
  if (!overrides) return spec;
  const topics = Object.fromEntries(
    Object.entries(spec.topics).map(([name, topic]) => [name, { ...topic, ...overrides.topics?.[name] }]),
  );
  const consumers = Object.fromEntries(
    Object.entries(spec.consumers).map(([name, consumer]): [string, ConsumerSpec] => {
      const change = overrides.consumers?.[name];
      if (!change) return [name, consumer];
      const { cloudRun, gke, retry, ...delivery } = change;
      const merged = { ...consumer, ...delivery, retry: { ...consumer.retry, ...retry } };
      if (merged.delivery === "push") return [name, { ...merged, cloudRun: { ...merged.cloudRun, ...cloudRun } }];
      const base = merged.gke ?? {};
      return [
        name,
        {
          ...merged,
          gke: {
            ...base,
            ...gke,
            resources: {
              requests: { ...consumerDefaults.gke.resources.requests, ...base.resources?.requests, ...gke?.resources?.requests },
              limits: { ...consumerDefaults.gke.resources.limits, ...base.resources?.limits, ...gke?.resources?.limits },
            },
            replicas: { ...consumerDefaults.gke.replicas, ...base.replicas, ...gke?.replicas },
          },
        },
      ];
    }),
  );
  return { ...spec, topics, consumers };
}

function resolveTopic(name: string, spec: SystemSpec["topics"][string]): ResolvedTopic {
  const { members } = oneofMembers(spec.schema);
  const fieldByMessage = new Map([...members].map(([field, message]) => [message, field]));
  const events: ResolvedEvent[] = Object.entries(spec.events).map(([type, event]) => {
    const messageName = messageNameOf(event.message);
    return {
      type,
      topic: name,
      message: event.message,
      messageName,
      oneofField: fieldByMessage.get(messageName) ?? "",
      routingAttributes: event.routingAttributes ?? {},
      ...(event.subject !== undefined && { subject: event.subject }),
      producers: event.producers ?? [],
      ...(event.description !== undefined && { description: event.description }),
    };
  });
  return {
    name,
    schema: spec.schema,
    schemaName: messageNameOf(spec.schema),
    encoding: spec.encoding ?? "protobuf",
    retentionSeconds: toSeconds(spec.retention ?? defaultTopicRetention),
    ...(spec.orderingKey !== undefined && { orderingKey: spec.orderingKey }),
    events,
    command: spec.command ?? false,
    ...(spec.description !== undefined && { description: spec.description }),
  };
}

function contractOf(contract: HandlerContract): ResolvedSystem["handlers"][string] {
  return {
    accepts: contract.accepts,
    emits: contract.emits ?? [],
    ...(contract.description !== undefined && { description: contract.description }),
  };
}

function resolveConsumer(name: string, spec: PullConsumerSpec, contract: HandlerContract, topic: ResolvedTopic): ResolvedPullConsumer;
function resolveConsumer(name: string, spec: ConsumerSpec, contract: HandlerContract, topic: ResolvedTopic): ResolvedConsumer;
function resolveConsumer(name: string, spec: ConsumerSpec, contract: HandlerContract, topic: ResolvedTopic): ResolvedConsumer {
  const carried = topic.events.map((event) => event.type);
  const acceptsAll = carried.every((type) => contract.accepts.includes(type));
  const filter = spec.filter ?? (acceptsAll ? undefined : filterForTypes(contract.accepts));
  const common = {
    name,
    handler: spec.handler,
    contract: contractOf(contract),
    topic: spec.topic,
    ...(filter !== undefined && filter.trim() !== "" && { filter }),
    filterOrigin: spec.filter !== undefined ? ("declared" as const) : filter !== undefined ? ("derived" as const) : ("none" as const),
    ackDeadlineSeconds: toSeconds(spec.ackDeadline ?? consumerDefaults.ackDeadline),
    retry: {
      minBackoffSeconds: toSeconds(spec.retry?.minBackoff ?? consumerDefaults.retry.minBackoff),
      maxBackoffSeconds: toSeconds(spec.retry?.maxBackoff ?? consumerDefaults.retry.maxBackoff),
    },
    maxDeliveryAttempts: spec.maxDeliveryAttempts ?? consumerDefaults.maxDeliveryAttempts,
    ordering: spec.ordering ?? false,
    exactlyOnce: spec.exactlyOnce ?? false,
    retainAckedMessages: spec.retainAckedMessages ?? false,
    messageRetentionSeconds: toSeconds(spec.retention ?? consumerDefaults.retention),
    deadLetterTopic: `${name}-dlq`,
    parkingSubscription: `${name}-dlq-parking`,
    builtIn: false,
    ...(spec.description !== undefined && { description: spec.description }),
  };
  if (spec.delivery === "push") return { ...common, delivery: "push", cloudRun: { ...consumerDefaults.cloudRun, ...spec.cloudRun } };
  const gke = spec.gke ?? {};
  return {
    ...common,
    delivery: "pull",
    gke: {
      resources: gke.resources ?? consumerDefaults.gke.resources,
      replicas: gke.replicas ?? consumerDefaults.gke.replicas,
      backlogTarget: gke.backlogTarget ?? consumerDefaults.gke.backlogTarget,
      maxMessages: gke.maxMessages ?? consumerDefaults.gke.maxMessages,
    },
  };
}

function archiverFor(topic: ResolvedTopic): ResolvedPullConsumer {
  const accepts = topic.events.map((event) => event.type);
  const spec: PullConsumerSpec = { delivery: "pull", handler: ARCHIVER_HANDLER, topic: topic.name, gke: archiverPlacement };
  return {
    ...resolveConsumer(archiverConsumerName(topic.name), spec, { accepts }, topic),
    builtIn: true,
    description: `Appends every event on ${topic.name} to the event store (events/{id}).`,
  };
}

/**
 * Validates the declaration for `stack` and returns the resolved model.
 * @throws DeclarationError listing every problem, each with its field path and the fix.
 */
export function resolveSystem(spec: SystemSpec, stack = "dev"): ResolvedSystem {
  const merged = applyStackOverrides(spec, stack);
  const issues = validateSystem(spec, merged, stack);
  if (issues.length > 0) throw new DeclarationError(issues);

  const topics = Object.entries(merged.topics).map(([name, topic]) => resolveTopic(name, topic));
  const topicByName = new Map(topics.map((topic) => [topic.name, topic]));
  const consumers = [
    ...Object.entries(merged.consumers).map(([name, consumer]) =>
      resolveConsumer(name, consumer, merged.handlers[consumer.handler]!, topicByName.get(consumer.topic)!),
    ),
    ...topics.map(archiverFor),
  ];
  const handlers = Object.fromEntries(Object.entries(merged.handlers).map(([name, contract]) => [name, contractOf(contract)]));
  handlers[ARCHIVER_HANDLER] = {
    accepts: topics.flatMap((topic) => topic.events.map((event) => event.type)),
    emits: [],
    description: "Built in: appends every event, immutable, to the Firestore event store.",
  };
  return { stack, topics, consumers, handlers };
}
