/**
 * `resolveSystem` turns the declaration into the model every interpreter reads: stack
 * overrides merged, defaults applied, derived names and filters filled in, durations
 * in seconds, and the built-in archiver consumer added to every topic. It validates
 * everything first and throws one {@link DeclarationError} that lists every problem.
 */
import { createHash } from "node:crypto";
import { filterForTypes } from "./filter";
import {
  archiverPlacement,
  consumerDefaults,
  defaultTopicRetention,
  eventDefaults,
  serviceDefaults,
} from "./defaults";
import { toSeconds, type Duration } from "./duration";
import { SHARE_REQUESTED, TRACKER_EVENT_TYPES } from "./services";
import { messageNameOf, oneofMembers } from "./proto";
import type {
  ConsumerSpec,
  HandlerContract,
  HookSpec,
  PullConsumerSpec,
  ResolvedConsumer,
  ResolvedPullConsumer,
  ResolvedEvent,
  ResolvedSystem,
  ResolvedProducer,
  ResolvedService,
  ResolvedTopic,
  ServiceName,
  StackOverrides,
  SystemSpec,
} from "./types";
import { DeclarationError, validateSystem } from "./validate";

/** The handler name of the archiver the platform adds to every topic. */
export const ARCHIVER_HANDLER = "archiver";

/** The archiver that appends every event of `topic` to the event store. */
export function archiverConsumerName(topic: string): string {
  return `${topic}-archiver`;
}

/** What Pub/Sub cannot change on an existing subscription, besides its name. */
export interface ReplaceOnlySettings {
  topic: string;
  filter?: string | undefined;
  ordering: boolean;
}

/**
 * The Pub/Sub subscription of consumer `name`. The one place a subscription's name is decided:
 * the consumer's name and a short hash of the fields Pub/Sub cannot change in place (topic,
 * filter, ordering), `<consumer>-<8 hex>`. A change to one of them names a new subscription, so
 * it can be created beside the old one and take over its backlog before the old one is retired
 * (infra/gcp/subscription-migration.ts); any other change keeps the name.
 */
export function subscriptionName(name: string, settings: ReplaceOnlySettings): string {
  const hash = createHash("sha256")
    .update(JSON.stringify([settings.topic, settings.filter ?? "", settings.ordering]))
    .digest("hex")
    .slice(0, 8);
  return `${name}-${hash}`;
}

/** Whether `subscription` (short name) is one that consumer `name` has had, under any settings. */
export function isSubscriptionOf(name: string, subscription: string): boolean {
  return (
    subscription.length === name.length + 9 &&
    subscription.startsWith(`${name}-`) &&
    /^[0-9a-f]{8}$/.test(subscription.slice(name.length + 1))
  );
}

