/**
 * Load-time validation of the declaration: every rule Pub/Sub, Cloud Run and Kubernetes
 * would enforce later (or silently get wrong), reported now with the field and the fix.
 */
import { FilterSyntaxError, filterForTypes, parseFilter } from "./filter";
import { DurationError, toSeconds } from "./duration";
import { hasField, messageNameOf, oneofMembers } from "./proto";
import { parseQuantity } from "./quantity";
import { consumerDefaults, eventDefaults, serviceDefaults } from "./defaults";
import { PLATFORM_PRODUCED_TYPES, SERVICE_NAMES, SHARE_REQUESTED } from "./services";
import { capabilities } from "./settings";
import type {
  CloudRunPlacement,
  ConsumerSpec,
  HookSpec,
  ProducerSpec,
  ServiceSpec,
  SystemSpec,
  TopicSpec,
} from "./types";

/** One problem in the declaration. */
export interface DeclarationIssue {
  /** Where, as a dotted path: `consumers.email-worker.ackDeadline`. */
  path: string;
  /** What is wrong, with the value found. */
  problem: string;
  /** What to write instead. */
  fix: string;
}

/** The declaration does not load; `issues` lists every problem found. */
export class DeclarationError extends Error {
  override readonly name = "DeclarationError";
  constructor(readonly issues: readonly DeclarationIssue[]) {
    super(
      `The system declaration has ${issues.length} problem${issues.length === 1 ? "" : "s"}:\n` +
        issues.map((issue) => `  ${issue.path}: ${issue.problem}. Fix: ${issue.fix}.`).join("\n"),
    );
  }
}

/** Names that become Cloud Run services, Kubernetes objects and Pub/Sub resources. */
const resourceName = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const maxConsumerName = 40;
/** Leaves room for the `-archiver` suffix within {@link maxConsumerName}. */
const maxTopicName = maxConsumerName - "-archiver".length;
export const eventTypeName = /^com\.[a-z][a-z0-9]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
/** CloudEvents extension attribute names: lowercase letters and digits, at most 20. */
const extensionName = /^[a-z0-9]{1,20}$/;
const reservedAttributes = new Set([
  "id",
  "source",
  "type",
  "specversion",
  "time",
  "subject",
  "datacontenttype",
  "dataschema",
  "data",
  "correlationid",
  "causationid",
  "traceparent",
  "tracestate",
]);

/** Pub/Sub's limits on subscriptions and topics, as its documentation states them. */
export const pubsubLimits = {
  ackDeadlineSeconds: { min: 10, max: 600 },
  backoffSeconds: { min: 0, max: 600 },
  maxDeliveryAttempts: { min: 5, max: 100 },
  retentionSeconds: { min: 600, max: 31 * 86_400 },
  subscriptionRetentionSeconds: { min: 600, max: 7 * 86_400 },
  /** One message, data and attributes (the runtime's PUBSUB_MESSAGE_LIMITS.totalBytes). */
  messageBytes: 10_000_000,
} as const;

/** Cloud Run's bounds on requests per instance. */
export const cloudRunLimits = { concurrency: { min: 1, max: 1000 } } as const;

class Issues {
  readonly list: DeclarationIssue[] = [];
  add(path: string, problem: string, fix: string): void {
    this.list.push({ path, problem, fix });
  }
  /** Seconds of a duration field, or undefined (with an issue) when it does not parse. */
  seconds(path: string, value: string | undefined): number | undefined {
    if (value === undefined) return undefined;
    try {
      return toSeconds(value);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      this.add(path, err.message, 'write it as a typed duration such as "10s" or "10m"');
      return undefined;
    }
  }
  /** Adds an issue when `value` (when given) is outside `bounds`; `unit` follows each number in the message. */
  range(
    path: string,
    value: number | undefined,
    check: { bounds: { min: number; max: number }; unit?: string; fix: string },
  ): void {
    const { bounds, unit = "", fix } = check;
    if (value !== undefined && (value < bounds.min || value > bounds.max))
      this.add(path, `${value}${unit} is outside ${bounds.min}${unit}..${bounds.max}${unit}`, fix);
  }
}

