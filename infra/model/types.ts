/**
 * The shape of the system declaration (infra/system.ts): topics and the events they
 * carry, handler contracts, and consumers that bind a handler to a topic. Plain typed
 * data: no Pulumi, no cloud client. Every interpreter (the Pulumi program, the local
 * runtime, the catalog generators, the policy pack) reads a validated {@link ResolvedSystem}.
 */
import type { Duration } from "./duration";
import type { Capability } from "./settings";

/** The static class protobufjs generates for a message (proto/gen/). */
export interface MessageClass<T extends object = object> {
  new (properties?: object): T;
  encode(message: object): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
  fromObject(object: Record<string, unknown>): T;
  toObject(message: T, options?: Record<string, unknown>): Record<string, unknown>;
  verify(object: Record<string, unknown>): string | null;
  getTypeUrl(prefix?: string): string;
}

/** How a topic's message bodies are encoded. */
export type Encoding = "protobuf" | "json";

/** One event type: `com.<org>.<domain>.<action>`, bound to one protobuf message. */
export interface EventSpec<M extends MessageClass = MessageClass> {
  /** The generated message class of the payload, e.g. `viral.v1.ViralShareRequested`. */
  message: M;
  /** What the event means, for the catalog. */
  description?: string;
  /**
   * Payload fields published as extra attributes `ce-<name>` so subscriptions can
   * filter on them (Pub/Sub filters read attributes only). Maps the attribute's name
   * (lowercase letters and digits, CloudEvents extension rules) to the payload field.
   * Default: none.
   */
  routingAttributes?: Readonly<Record<string, string>>;
  /** The payload field published as `ce-subject` (the entity the event is about). Default: none. */
  subject?: string;
  /**
   * The largest HTTP body the gateway takes for this type, in bytes, at most Pub/Sub's
   * 10 000 000 (one message). It is enforced while the body is read, before more is buffered.
   * Default `eventDefaults.maxBodyBytes` (defaults.ts): 1 000 000.
   */
  maxBodyBytes?: number;
}

/**
 * The traffic a topic is expected to carry, averaged over a month: what `eventline cost` prices.
 * It changes nothing that is deployed.
 */
export interface TopicVolume {
  /** Events published to the topic per second, a month's average (not the peak). */
  eventsPerSecond: number;
  /** Average size of one message, body and attributes, in bytes (1..10 000 000). */
  averageBytes: number;
  /** How long a consumer's handler works on one event, in milliseconds; a consumer may declare its own. */
  handlerMs: number;
  /**
   * Each event type's share of the topic's events (0..1, summing to at most 1), so that a
   * consumer whose handler takes only some types is priced for those. Default: equal shares.
   */
  typeShares?: Readonly<Record<string, number>>;
}

/** What one consumer takes of its topic's declared volume, where the topic's figures do not fit it. */
export interface ConsumerVolume {
  /**
   * The share of the topic's events its subscription receives (0..1). Default: the share of the
   * types its handler accepts (the topic's `volume.typeShares`); a filter on other attributes,
   * such as `ce-channel`, needs it declared.
   */
  share?: number;
  /** Its handler's time per event, in milliseconds. Default: the topic's `volume.handlerMs`. */
  handlerMs?: number;
}

/**
 * The Firestore operations a handler performs per event, beyond the runtime's own (the
 * processed record: one read, one write, one TTL delete; one more write to clear its outbox
 * when it emits). What `eventline cost` prices for Firestore. Default: none.
 */
export interface FirestorePerEvent {
  reads?: number;
  writes?: number;
  deletes?: number;
  /** Bytes it adds to what Firestore keeps, per event (0 for a handler that only updates). */
  storedBytes?: number;
}

/** A Pub/Sub topic and the event types it carries. */
export interface TopicSpec {
  /**
   * The topic's wrapper message: a `oneof event` with one member per event type.
   * It becomes the topic's Pub/Sub schema and is the body of every message on it.
   */
  schema: MessageClass;
  /** The event types on this topic, by type name. Each type lives on exactly one topic. */
  events: Readonly<Record<string, EventSpec>>;
  /** Body encoding, and the schema's encoding in the cloud. Default `"protobuf"`. */
  encoding?: Encoding;
  /** How long Pub/Sub keeps messages (topic message retention), 10m..31d. Default `defaultTopicRetention` (defaults.ts). */
  retention?: Duration;
  /**
   * The payload field used as the publisher's ordering key. Consumers that set
   * `ordering` need it. Default: none (no ordering).
   */
  orderingKey?: string;
  /** What the topic groups, for the catalog. */
  description?: string;
  /**
   * A command topic (the marketplace's send.email, index.project; docs/requirements.md,
   * MP-2): exactly one consumer handles it, where an event topic may have any number.
   * Default false.
   */
  command?: boolean;
  /** Its expected traffic, for `eventline cost`. Default: none (priced as idle). */
  volume?: TopicVolume;
}