/** The declaration with one stack's overrides merged in (shallow per consumer field group). */
export function applyStackOverrides(spec: SystemSpec, stack: string): SystemSpec {
  const overrides: StackOverrides | undefined = spec.stacks?.[stack];
  if (!overrides) return spec;
  const topics = Object.fromEntries(
    Object.entries(spec.topics).map(([name, topic]) => [
      name,
      { ...topic, ...overrides.topics?.[name] },
    ]),
  );
  const consumers = Object.fromEntries(
    Object.entries(spec.consumers).map(([name, consumer]): [string, ConsumerSpec] => {
      const change = overrides.consumers?.[name];
      if (!change) return [name, consumer];
      const { cloudRun, gke, retry, ...delivery } = change;
      const merged = { ...consumer, ...delivery, retry: { ...consumer.retry, ...retry } };
      if (merged.delivery === "push")
        return [name, { ...merged, cloudRun: { ...merged.cloudRun, ...cloudRun } }];
      const base = merged.gke ?? {};
      return [
        name,
        {
          ...merged,
          gke: {
            ...base,
            ...gke,
            resources: {
              requests: {
                ...consumerDefaults.gke.resources.requests,
                ...base.resources?.requests,
                ...gke?.resources?.requests,
              },
              limits: {
                ...consumerDefaults.gke.resources.limits,
                ...base.resources?.limits,
                ...gke?.resources?.limits,
              },
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
      maxBodyBytes: event.maxBodyBytes ?? eventDefaults.maxBodyBytes,
      producers: [],
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
    ...(spec.volume !== undefined && { volume: spec.volume }),
    ...(spec.description !== undefined && { description: spec.description }),
  };
}

function contractOf(contract: HandlerContract): ResolvedSystem["handlers"][string] {
  return {
    accepts: contract.accepts,
    emits: contract.emits ?? [],
    uses: contract.uses ?? [],
    firestorePerEvent: {
      reads: contract.firestorePerEvent?.reads ?? 0,
      writes: contract.firestorePerEvent?.writes ?? 0,
      deletes: contract.firestorePerEvent?.deletes ?? 0,
      storedBytes: contract.firestorePerEvent?.storedBytes ?? 0,
    },
    ...(contract.description !== undefined && { description: contract.description }),
  };
}

function resolveConsumer(
  name: string,
  spec: PullConsumerSpec,
  contract: HandlerContract,
  topic: ResolvedTopic,
): ResolvedPullConsumer;
function resolveConsumer(
  name: string,
  spec: ConsumerSpec,
  contract: HandlerContract,
  topic: ResolvedTopic,
): ResolvedConsumer;
function resolveConsumer(
  name: string,
  spec: ConsumerSpec,
  contract: HandlerContract,
  topic: ResolvedTopic,
): ResolvedConsumer {
  const carried = topic.events.map((event) => event.type);
  const acceptsAll = carried.every((type) => contract.accepts.includes(type));
  const declaredOrDerived =
    spec.filter ?? (acceptsAll ? undefined : filterForTypes(contract.accepts));
  // An empty filter is no filter: Pub/Sub delivers every message either way.
  const filter = declaredOrDerived?.trim() === "" ? undefined : declaredOrDerived;
  const ordering = spec.ordering ?? consumerDefaults.ordering;
  const common = {
    name,
    subscription: subscriptionName(name, { topic: spec.topic, filter, ordering }),
    handler: spec.handler,
    contract: contractOf(contract),
    topic: spec.topic,
    ...(filter !== undefined && { filter }),
    filterOrigin:
      spec.filter !== undefined
        ? ("declared" as const)
        : filter !== undefined
          ? ("derived" as const)
          : ("none" as const),
    ackDeadlineSeconds: toSeconds(spec.ackDeadline ?? consumerDefaults.ackDeadline),
    retry: {
      minBackoffSeconds: toSeconds(spec.retry?.minBackoff ?? consumerDefaults.retry.minBackoff),
      maxBackoffSeconds: toSeconds(spec.retry?.maxBackoff ?? consumerDefaults.retry.maxBackoff),
    },
    maxDeliveryAttempts: spec.maxDeliveryAttempts ?? consumerDefaults.maxDeliveryAttempts,
    ordering,
    exactlyOnce: spec.exactlyOnce ?? consumerDefaults.exactlyOnce,
    retainAckedMessages: spec.retainAckedMessages ?? consumerDefaults.retainAckedMessages,
    messageRetentionSeconds: toSeconds(spec.retention ?? consumerDefaults.retention),
    deadLetterTopic: `${name}-dlq`,
    parkingSubscription: `${name}-dlq-parking`,
    builtIn: false,
    ...(spec.volume !== undefined && { volume: spec.volume }),
    ...(spec.description !== undefined && { description: spec.description }),
  };
  if (spec.delivery === "push")
    return {
      ...common,
      delivery: "push",
      cloudRun: { ...consumerDefaults.cloudRun, ...spec.cloudRun },
    };
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

/** The handler contract a hook runs under: it takes and answers with what it declares, and signs. */
export function hookContract(hook: HookSpec): HandlerContract {
  return {
    accepts: hook.accepts,
    emits: hook.emits ?? [],
    uses: ["hooks"],
    description: hook.description ?? `Outside agent told of its events over signed HTTP.`,
  };
}

/**
 * The consumer a hook becomes: a push consumer (Cloud Run) whose handler, of the hook's name,
 * POSTs each event to the hook's URL on this stack (handlers/adapters/hook.ts).
 */
function hookConsumer(
  name: string,
  hook: HookSpec,
  url: string,
  topic: ResolvedTopic,
): ResolvedConsumer {
  const spec: ConsumerSpec = {
    handler: name,
    topic: hook.topic,
    delivery: "push",
    ...(hook.filter !== undefined && { filter: hook.filter }),
    ...(hook.retry !== undefined && { retry: hook.retry }),
    ...(hook.maxDeliveryAttempts !== undefined && {
      maxDeliveryAttempts: hook.maxDeliveryAttempts,
    }),
    description: hook.description ?? `Hook: POSTs ${hook.accepts.join(", ")} to ${url}.`,
  };
  return { ...resolveConsumer(name, spec, hookContract(hook), topic), hook: { url } };
}

function archiverFor(topic: ResolvedTopic): ResolvedPullConsumer {
  const accepts = topic.events.map((event) => event.type);
  const spec: PullConsumerSpec = {
    delivery: "pull",
    handler: ARCHIVER_HANDLER,
    topic: topic.name,
    gke: archiverPlacement,
  };
  return {
    ...resolveConsumer(archiverConsumerName(topic.name), spec, { accepts }, topic),
    builtIn: true,
    description: `Appends every event on ${topic.name} to the event store (events/{id}).`,
  };
}

function resolveProducers(spec: SystemSpec): ResolvedProducer[] {
  return Object.entries(spec.producers ?? {}).map(([name, producer]) => ({
    name,
    ...(producer.description !== undefined && { description: producer.description }),
    publishes: producer.publishes ?? [],
    sources: producer.sources,
    shares: producer.shares ?? false,
  }));
}

/** Each event's producers: the declared producers that post it, or the platform service that makes it. */
function withProducers(
  topics: ResolvedTopic[],
  producers: readonly ResolvedProducer[],
): ResolvedTopic[] {
  const producersOf = (type: string): string[] => {
    if (type === SHARE_REQUESTED)
      return producers.filter((p) => p.shares).map((p) => `${p.name} (/v1/shares)`);
    if ((TRACKER_EVENT_TYPES as readonly string[]).includes(type)) return ["tracker"];
    return producers.filter((p) => p.publishes.includes(type)).map((p) => p.name);
  };
  return topics.map((topic) => ({
    ...topic,
    events: topic.events.map((event) => ({ ...event, producers: producersOf(event.type) })),
  }));
}

function resolveServices(spec: SystemSpec): ResolvedSystem["services"] {
  const resolve = (name: ServiceName): ResolvedService => {
    const declared = spec.services?.[name] ?? {};
    const rateLimit = declared.rateLimit ?? serviceDefaults[name].rateLimit;
    return {
      name,
      ...(declared.public !== undefined && { publicReason: declared.public.reason.trim() }),
      ...(rateLimit !== undefined && {
        rateLimit: {
          requests: rateLimit.requests,
          perSeconds: toSeconds(rateLimit.per as Duration),
        },
      }),
      cloudRun: { ...serviceDefaults[name].cloudRun, ...declared.cloudRun },
    };
  };
  return { gateway: resolve("gateway"), tracker: resolve("tracker") };
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
      resolveConsumer(
        name,
        consumer,
        merged.handlers[consumer.handler]!,
        topicByName.get(consumer.topic)!,
      ),
    ),
    ...Object.entries(merged.hooks ?? {}).map(([name, hook]) =>
      hookConsumer(
        name,
        hook,
        spec.stacks?.[stack]?.hooks?.[name]?.url ?? hook.url,
        topicByName.get(hook.topic)!,
      ),
    ),
    ...topics.map(archiverFor),
  ];
  const handlers = Object.fromEntries(
    Object.entries(merged.handlers).map(([name, contract]) => [name, contractOf(contract)]),
  );
  for (const [name, hook] of Object.entries(merged.hooks ?? {}))
    handlers[name] = contractOf(hookContract(hook));
  handlers[ARCHIVER_HANDLER] = {
    accepts: topics.flatMap((topic) => topic.events.map((event) => event.type)),
    emits: [],
    uses: [],
    firestorePerEvent: { reads: 0, writes: 0, deletes: 0, storedBytes: 0 },
    description: "Built in: appends every event, immutable, to the Firestore event store.",
  };
  const producers = resolveProducers(merged);
  return {
    stack,
    producers,
    services: resolveServices(merged),
    topics: withProducers(topics, producers),
    consumers,
    handlers,
  };
}