function checkName(issues: Issues, path: string, name: string, max: number, what: string): void {
  if (!resourceName.test(name) || name.length > max) {
    issues.add(
      path,
      `"${name}" is not a valid ${what} name`,
      `use lowercase letters, digits and hyphens, starting with a letter, at most ${max} characters (it names Pub/Sub, Cloud Run and Kubernetes resources)`,
    );
  }
}

function validateTopic(
  issues: Issues,
  name: string,
  topic: TopicSpec,
  typeOwner: Map<string, string>,
): void {
  const at = `topics.${name}`;
  checkName(issues, at, name, maxTopicName, "topic");
  const retention = issues.seconds(`${at}.retention`, topic.retention);
  issues.range(`${at}.retention`, retention, {
    bounds: pubsubLimits.retentionSeconds,
    unit: "s",
    fix: 'Pub/Sub keeps topic messages between "10m" and "31d"',
  });

  const { oneof, members } = oneofMembers(topic.schema);
  const schemaName = messageNameOf(topic.schema);
  if (oneof === undefined) {
    issues.add(
      `${at}.schema`,
      `${schemaName} has no single oneof`,
      "give the topic's wrapper message exactly one `oneof event { ... }` with one member per event type",
    );
  }
  validateTopicVolume(issues, at, topic);
  const declaredMessages = new Map<string, string>();
  for (const [type, event] of Object.entries(topic.events)) {
    const path = `${at}.events.${type}`;
    if (!eventTypeName.test(type))
      issues.add(
        path,
        `"${type}" does not follow com.<org>.<domain>.<action>`,
        'name it like "com.eventline.share.requested" (lowercase, underscores inside a segment)',
      );
    const owner = typeOwner.get(type);
    if (owner !== undefined && owner !== name)
      issues.add(
        path,
        `event type ${type} is also declared on topic ${owner}`,
        "declare each event type on exactly one topic",
      );
    typeOwner.set(type, name);
    const message = messageNameOf(event.message);
    const twin = declaredMessages.get(message);
    if (twin !== undefined)
      issues.add(
        `${path}.message`,
        `${message} is already bound to ${twin} on this topic`,
        "bind each message to one event type, or give the second type its own message",
      );
    declaredMessages.set(message, type);
    if (oneof !== undefined && ![...members.values()].includes(message)) {
      issues.add(
        `${path}.message`,
        `${message} is not a member of ${schemaName}'s oneof`,
        `add \`${message.split(".").pop()} <field> = <n>;\` to ${schemaName} in proto/ and run npm run proto:gen`,
      );
    }
    for (const [attribute, field] of Object.entries(event.routingAttributes ?? {})) {
      if (!extensionName.test(attribute) || reservedAttributes.has(attribute)) {
        issues.add(
          `${path}.routingAttributes.${attribute}`,
          `"${attribute}" cannot be a CloudEvents extension attribute`,
          "use 1-20 lowercase letters or digits that are not a CloudEvents context attribute name",
        );
      }
      if (!hasField(event.message, field))
        issues.add(
          `${path}.routingAttributes.${attribute}`,
          `${message} has no field "${field}"`,
          "name a top-level field of the message, in camelCase",
        );
    }
    if (
      event.maxBodyBytes !== undefined &&
      (!Number.isSafeInteger(event.maxBodyBytes) ||
        event.maxBodyBytes < 1 ||
        event.maxBodyBytes > pubsubLimits.messageBytes)
    ) {
      issues.add(
        `${path}.maxBodyBytes`,
        `${event.maxBodyBytes} is not a whole number of bytes in 1..${pubsubLimits.messageBytes}`,
        `the body becomes one Pub/Sub message, at most ${pubsubLimits.messageBytes} bytes; leave it out for the default ${eventDefaults.maxBodyBytes}`,
      );
    }
    if (event.subject !== undefined && !hasField(event.message, event.subject)) {
      issues.add(
        `${path}.subject`,
        `${message} has no field "${event.subject}"`,
        "name a top-level field of the message, in camelCase",
      );
    }
    if (topic.orderingKey !== undefined && !hasField(event.message, topic.orderingKey)) {
      issues.add(
        `${at}.orderingKey`,
        `${message} (${type}) has no field "${topic.orderingKey}"`,
        "choose a field every event on the topic has",
      );
    }
  }
  for (const [field, message] of members) {
    if (!declaredMessages.has(message))
      issues.add(
        `${at}.schema`,
        `${schemaName}.${field} (${message}) has no event type`,
        `declare an event type for ${message} on this topic, or remove the member`,
      );
  }
}

