/**
 * Every default of the declaration, in one place: what a consumer, a topic or a platform
 * service gets for what it leaves out. Resolution (resolve.ts) applies them, validation
 * (validate.ts) checks against them, and the JSDoc of types.ts and the README state them;
 * changing a default is an edit here.
 */
import type { CloudRunPlacement, GkePlacement, ServiceName } from "./types";

/** What a consumer gets for what it leaves out. */
export const consumerDefaults = {
  ackDeadline: "60s",
  retry: { minBackoff: "10s", maxBackoff: "600s" },
  maxDeliveryAttempts: 5,
  retention: "7d",
  ordering: false,
  exactlyOnce: false,
  retainAckedMessages: false,
  cloudRun: {
    cpu: "1",
    memory: "512Mi",
    minInstances: 0,
    maxInstances: 10,
    concurrency: 80,
  } satisfies Required<CloudRunPlacement>,
  gke: {
    resources: {
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "500m", memory: "256Mi" },
    },
    replicas: { min: 1, max: 10 },
    backlogTarget: 100,
    // The smallest limit whose throughput is within 10% of the best: higher limits add
    // latency and leave more messages stranded when a worker dies (bench/README.md,
    // flow-control).
    maxMessages: 200,
  } satisfies Required<GkePlacement>,
} as const;

/**
 * What an event type gets for what it leaves out. The gateway's body limit: 1 MB, a tenth of
 * Pub/Sub's message, so that a gateway instance (512Mi, 80 requests at once) cannot be made to
 * buffer and parse more than some 80 MB of bodies at once; a type that needs more declares it.
 */
export const eventDefaults = {
  maxBodyBytes: 1_000_000,
} as const;

/** Topic message retention when a topic leaves it out. */
export const defaultTopicRetention = "7d";

/**
 * Revisions a topic's schema keeps when a new definition is committed (Pub/Sub's cap is 20):
 * room for a few commits made outside the program between deploys, and producers on an older
 * compatible definition still accepted (infra/gcp/schema-revisions.ts).
 */
export const KEPT_SCHEMA_REVISIONS = 10;

/** The placement of the built-in archivers: small pull workers on GKE. */
export const archiverPlacement: Required<GkePlacement> = {
  resources: {
    requests: { cpu: "100m", memory: "128Mi" },
    limits: { cpu: "500m", memory: "256Mi" },
  },
  replicas: { min: 1, max: 5 },
  backlogTarget: 500,
  maxMessages: 200,
};

/** What the gateway and the tracker get for what they leave out. */
export const serviceDefaults: Readonly<
  Record<
    ServiceName,
    { rateLimit?: { requests: number; per: string }; cloudRun: Required<CloudRunPlacement> }
  >
> = {
  // Per producer and instance: 500/s, several times what one instance serves (bench/README.md,
  // gateway), so only a producer in a loop meets it, and the others keep their share.
  gateway: { rateLimit: { requests: 30_000, per: "1m" }, cloudRun: consumerDefaults.cloudRun },
  // A recipient opens and clicks a handful of times; a client far past that is a scanner or a loop.
  tracker: {
    rateLimit: { requests: 120, per: "1m" },
    cloudRun: { ...consumerDefaults.cloudRun, memory: "256Mi" },
  },
};

/** On SIGTERM a pull worker stops pulling and lets in-flight work finish for at most this long, in seconds. */
export const DRAIN_TIMEOUT_SECONDS = 30;

/**
 * What Kubernetes allows a pull worker before SIGKILL, in seconds: the drain, then closing
 * clients and flushing logs. The runtime drains within the first, the program sets the second.
 */
export const TERMINATION_GRACE_PERIOD_SECONDS = DRAIN_TIMEOUT_SECONDS + 15;