/** What a handler consumes and produces. Its implementation is typed from this. */
export interface HandlerContract {
  /** Event types the handler processes; the consumer's topic must carry every one. */
  accepts: readonly string[];
  /** Event types the handler may publish. Default: none. */
  emits?: readonly string[];
  /**
   * Outside services the handler calls (infra/model/settings.ts): each gives its consumers
   * the settings and secrets it needs, and their workloads check them before taking messages.
   * Default: none.
   */
  uses?: readonly Capability[];
  /** Its Firestore reads, writes and deletes per event, for `eventline cost`. Default: none. */
  firestorePerEvent?: FirestorePerEvent;
  /** What the handler does, for the catalog. */
  description?: string;
}

/** Retry policy of a subscription: exponential backoff between redeliveries. */
export interface RetrySpec {
  /** Shortest wait before a redelivery, 0s..600s. Default `consumerDefaults.retry.minBackoff` (defaults.ts). */
  minBackoff?: Duration;
  /** Longest wait before a redelivery, 0s..600s and ≥ minBackoff. Default `consumerDefaults.retry.maxBackoff` (defaults.ts). */
  maxBackoff?: Duration;
}

/** Kubernetes CPU and memory quantities, e.g. `{ cpu: "200m", memory: "256Mi" }`. */
export interface ResourceQuantities {
  cpu: string;
  memory: string;
}

/** Where a pull consumer runs: a Deployment on GKE with a backlog-driven HPA. */
export interface GkePlacement {
  /** Container requests and limits. Default `consumerDefaults.gke.resources` (defaults.ts). */
  resources?: { requests: ResourceQuantities; limits: ResourceQuantities };
  /** HPA replica bounds, 1 ≤ min ≤ max. Default `consumerDefaults.gke.replicas` (defaults.ts). */
  replicas?: { min: number; max: number };
  /** Undelivered messages per replica the HPA aims for. Default `consumerDefaults.gke.backlogTarget` (defaults.ts). */
  backlogTarget?: number;
  /**
   * Messages one replica works on at once (subscriber flow control, with excess
   * messages disallowed). Default `consumerDefaults.gke.maxMessages` (defaults.ts) (bench/README.md, flow-control).
   */
  maxMessages?: number;
}

/** Where a push consumer runs: a Cloud Run service that Pub/Sub pushes to. */
export interface CloudRunPlacement {
  /** vCPUs per instance: "1", "2", "4", "8" (or millicores such as "500m"). Default `consumerDefaults.cloudRun.cpu` (defaults.ts). */
  cpu?: string;
  /** Memory per instance, e.g. "512Mi". Default `consumerDefaults.cloudRun.memory` (defaults.ts). */
  memory?: string;
  /** Instances kept warm. Default `consumerDefaults.cloudRun.minInstances` (defaults.ts). */
  minInstances?: number;
  /** Upper bound on instances. Default `consumerDefaults.cloudRun.maxInstances` (defaults.ts). */
  maxInstances?: number;
  /** Requests one instance serves at once, 1..1000. Default `consumerDefaults.cloudRun.concurrency` (defaults.ts). */
  concurrency?: number;
}

interface ConsumerCommon {
  /** The handler contract this consumer runs (a key of the declaration's `handlers`). */
  handler: string;
  /** The topic it subscribes to (a key of the declaration's `topics`). */
  topic: string;
  /**
   * Pub/Sub subscription filter on attributes (at most 256 bytes, immutable once
   * created). Default: derived from the handler's `accepts` when the topic carries
   * other types too, otherwise none.
   */
  filter?: string;
  /** Time a handler has before Pub/Sub redelivers, 10s..600s. Default `consumerDefaults.ackDeadline` (defaults.ts). */
  ackDeadline?: Duration;
  /** Redelivery backoff. Default `consumerDefaults.retry` (defaults.ts). */
  retry?: RetrySpec;
  /**
   * Deliveries before the message goes to the consumer's dead-letter topic, 5..100.
   * Default `consumerDefaults.maxDeliveryAttempts` (defaults.ts).
   */
  maxDeliveryAttempts?: number;
  /** Deliver messages with the same ordering key in order; needs the topic's `orderingKey`. Default `consumerDefaults.ordering` (defaults.ts). */
  ordering?: boolean;
  /**
   * Keep acknowledged messages for `retention`, so `eventline seek` can rewind the
   * subscription to a time or snapshot and have them delivered again. Default `consumerDefaults.retainAckedMessages` (defaults.ts).
   */
  retainAckedMessages?: boolean;
  /** How long the subscription keeps messages (unacked, and acked when retained), 10m..7d. Default `consumerDefaults.retention` (defaults.ts). */
  retention?: Duration;
  /** What it takes of its topic's declared volume, for `eventline cost`. Default: derived from the topic's. */
  volume?: ConsumerVolume;
  /** What the consumer is for, for the catalog. */
  description?: string;
}