/** Adds an issue unless `value` is a finite number within `min..max`. */
function checkNumber(
  issues: Issues,
  path: string,
  value: unknown,
  bounds: { min: number; max: number },
  fix: string,
): void {
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    value < bounds.min ||
    value > bounds.max
  )
    issues.add(path, `${String(value)} is not a number in ${bounds.min}..${bounds.max}`, fix);
}

/** A topic's declared traffic, which `eventline cost` prices. */
function validateTopicVolume(issues: Issues, at: string, topic: TopicSpec): void {
  const volume = topic.volume;
  if (volume === undefined) return;
  checkNumber(
    issues,
    `${at}.volume.eventsPerSecond`,
    volume.eventsPerSecond,
    { min: 0, max: 1e7 },
    "declare the month's average events per second, e.g. 3.8 for 10 million a month",
  );
  checkNumber(
    issues,
    `${at}.volume.averageBytes`,
    volume.averageBytes,
    { min: 1, max: pubsubLimits.messageBytes },
    "declare the average message size in bytes, body and attributes, e.g. 800",
  );
  checkNumber(
    issues,
    `${at}.volume.handlerMs`,
    volume.handlerMs,
    { min: 0, max: pubsubLimits.ackDeadlineSeconds.max * 1000 },
    "declare a handler's time per event in milliseconds, e.g. 50",
  );
  let total = 0;
  for (const [type, share] of Object.entries(volume.typeShares ?? {})) {
    const path = `${at}.volume.typeShares.${type}`;
    if (!(type in topic.events))
      issues.add(
        path,
        `the topic carries no type ${type}`,
        `use one of: ${Object.keys(topic.events).join(", ")}`,
      );
    checkNumber(
      issues,
      path,
      share,
      { min: 0, max: 1 },
      "give the type's share of the topic's events, 0..1",
    );
    if (typeof share === "number") total += share;
  }
  if (total > 1 + 1e-9)
    issues.add(
      `${at}.volume.typeShares`,
      `the shares add up to ${Number(total.toFixed(6))}`,
      "make the types' shares add up to 1 at most",
    );
}

function validateCloudRun(issues: Issues, at: string, run: CloudRunPlacement): void {
  const { minInstances, maxInstances, concurrency } = { ...consumerDefaults.cloudRun, ...run };
  if (minInstances < 0 || maxInstances < 1 || minInstances > maxInstances) {
    issues.add(
      `${at}.cloudRun`,
      `instances ${minInstances}..${maxInstances} are not a valid range`,
      "set 0 ≤ minInstances ≤ maxInstances and maxInstances ≥ 1",
    );
  }
  issues.range(`${at}.cloudRun.concurrency`, concurrency, {
    bounds: cloudRunLimits.concurrency,
    fix: "Cloud Run serves 1..1000 requests per instance",
  });
  for (const key of ["cpu", "memory"] as const) {
    const value = run[key];
    if (value !== undefined && parseQuantity(value) === undefined)
      issues.add(
        `${at}.cloudRun.${key}`,
        `"${value}" is not a quantity`,
        'write it like "1" or "500m" for cpu and "512Mi" for memory',
      );
  }
}