/** A consumer that Pub/Sub pushes to, hosted on Cloud Run. */
export interface PushConsumerSpec extends ConsumerCommon {
  delivery: "push";
  /** Pub/Sub offers exactly-once delivery to pull subscribers only. */
  exactlyOnce?: false;
  cloudRun?: CloudRunPlacement;
}

/** A consumer that pulls, hosted on GKE. */
export interface PullConsumerSpec extends ConsumerCommon {
  delivery: "pull";
  /** Pub/Sub exactly-once delivery (pull only). Default `consumerDefaults.exactlyOnce` (defaults.ts). */
  exactlyOnce?: boolean;
  gke?: GkePlacement;
}

export type ConsumerSpec = PushConsumerSpec | PullConsumerSpec;

/** The platform's own services: the gateway, where producers post events, and the tracker, the funnel's links. */
export type ServiceName = "gateway" | "tracker";

/** How a platform service runs. */
export interface ServiceSpec {
  /**
   * Open to the internet (ingress all, anyone may invoke), with the reason. The policy pack
   * accepts a public Cloud Run service only where the declaration says so. Default: internal,
   * invoked only by the members the stack config names.
   */
  public?: { reason: string };
  /**
   * Requests one client may make per window, in each instance: per producer at the gateway, per
   * address at the tracker. Past it the service answers 429 with Retry-After. Default
   * `serviceDefaults` (defaults.ts).
   */
  rateLimit?: { requests: number; per: Duration };
  /** CPU, memory, instances and concurrency. Default `serviceDefaults` (defaults.ts). */
  cloudRun?: CloudRunPlacement;
}

/** Per-stack changes to consumers' delivery and scaling, topics' retention and hooks' addresses. */
export interface StackOverrides {
  /** Where a hook's events go on this stack, e.g. a local receiver. */
  hooks?: Readonly<Record<string, { url: string }>>;
  topics?: Readonly<Record<string, { retention?: Duration }>>;
  consumers?: Readonly<
    Record<
      string,
      Partial<
        Pick<
          ConsumerCommon,
          "ackDeadline" | "retry" | "maxDeliveryAttempts" | "retainAckedMessages" | "retention"
        >
      > & {
        cloudRun?: Partial<CloudRunPlacement>;
        gke?: Partial<Omit<GkePlacement, "resources" | "replicas">> & {
          resources?: Partial<{
            requests: Partial<ResourceQuantities>;
            limits: Partial<ResourceQuantities>;
          }>;
          replicas?: Partial<{ min: number; max: number }>;
        };
      }
    >
  >;
}

/**
 * A service outside the system that posts events to the gateway: a service account in the
 * cloud (the program creates it, and only producers may invoke the gateway), a named local
 * identity under `npm start` (`eventline token <producer>`).
 */
export interface ProducerSpec {
  /** What it is, for the catalog. */
  description?: string;
  /** Event types it may post to `/v1/events`. Default: none. */
  publishes?: readonly string[];
  /** Prefixes of the `source` its events may carry, e.g. `//user-service`. At least one. */
  sources: readonly string[];
  /** It may post share requests to `/v1/shares`. Default false. */
  shares?: boolean;
}

/**
 * An agent outside the system that is told of events over HTTP, as a consumer: each event it
 * takes is POSTed to `url` as a CloudEvent (binary mode) signed per Standard Webhooks, with the
 * retries, dead letters, circuit breaker and idempotency of any consumer. A 2xx reply whose body
 * is a CloudEvent of a type it `emits` is published as its own event.
 */
export interface HookSpec {
  /** The topic its events come from (a key of the declaration's `topics`). */
  topic: string;
  /** The event types it is told of; the topic must carry each. */
  accepts: readonly string[];
  /** A Pub/Sub filter narrowing those further. Default: the accepted types when the topic carries others. */
  filter?: string;
  /** Where its events are POSTed: https, or http to a loopback address (a local receiver). */
  url: string;
  /** The event types it may answer with. Default: none (a reply body is ignored). */
  emits?: readonly string[];
  /** Deliveries before its dead letter, 5..100. Default `consumerDefaults.maxDeliveryAttempts` (defaults.ts). */
  maxDeliveryAttempts?: number;
  /** Redelivery backoff. Default `consumerDefaults.retry` (defaults.ts). */
  retry?: RetrySpec;
  /** What it is, for the catalog. */
  description?: string;
}