function validatePlacement(issues: Issues, at: string, consumer: ConsumerSpec): void {
  if (consumer.delivery === "push") {
    validateCloudRun(issues, at, consumer.cloudRun ?? {});
    return;
  }
  const gke = consumer.gke ?? {};
  if (gke.replicas !== undefined && (gke.replicas.min < 1 || gke.replicas.min > gke.replicas.max)) {
    issues.add(
      `${at}.gke.replicas`,
      `replicas ${gke.replicas.min}..${gke.replicas.max} are not a valid range`,
      "set 1 ≤ min ≤ max (the HPA needs at least one replica)",
    );
  }
  if (gke.backlogTarget !== undefined && !(gke.backlogTarget > 0))
    issues.add(
      `${at}.gke.backlogTarget`,
      `${gke.backlogTarget} is not a positive backlog`,
      "set the undelivered messages per replica the autoscaler aims for, e.g. 1000",
    );
  if (gke.maxMessages !== undefined && !(Number.isInteger(gke.maxMessages) && gke.maxMessages > 0))
    issues.add(
      `${at}.gke.maxMessages`,
      `${gke.maxMessages} is not a positive whole number`,
      "set how many messages one replica processes at once, e.g. 100",
    );
  if (gke.resources !== undefined) {
    for (const key of ["cpu", "memory"] as const) {
      const request = parseQuantity(gke.resources.requests[key]);
      const limit = parseQuantity(gke.resources.limits[key]);
      if (request === undefined || limit === undefined) {
        issues.add(
          `${at}.gke.resources`,
          `${key} "${gke.resources.requests[key]}"/"${gke.resources.limits[key]}" is not a Kubernetes quantity`,
          'write quantities like "200m" (cpu) and "256Mi" (memory)',
        );
      } else if (request > limit) {
        issues.add(
          `${at}.gke.resources`,
          `the ${key} request ${gke.resources.requests[key]} exceeds its limit ${gke.resources.limits[key]}`,
          "raise the limit or lower the request",
        );
      }
    }
  }
}

function validateConsumer(
  issues: Issues,
  name: string,
  consumer: ConsumerSpec,
  spec: SystemSpec,
): void {
  const at = `consumers.${name}`;
  checkName(issues, at, name, maxConsumerName, "consumer");
  if ((SERVICE_NAMES as readonly string[]).includes(name))
    issues.add(
      at,
      `"${name}" is the name of a platform service's Cloud Run service`,
      "rename the consumer",
    );
  if (consumer.delivery !== "push" && consumer.delivery !== "pull") {
    issues.add(
      `${at}.delivery`,
      `"${String((consumer as { delivery: unknown }).delivery)}" is not a delivery mode`,
      'use "push" (Cloud Run) or "pull" (GKE)',
    );
    return;
  }
  const topic = spec.topics[consumer.topic];
  const contract = spec.handlers[consumer.handler];
  if (topic === undefined)
    issues.add(
      `${at}.topic`,
      `no topic named "${consumer.topic}"`,
      `use one of: ${Object.keys(spec.topics).join(", ")}`,
    );
  if (contract === undefined)
    issues.add(
      `${at}.handler`,
      `no handler named "${consumer.handler}"`,
      `declare it under handlers, or use one of: ${Object.keys(spec.handlers).join(", ")}`,
    );
  if (topic !== undefined && contract !== undefined) {
    const missing = contract.accepts.filter((type) => !(type in topic.events));
    if (missing.length > 0)
      issues.add(
        `${at}.topic`,
        `topic ${consumer.topic} cannot carry ${missing.join(", ")}, which handler ${consumer.handler} accepts`,
        `subscribe to the topic that carries them, or narrow the handler's accepts`,
      );
  }

  const ack = issues.seconds(`${at}.ackDeadline`, consumer.ackDeadline);
  issues.range(`${at}.ackDeadline`, ack, {
    bounds: pubsubLimits.ackDeadlineSeconds,
    unit: "s",
    fix: 'Pub/Sub ack deadlines are "10s".."600s"',
  });
  const minBackoff = issues.seconds(`${at}.retry.minBackoff`, consumer.retry?.minBackoff);
  const maxBackoff = issues.seconds(`${at}.retry.maxBackoff`, consumer.retry?.maxBackoff);
  const backoff = {
    bounds: pubsubLimits.backoffSeconds,
    unit: "s",
    fix: 'Pub/Sub retry backoff is "0s".."600s"',
  };
  issues.range(`${at}.retry.minBackoff`, minBackoff, backoff);
  issues.range(`${at}.retry.maxBackoff`, maxBackoff, backoff);
  const [minEffective, maxEffective] = [
    minBackoff ?? toSeconds(consumerDefaults.retry.minBackoff),
    maxBackoff ?? toSeconds(consumerDefaults.retry.maxBackoff),
  ];
  if (minEffective > maxEffective)
    issues.add(
      `${at}.retry`,
      `minBackoff ${minEffective}s is greater than maxBackoff ${maxEffective}s`,
      "set minBackoff ≤ maxBackoff",
    );
  const retention = issues.seconds(`${at}.retention`, consumer.retention);
  issues.range(`${at}.retention`, retention, {
    bounds: pubsubLimits.subscriptionRetentionSeconds,
    unit: "s",
    fix: 'Pub/Sub keeps subscription messages between "10m" and "7d"',
  });
  const attempts = consumer.maxDeliveryAttempts;
  if (
    attempts !== undefined &&
    (!Number.isInteger(attempts) ||
      attempts < pubsubLimits.maxDeliveryAttempts.min ||
      attempts > pubsubLimits.maxDeliveryAttempts.max)
  ) {
    issues.add(
      `${at}.maxDeliveryAttempts`,
      `${attempts} is outside 5..100`,
      "Pub/Sub dead-letters after 5 to 100 delivery attempts; pick a whole number in that range",
    );
  }
  if (
    consumer.delivery === "push" &&
    (consumer as { exactlyOnce?: boolean }).exactlyOnce === true
  ) {
    issues.add(
      `${at}.exactlyOnce`,
      "exactly-once delivery is not available to push subscriptions",
      'use delivery: "pull" (GKE) for exactly-once, or drop exactlyOnce; the runtime\'s idempotency records already make effects happen once',
    );
  }
  if (consumer.ordering === true && topic !== undefined && topic.orderingKey === undefined) {
    issues.add(
      `${at}.ordering`,
      `topic ${consumer.topic} declares no orderingKey`,
      "set orderingKey on the topic, or drop ordering",
    );
  }
  if (consumer.filter !== undefined) {
    try {
      parseFilter(consumer.filter);
    } catch (err) {
      if (!(err instanceof FilterSyntaxError)) throw err;
      issues.add(
        `${at}.filter`,
        err.message,
        'write a Pub/Sub filter such as attributes.ce-type = "com.eventline.share.requested" (at most 256 bytes)',
      );
    }
  } else if (
    topic !== undefined &&
    contract !== undefined &&
    contract.accepts.length > 0 &&
    Object.keys(topic.events).some((type) => !contract.accepts.includes(type))
  ) {
    try {
      filterForTypes(contract.accepts);
    } catch (err) {
      if (!(err instanceof FilterSyntaxError)) throw err;
      issues.add(
        `${at}.filter`,
        `the filter derived from handler ${consumer.handler}'s accepts is too long (${err.message})`,
        'declare a shorter filter, e.g. hasPrefix(attributes.ce-type, "com.eventline.campaign.")',
      );
    }
  }
  if (consumer.volume?.share !== undefined)
    checkNumber(
      issues,
      `${at}.volume.share`,
      consumer.volume.share,
      { min: 0, max: 1 },
      "give the share of the topic's events its subscription receives, 0..1",
    );
  if (consumer.volume?.handlerMs !== undefined)
    checkNumber(
      issues,
      `${at}.volume.handlerMs`,
      consumer.volume.handlerMs,
      { min: 0, max: pubsubLimits.ackDeadlineSeconds.max * 1000 },
      "declare its handler's time per event in milliseconds, e.g. 800",
    );
  validatePlacement(issues, at, consumer);
}