/** The whole declaration, as written in infra/system.ts. */
export interface SystemSpec {
  topics: Readonly<Record<string, TopicSpec>>;
  handlers: Readonly<Record<string, HandlerContract>>;
  consumers: Readonly<Record<string, ConsumerSpec>>;
  /** Who may post what to the gateway. Default: no one. */
  producers?: Readonly<Record<string, ProducerSpec>>;
  /** The gateway and the tracker. Default: both internal-only except as stated on each. */
  services?: Readonly<Partial<Record<ServiceName, ServiceSpec>>>;
  /** Outside agents told of events over signed HTTP. Default: none. */
  hooks?: Readonly<Record<string, HookSpec>>;
  /** Overrides by stack name (`dev`, `prod`, `local`, ...). */
  stacks?: Readonly<Record<string, StackOverrides>>;
}

// ---- The resolved model every interpreter reads: defaults applied, names derived, seconds. ----

export interface ResolvedEvent {
  type: string;
  topic: string;
  message: MessageClass;
  /** Full protobuf name, e.g. `viral.v1.ViralShareRequested`. */
  messageName: string;
  /** The member of the topic's `oneof event` that carries it (camelCase, as in generated code). */
  oneofField: string;
  routingAttributes: Readonly<Record<string, string>>;
  subject?: string;
  /** The largest HTTP body the gateway takes for it, in bytes. */
  maxBodyBytes: number;
  /** Who publishes it: declared producers, or the platform service that makes it (catalog). */
  producers: readonly string[];
  description?: string;
}

/** A producer with its defaults applied. */
export interface ResolvedProducer {
  name: string;
  description?: string;
  publishes: readonly string[];
  sources: readonly string[];
  shares: boolean;
}

export interface ResolvedTopic {
  name: string;
  schema: MessageClass;
  schemaName: string;
  encoding: Encoding;
  retentionSeconds: number;
  orderingKey?: string;
  events: readonly ResolvedEvent[];
  command: boolean;
  /** The declared volume; undefined when the topic declares none. */
  volume?: TopicVolume;
  description?: string;
}

/** A handler contract with its defaults applied. */
export type ResolvedContract = Required<Pick<HandlerContract, "accepts" | "emits" | "uses">> & {
  firestorePerEvent: Required<FirestorePerEvent>;
  description?: string;
};

interface ResolvedConsumerCommon {
  /** The consumer's name: its identity (processed records, workload, dead-letter topic). */
  name: string;
  /**
   * Its Pub/Sub subscription's name, decided in one place (resolve.ts, subscriptionName): every
   * interpreter (the program, the runtime, npm start, seek) reads it from here.
   */
  subscription: string;
  handler: string;
  contract: ResolvedContract;
  topic: string;
  /** The filter the subscription gets, declared or derived; undefined = every message. */
  filter?: string;
  filterOrigin: "declared" | "derived" | "none";
  ackDeadlineSeconds: number;
  retry: { minBackoffSeconds: number; maxBackoffSeconds: number };
  maxDeliveryAttempts: number;
  ordering: boolean;
  exactlyOnce: boolean;
  retainAckedMessages: boolean;
  messageRetentionSeconds: number;
  /** The consumer's own dead-letter topic, and the subscription that keeps what lands there. */
  deadLetterTopic: string;
  parkingSubscription: string;
  /** True for the archiver the platform adds to every topic. */
  builtIn: boolean;
  /** Its declared share of the topic's volume and handler time, when it declares them. */
  volume?: ConsumerVolume;
  /** Set on the consumer a hook becomes: where its events are POSTed, on this stack. */
  hook?: { url: string };
  description?: string;
}

export interface ResolvedPushConsumer extends ResolvedConsumerCommon {
  delivery: "push";
  cloudRun: Required<CloudRunPlacement>;
}

export interface ResolvedPullConsumer extends ResolvedConsumerCommon {
  delivery: "pull";
  gke: Required<GkePlacement>;
}

export type ResolvedConsumer = ResolvedPushConsumer | ResolvedPullConsumer;

/** A platform service with its defaults applied. */
export interface ResolvedService {
  name: ServiceName;
  /** The reason it is public; undefined for an internal service. */
  publicReason?: string;
  rateLimit?: { requests: number; perSeconds: number };
  cloudRun: Required<CloudRunPlacement>;
}

export interface ResolvedSystem {
  stack: string;
  producers: readonly ResolvedProducer[];
  services: Readonly<Record<ServiceName, ResolvedService>>;
  topics: readonly ResolvedTopic[];
  consumers: readonly ResolvedConsumer[];
  handlers: Readonly<Record<string, ResolvedContract>>;
}