/** Where a hook may be sent: https anywhere, plain http only to this machine (a local receiver). */
function hookUrlProblem(url: unknown): string | undefined {
  if (typeof url !== "string") return "is not a URL";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL`;
  }
  if (parsed.username !== "" || parsed.password !== "")
    return `"${url}" carries credentials; hooks are authenticated by their signature`;
  if (parsed.protocol === "https:") return undefined;
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
  if (parsed.protocol === "http:" && loopback) return undefined;
  return `"${url}" is neither https nor http to this machine`;
}

function validateHook(
  issues: Issues,
  name: string,
  hook: HookSpec,
  spec: SystemSpec,
  typeOwner: ReadonlyMap<string, string>,
): void {
  const at = `hooks.${name}`;
  checkName(issues, at, name, maxConsumerName, "hook");
  if (name in spec.consumers || name in spec.handlers)
    issues.add(
      at,
      `"${name}" is also the name of a ${name in spec.consumers ? "consumer" : "handler"}`,
      "a hook is a consumer and a handler of its own name: rename one of them",
    );
  const topic = spec.topics[hook.topic];
  if (topic === undefined)
    issues.add(
      `${at}.topic`,
      `no topic named "${String(hook.topic)}"`,
      `use one of: ${Object.keys(spec.topics).join(", ")}`,
    );
  if (!Array.isArray(hook.accepts) || hook.accepts.length === 0)
    issues.add(
      `${at}.accepts`,
      "the hook takes no event type",
      "list the event types it is told of",
    );
  else if (topic !== undefined) {
    const missing = hook.accepts.filter((type) => !(type in topic.events));
    if (missing.length > 0)
      issues.add(
        `${at}.accepts`,
        `topic ${hook.topic} does not carry ${missing.join(", ")}`,
        `take types of the topic: ${Object.keys(topic.events).join(", ")}`,
      );
  }
  for (const type of hook.emits ?? [])
    if (!typeOwner.has(type))
      issues.add(
        `${at}.emits`,
        `unknown event type ${type}`,
        "declare it on a topic, or fix its spelling",
      );
  const problem = hookUrlProblem(hook.url);
  if (problem !== undefined)
    issues.add(
      `${at}.url`,
      problem,
      'give the agent\'s https address, e.g. "https://agents.example.com/eventline"; a local receiver goes in stacks.local.hooks',
    );
  if (hook.filter !== undefined) {
    try {
      parseFilter(hook.filter);
    } catch (err) {
      if (!(err instanceof FilterSyntaxError)) throw err;
      issues.add(
        `${at}.filter`,
        err.message,
        'write a Pub/Sub filter such as attributes.ce-subject = "c-1"',
      );
    }
  }
  if (
    hook.maxDeliveryAttempts !== undefined &&
    !(
      Number.isInteger(hook.maxDeliveryAttempts) &&
      hook.maxDeliveryAttempts >= pubsubLimits.maxDeliveryAttempts.min &&
      hook.maxDeliveryAttempts <= pubsubLimits.maxDeliveryAttempts.max
    )
  )
    issues.add(
      `${at}.maxDeliveryAttempts`,
      `${hook.maxDeliveryAttempts} is outside 5..100`,
      "Pub/Sub dead-letters after 5 to 100 delivery attempts; pick a whole number in that range",
    );
}

/** A producer's name becomes its service account id (`prd-<name>`) and its local identity. */
const maxProducerName = 24;

function validateProducer(
  issues: Issues,
  name: string,
  producer: ProducerSpec,
  typeOwner: ReadonlyMap<string, string>,
): void {
  const at = `producers.${name}`;
  checkName(issues, at, name, maxProducerName, "producer");
  const publishes = producer.publishes ?? [];
  for (const type of publishes) {
    if (!typeOwner.has(type))
      issues.add(
        `${at}.publishes`,
        `unknown event type ${type}`,
        "declare it on a topic, or fix its spelling",
      );
    else if (PLATFORM_PRODUCED_TYPES.includes(type)) {
      issues.add(
        `${at}.publishes`,
        `${type} is made by the platform itself, not posted by producers`,
        type === SHARE_REQUESTED
          ? "give the producer shares: true; it posts share requests to /v1/shares"
          : "the tracker publishes it from the invitation's links",
      );
    }
  }
  if (publishes.length === 0 && producer.shares !== true)
    issues.add(
      at,
      "the producer may post nothing",
      "list the event types it publishes, or set shares: true",
    );
  if (
    !Array.isArray(producer.sources) ||
    producer.sources.length === 0 ||
    producer.sources.some(
      (source) => typeof source !== "string" || source.trim() === "" || /\s/.test(source),
    )
  ) {
    issues.add(
      `${at}.sources`,
      "needs at least one source prefix without spaces",
      'list the ce-source prefixes its events carry, e.g. "//user-service"',
    );
  }
}

function validateService(issues: Issues, name: string, service: ServiceSpec): void {
  const at = `services.${name}`;
  if (!(name in serviceDefaults)) {
    issues.add(
      at,
      `"${name}" is not a platform service`,
      `declare one of: ${Object.keys(serviceDefaults).join(", ")}`,
    );
    return;
  }
  if (
    service.public !== undefined &&
    !(typeof service.public.reason === "string" && service.public.reason.trim().length >= 10)
  ) {
    issues.add(
      `${at}.public.reason`,
      "a public service needs its reason",
      "say who must reach it from the internet and why, in a sentence (the policy pack and the catalog show it)",
    );
  }
  if (service.rateLimit !== undefined) {
    const { requests, per } = service.rateLimit;
    if (!Number.isInteger(requests) || requests < 1)
      issues.add(
        `${at}.rateLimit.requests`,
        `${requests} is not a positive whole number`,
        "set how many requests one client may make per window, e.g. 120",
      );
    issues.seconds(`${at}.rateLimit.per`, per);
  }
  validateCloudRun(issues, at, service.cloudRun ?? {});
}

/**
 * Every problem in the declaration, checked on the stack's merged view (`merged`) and,
 * for stack overrides, against the original (`spec`). Empty when it loads.
 */
export function validateSystem(
  spec: SystemSpec,
  merged: SystemSpec,
  stack: string,
): DeclarationIssue[] {
  const issues = new Issues();
  const typeOwner = new Map<string, string>();
  for (const [name, topic] of Object.entries(merged.topics))
    validateTopic(issues, name, topic, typeOwner);

  for (const [name, contract] of Object.entries(merged.handlers)) {
    checkName(issues, `handlers.${name}`, name, maxConsumerName, "handler");
    for (const capability of contract.uses ?? []) {
      if (!capabilities.includes(capability))
        issues.add(
          `handlers.${name}.uses`,
          `"${String(capability)}" is not a capability`,
          `use one of: ${capabilities.join(", ")}`,
        );
    }
    for (const [key, count] of Object.entries(contract.firestorePerEvent ?? {}))
      checkNumber(
        issues,
        `handlers.${name}.firestorePerEvent.${key}`,
        count,
        { min: 0, max: key === "storedBytes" ? 1_048_576 * 10 : 500 },
        "declare what the handler does per event on average: reads, writes and deletes (a transaction holds at most 500 writes), storedBytes",
      );
    if (contract.accepts.length === 0)
      issues.add(
        `handlers.${name}.accepts`,
        "the handler accepts no event type",
        "list the event types it processes",
      );
    for (const [list, types] of [
      ["accepts", contract.accepts],
      ["emits", contract.emits ?? []],
    ] as const) {
      for (const type of types)
        if (!typeOwner.has(type))
          issues.add(
            `handlers.${name}.${list}`,
            `unknown event type ${type}`,
            "declare it on a topic, or fix its spelling",
          );
    }
  }

  for (const [name, consumer] of Object.entries(merged.consumers))
    validateConsumer(issues, name, consumer, merged);
  for (const [name, producer] of Object.entries(merged.producers ?? {}))
    validateProducer(issues, name, producer, typeOwner);
  for (const [name, service] of Object.entries(merged.services ?? {}))
    validateService(issues, name, service);
  for (const [name, hook] of Object.entries(merged.hooks ?? {}))
    validateHook(issues, name, hook, merged, typeOwner);
  for (const [name, topic] of Object.entries(merged.topics)) {
    if (topic.command !== true) continue;
    const handledBy = Object.entries(merged.consumers)
      .filter(([, consumer]) => consumer.topic === name)
      .map(([consumer]) => consumer);
    if (handledBy.length !== 1) {
      issues.add(
        `topics.${name}.command`,
        `a command topic needs exactly one consumer, found ${handledBy.length}${handledBy.length ? ` (${handledBy.join(", ")})` : ""}`,
        "give the command one consumer, or make the topic an event topic (command: false)",
      );
    }
  }

  // Derived names share Pub/Sub's namespaces with declared ones.
  const topicNames = new Map<string, string>();
  const claim = (name: string, by: string): void => {
    const holder = topicNames.get(name);
    if (holder !== undefined)
      issues.add(by, `the topic name "${name}" is also used by ${holder}`, "rename one of them");
    else topicNames.set(name, by);
  };
  for (const name of Object.keys(merged.topics)) claim(name, `topics.${name}`);
  for (const name of Object.keys(merged.consumers))
    claim(`${name}-dlq`, `consumers.${name} (its dead-letter topic)`);
  for (const name of Object.keys(merged.hooks ?? {}))
    claim(`${name}-dlq`, `hooks.${name} (its dead-letter topic)`);
  const subscriptionNames = new Map<string, string>();
  for (const name of Object.keys(merged.consumers))
    subscriptionNames.set(name, `consumers.${name}`);
  for (const topic of Object.keys(merged.topics)) {
    const archiver = `${topic}-archiver`;
    const holder = subscriptionNames.get(archiver);
    if (holder !== undefined)
      issues.add(
        holder,
        `"${archiver}" is the name of topic ${topic}'s built-in archiver`,
        "rename the consumer",
      );
  }

  const overrides = spec.stacks?.[stack];
  for (const name of Object.keys(overrides?.consumers ?? {})) {
    if (!(name in spec.consumers))
      issues.add(
        `stacks.${stack}.consumers.${name}`,
        `no consumer named "${name}"`,
        `override one of: ${Object.keys(spec.consumers).join(", ")}`,
      );
  }
  for (const [name, hook] of Object.entries(overrides?.hooks ?? {})) {
    if (!(name in (spec.hooks ?? {})))
      issues.add(
        `stacks.${stack}.hooks.${name}`,
        `no hook named "${name}"`,
        `override one of: ${Object.keys(spec.hooks ?? {}).join(", ") || "(no hooks are declared)"}`,
      );
    const problem = hookUrlProblem(hook.url);
    if (problem !== undefined)
      issues.add(
        `stacks.${stack}.hooks.${name}.url`,
        problem,
        "give an https address, or http to 127.0.0.1",
      );
  }
  for (const name of Object.keys(overrides?.topics ?? {})) {
    if (!(name in spec.topics))
      issues.add(
        `stacks.${stack}.topics.${name}`,
        `no topic named "${name}"`,
        `override one of: ${Object.keys(spec.topics).join(", ")}`,
      );
  }
  return issues.list;
}
