/**
 * The monthly cost of a stack, from what the program deploys (the resources of its evaluation
 * under mocks: topics, subscriptions, Cloud Run services, Deployments and their autoscalers, the
 * cluster, alert policies, secrets, the registry) and the traffic the declaration expects (each
 * topic's `volume`, each consumer's share and handler time, each handler's Firestore work per
 * event), priced with a rate card. Every line is a quantity per month times one price, at 1×,
 * 10× and 100× the declared traffic; what does not grow with traffic (idle instances, minimum
 * replicas, the cluster, alerts, secrets) stays the same at every scale.
 */
import type { RecordedResource } from "../../infra/evaluate";
import { parseQuantity } from "../../infra/model/quantity";
import type { ResolvedConsumer, ResolvedSystem, ResolvedTopic } from "../../infra/model/types";
import { costAssumptions, describeAssumptions } from "./assumptions";
import type { RateCard } from "./rate-card";

export type CostService =
  | "Pub/Sub"
  | "Cloud Run"
  | "GKE Autopilot"
  | "Firestore"
  | "Cloud Monitoring"
  | "Artifact Registry"
  | "Secret Manager";

/** Lines that belong to no one consumer: topics, the cluster, the edge services, alerts, the registry. */
export const PLATFORM = "(platform)";

export interface CostLine {
  service: CostService;
  /** The resource it is billed on, e.g. `topic viral-shares`, `service sms-worker`. */
  resource: string;
  /** The consumer it serves, or {@link PLATFORM}. */
  consumer: string;
  /** What is counted, e.g. `publish`, `vCPU-seconds`. */
  item: string;
  unit: string;
  /** The unit's price on the rate card. */
  unitPrice: number;
  /** Units per month at each scale. */
  quantity: number[];
  /** Dollars per month at each scale: quantity × unitPrice. */
  cost: number[];
}

export interface CostTotal {
  name: string;
  cost: number[];
}

export interface CostEstimate {
  stack: string;
  rateCard: { version: string; date: string; currency: string };
  /** Multiples of the declared traffic, e.g. [1, 10, 100]. */
  scales: number[];
  lines: CostLine[];
  byService: CostTotal[];
  byConsumer: CostTotal[];
  total: number[];
  /** Declared topics that declare no volume: priced as idle. */
  topicsWithoutVolume: string[];
  /** Where the declared bounds cannot carry a scale's traffic. */
  warnings: string[];
  assumptions: string[];
  notes: string[];
}

export interface EstimateInput {
  system: ResolvedSystem;
  /** The program's resources for the same stack (evaluateProgram). */
  resources: readonly RecordedResource[];
  card: RateCard;
  scales?: readonly number[];
}

const GiB = 2 ** 30;
const TiB = 2 ** 40;

/** Seconds of a `"604800s"` duration as the provider takes it; 0 when absent. */
function durationSeconds(value: unknown): number {
  if (typeof value !== "string") return 0;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value);
  return match ? Number(match[1]) : 0;
}

const quantity = (value: unknown, fallback = 0): number =>
  typeof value === "string" ? (parseQuantity(value) ?? fallback) : fallback;

/** The share of a topic's events of the given types: the declared shares, else equal shares. */
export function typeShare(topic: ResolvedTopic, types: readonly string[]): number {
  const carried = topic.events.map((event) => event.type);
  const taken = carried.filter((type) => types.includes(type));
  const shares = topic.volume?.typeShares;
  if (shares !== undefined) return taken.reduce((sum, type) => sum + (shares[type] ?? 0), 0);
  return carried.length === 0 ? 0 : taken.length / carried.length;
}

/** A consumer's events per second at 1×, and its handler's time per event in seconds. */
export function consumerLoad(
  consumer: ResolvedConsumer,
  topic: ResolvedTopic,
): { eventsPerSecond: number; handlerSeconds: number } {
  const share = consumer.volume?.share ?? typeShare(topic, consumer.contract.accepts);
  const handlerMs = consumer.builtIn
    ? costAssumptions.archiverMs
    : (consumer.volume?.handlerMs ?? topic.volume?.handlerMs ?? 0);
  return {
    eventsPerSecond: (topic.volume?.eventsPerSecond ?? 0) * share,
    handlerSeconds: handlerMs / 1000,
  };
}

/**
 * Instance-seconds a request-billed Cloud Run service is busy per second of traffic, with `L`
 * requests in flight on average (rate × time per request): below one in flight, requests seldom
 * overlap and each is billed on its own (L); above, at least one instance is always busy, and
 * instances fill up to `concurrency` requests each (L / concurrency).
 */
export function busyInstances(inFlight: number, concurrency: number): number {
  return Math.max(Math.min(inFlight, 1), inFlight / concurrency);
}

/**
 * The replicas a backlog-driven autoscaler settles on: with L messages in flight it needs
 * L / backlogTarget replicas to bring the backlog metric to its target, and L / maxMessages to
 * hold them all (each replica holds at most maxMessages); within its bounds.
 */
export function autoscaledReplicas(
  inFlight: number,
  hpa: { min: number; max: number; backlogTarget: number; maxMessages: number },
): { replicas: number; wanted: number } {
  const wanted = Math.max(
    Math.ceil(inFlight / hpa.backlogTarget),
    Math.ceil(inFlight / hpa.maxMessages),
  );
  return { replicas: Math.min(Math.max(wanted, hpa.min), hpa.max), wanted };
}

/** What Autopilot bills for a pod's requests: CPU up to a whole increment, memory up to its floor per vCPU. */
export function autopilotBilled(
  request: { cpu: number; memoryGiB: number },
  card: RateCard["gkeAutopilot"],
): { cpu: number; memoryGiB: number } {
  const steps = Math.ceil(request.cpu / card.cpuIncrement - 1e-9);
  const cpu = Math.max(steps, 1) * card.cpuIncrement;
  return { cpu, memoryGiB: Math.max(request.memoryGiB, cpu * card.minGibPerVcpu) };
}

const byType = (resources: readonly RecordedResource[], type: string) =>
  resources.filter((resource) => resource.type === type);

type Inputs = Record<string, unknown>;
const field = (object: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>(
    (value, key) =>
      value !== null && typeof value === "object" ? (value as Inputs)[key as string] : undefined,
    object,
  );

/** Estimates the stack's monthly cost; see the module comment. */
export function estimateCost(input: EstimateInput): CostEstimate {
  const { system, resources, card } = input;
  const scales = [...(input.scales ?? [1, 10, 100])];
  const secondsPerMonth = card.hoursPerMonth * 3600;
  const lines: CostLine[] = [];
  const warnings: string[] = [];

  const add = (
    line: Omit<CostLine, "quantity" | "cost">,
    perMonth: (scale: number) => number,
  ): void => {
    const quantities = scales.map(perMonth);
    if (quantities.every((value) => value === 0)) return;
    lines.push({
      ...line,
      quantity: quantities,
      cost: quantities.map((value) => value * line.unitPrice),
    });
  };

  const topics = new Map(system.topics.map((topic) => [topic.name, topic]));
  const consumers = new Map(system.consumers.map((consumer) => [consumer.name, consumer]));
  const loadOf = (name: string) => {
    const consumer = consumers.get(name);
    const topic = consumer && topics.get(consumer.topic);
    return consumer && topic ? { consumer, topic, ...consumerLoad(consumer, topic) } : undefined;
  };
  const billableBytes = (topic: ResolvedTopic) =>
    Math.max(topic.volume?.averageBytes ?? 0, card.pubsub.minimumBytesPerRequest);

  // ---- Pub/Sub: publish and retention per topic, delivery and retained acks per subscription.
  const throughput = { unit: "TiB", unitPrice: card.pubsub.throughputPerTiB };
  const storage = { unit: "GiB-month", unitPrice: card.pubsub.storagePerGiBMonth };
  for (const resource of byType(resources, "gcp:pubsub/topic:Topic")) {
    const topic = topics.get(String(resource.inputs["name"]));
    if (topic?.volume === undefined) continue;
    const eps = topic.volume.eventsPerSecond;
    add(
      {
        service: "Pub/Sub",
        resource: `topic ${topic.name}`,
        consumer: PLATFORM,
        item: "publish",
        ...throughput,
      },
      (k) => (eps * k * secondsPerMonth * billableBytes(topic)) / TiB,
    );
    const retention = durationSeconds(resource.inputs["messageRetentionDuration"]);
    add(
      {
        service: "Pub/Sub",
        resource: `topic ${topic.name}`,
        consumer: PLATFORM,
        item: "retention",
        ...storage,
      },
      (k) => (eps * k * topic.volume!.averageBytes * retention) / GiB,
    );
  }
  for (const resource of byType(resources, "gcp:pubsub/subscription:Subscription")) {
    const labels = (resource.inputs["labels"] ?? {}) as Inputs;
    if (labels["role"] !== "consumer") continue;
    const load = loadOf(String(labels["consumer"]));
    if (load?.topic.volume === undefined) continue;
    const { consumer, topic } = load;
    const topicEps = topic.volume!.eventsPerSecond;
    add(
      {
        service: "Pub/Sub",
        resource: `subscription ${consumer.name}`,
        consumer: consumer.name,
        item: "delivery",
        ...throughput,
      },
      (k) => (topicEps * k * secondsPerMonth * billableBytes(topic)) / TiB,
    );
    if (resource.inputs["retainAckedMessages"] === true) {
      const retention = durationSeconds(resource.inputs["messageRetentionDuration"]);
      add(
        {
          service: "Pub/Sub",
          resource: `subscription ${consumer.name}`,
          consumer: consumer.name,
          item: "retained acks",
          ...storage,
        },
        (k) => (load.eventsPerSecond * k * topic.volume!.averageBytes * retention) / GiB,
      );
    }
  }

  // ---- Cloud Run: the push consumers and the edge services, request-billed.
  const edgeRate = (made: (producers: readonly string[]) => boolean) =>
    system.topics.reduce(
      (sum, topic) =>
        sum +
        (topic.volume?.eventsPerSecond ?? 0) *
          typeShare(
            topic,
            topic.events.filter((event) => made(event.producers)).map((event) => event.type),
          ),
      0,
    );
  for (const resource of byType(resources, "gcp:cloudrunv2/service:Service")) {
    const labels = (resource.inputs["labels"] ?? {}) as Inputs;
    const name = String(resource.inputs["name"]);
    const template = resource.inputs["template"];
    const limits = field(template, "containers", 0, "resources", "limits");
    const cpu = quantity(field(limits, "cpu"), 1);
    const memoryGiB = quantity(field(limits, "memory")) / GiB;
    const concurrency = Number(field(template, "maxInstanceRequestConcurrency") ?? 80);
    const minInstances = Number(field(template, "scaling", "minInstanceCount") ?? 0);
    const maxInstances = Number(field(template, "scaling", "maxInstanceCount") ?? 100);
    let consumer = PLATFORM;
    let requestsPerSecond = 0;
    let seconds = costAssumptions.edgeServiceMs / 1000;
    if (typeof labels["consumer"] === "string") {
      const load = loadOf(labels["consumer"]);
      if (load === undefined) continue;
      consumer = load.consumer.name;
      requestsPerSecond = load.eventsPerSecond;
      seconds = load.handlerSeconds;
    } else if (labels["component"] === "gateway") {
      requestsPerSecond = edgeRate((producers) => producers.some((p) => p !== "tracker"));
    } else if (labels["component"] === "tracker") {
      requestsPerSecond = edgeRate((producers) => producers.includes("tracker"));
    }
    const busy = (k: number) => busyInstances(requestsPerSecond * k * seconds, concurrency);
    for (const k of scales)
      if (busy(k) > maxInstances)
        warnings.push(
          `service ${name} at ${k}×: needs ${Math.ceil(busy(k))} busy instances, maxInstances is ${maxInstances}; requests would wait`,
        );
    const busySeconds = (k: number) => Math.min(busy(k), maxInstances) * secondsPerMonth;
    const idleSeconds = (k: number) => Math.max(0, minInstances * secondsPerMonth - busySeconds(k));
    const at = { service: "Cloud Run" as const, resource: `service ${name}`, consumer };
    add(
      {
        ...at,
        item: "requests",
        unit: "million requests",
        unitPrice: card.cloudRun.requestsPerMillion,
      },
      (k) => (requestsPerSecond * k * secondsPerMonth) / 1e6,
    );
    add(
      { ...at, item: "vCPU busy", unit: "vCPU-s", unitPrice: card.cloudRun.vcpuSecond },
      (k) => busySeconds(k) * cpu,
    );
    add(
      { ...at, item: "memory busy", unit: "GiB-s", unitPrice: card.cloudRun.gibSecond },
      (k) => busySeconds(k) * memoryGiB,
    );
    add(
      {
        ...at,
        item: "vCPU idle (min instances)",
        unit: "vCPU-s",
        unitPrice: card.cloudRun.idleVcpuSecond,
      },
      (k) => idleSeconds(k) * cpu,
    );
    add(
      {
        ...at,
        item: "memory idle (min instances)",
        unit: "GiB-s",
        unitPrice: card.cloudRun.idleGibSecond,
      },
      (k) => idleSeconds(k) * memoryGiB,
    );
  }

  // ---- GKE Autopilot: each Deployment's pods, billed on their requests, as many as its autoscaler runs.
  const autoscalers = new Map(
    byType(resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").map((hpa) => [
      String(field(hpa.inputs, "spec", "scaleTargetRef", "name")),
      hpa.inputs,
    ]),
  );
  const deployments = byType(resources, "kubernetes:apps/v1:Deployment");
  for (const resource of deployments) {
    const name = String(field(resource.inputs, "metadata", "name"));
    const containers = (field(resource.inputs, "spec", "template", "spec", "containers") ??
      []) as Inputs[];
    const request = containers.reduce<{ cpu: number; memoryGiB: number }>(
      (sum, container) => ({
        cpu: sum.cpu + quantity(field(container, "resources", "requests", "cpu")),
        memoryGiB:
          sum.memoryGiB + quantity(field(container, "resources", "requests", "memory")) / GiB,
      }),
      { cpu: 0, memoryGiB: 0 },
    );
    const billed = autopilotBilled(request, card.gkeAutopilot);
    const hpa = autoscalers.get(name);
    const load = loadOf(name);
    let replicasAt = (_k: number) => Number(field(resource.inputs, "spec", "replicas") ?? 1);
    if (hpa !== undefined) {
      const bounds = {
        min: Number(field(hpa, "spec", "minReplicas") ?? 1),
        max: Number(field(hpa, "spec", "maxReplicas") ?? 1),
        backlogTarget: quantity(
          field(hpa, "spec", "metrics", 0, "external", "target", "averageValue"),
          1,
        ),
        maxMessages: load?.consumer.delivery === "pull" ? load.consumer.gke.maxMessages : Infinity,
      };
      replicasAt = (k) => {
        const inFlight = load === undefined ? 0 : load.eventsPerSecond * k * load.handlerSeconds;
        const { replicas, wanted } = autoscaledReplicas(inFlight, bounds);
        if (wanted > bounds.max)
          warnings.push(
            `deployment ${name} at ${k}×: needs ${wanted} replicas, maxReplicas is ${bounds.max}; its backlog would grow`,
          );
        return replicas;
      };
    }
    const replicas = scales.map(replicasAt);
    const perScale = (k: number) => replicas[scales.indexOf(k)]!;
    const at = {
      service: "GKE Autopilot" as const,
      resource: `deployment ${name}`,
      consumer: load?.consumer.name ?? PLATFORM,
    };
    add(
      {
        ...at,
        item: `vCPU (${billed.cpu} per pod)`,
        unit: "vCPU-hours",
        unitPrice: card.gkeAutopilot.vcpuHour,
      },
      (k) => perScale(k) * billed.cpu * card.hoursPerMonth,
    );
    add(
      {
        ...at,
        item: `memory (${round(billed.memoryGiB)} GiB per pod)`,
        unit: "GiB-hours",
        unitPrice: card.gkeAutopilot.gibHour,
      },
      (k) => perScale(k) * billed.memoryGiB * card.hoursPerMonth,
    );
  }
  for (const resource of byType(resources, "gcp:container/cluster:Cluster"))
    add(
      {
        service: "GKE Autopilot",
        resource: `cluster ${String(resource.inputs["name"])}`,
        consumer: PLATFORM,
        item: "cluster management",
        unit: "cluster-hours",
        unitPrice: card.gkeAutopilot.clusterHour,
      },
      () => card.hoursPerMonth,
    );

  // ---- Firestore: what each consumer does per event, the runtime's record included.
  const firestore = card.firestore;
  for (const consumer of system.consumers) {
    const load = loadOf(consumer.name)!;
    const eventsPerMonth = (k: number) => load.eventsPerSecond * k * secondsPerMonth;
    const at = {
      service: "Firestore" as const,
      resource: consumer.builtIn ? "event store" : "state database",
      consumer: consumer.name,
    };
    if (consumer.builtIn) {
      add(
        {
          ...at,
          item: "writes (one per event)",
          unit: "100k writes",
          unitPrice: firestore.writesPer100k,
        },
        (k) => eventsPerMonth(k) / 1e5,
      );
      const bytes =
        (load.topic.volume?.averageBytes ?? 0) * costAssumptions.eventStoreBytesPerMessageByte;
      add(
        {
          ...at,
          item: "storage added",
          unit: "GiB-month",
          unitPrice: firestore.storagePerGiBMonth,
        },
        (k) => (eventsPerMonth(k) * bytes) / GiB,
      );
      continue;
    }
    const work = consumer.contract.firestorePerEvent;
    const outboxClear = consumer.contract.emits.length > 0 ? 1 : 0;
    add(
      {
        ...at,
        item: `reads (${1 + work.reads} per event)`,
        unit: "100k reads",
        unitPrice: firestore.readsPer100k,
      },
      (k) => (eventsPerMonth(k) * (1 + work.reads)) / 1e5,
    );
    add(
      {
        ...at,
        item: `writes (${1 + outboxClear + work.writes} per event)`,
        unit: "100k writes",
        unitPrice: firestore.writesPer100k,
      },
      (k) => (eventsPerMonth(k) * (1 + outboxClear + work.writes)) / 1e5,
    );
    add(
      {
        ...at,
        item: `deletes (${1 + work.deletes} per event, the record's TTL included)`,
        unit: "100k deletes",
        unitPrice: firestore.deletesPer100k,
      },
      (k) => (eventsPerMonth(k) * (1 + work.deletes)) / 1e5,
    );
    // The records live as long as the topic keeps messages; a redelivery within it finds its record.
    const recordSeconds = load.topic.retentionSeconds;
    add(
      {
        ...at,
        item: "processed records kept",
        unit: "GiB-month",
        unitPrice: firestore.storagePerGiBMonth,
      },
      (k) =>
        (load.eventsPerSecond * k * recordSeconds * costAssumptions.processedRecordBytes) / GiB,
    );
    add(
      { ...at, item: "storage added", unit: "GiB-month", unitPrice: firestore.storagePerGiBMonth },
      (k) => (eventsPerMonth(k) * work.storedBytes) / GiB,
    );
  }

  // ---- Cloud Monitoring: every alert condition, and the time series it reads each period.
  for (const resource of byType(resources, "gcp:monitoring/alertPolicy:AlertPolicy")) {
    const conditions = (resource.inputs["conditions"] ?? []) as Inputs[];
    const periods = conditions.reduce((sum, condition) => {
      const period =
        durationSeconds(
          field(condition, "conditionThreshold", "aggregations", 0, "alignmentPeriod"),
        ) || 60;
      return sum + secondsPerMonth / period;
    }, 0);
    const at = {
      service: "Cloud Monitoring" as const,
      resource: "alert policies",
      consumer: PLATFORM,
    };
    add(
      {
        ...at,
        item: "conditions",
        unit: "condition-months",
        unitPrice: card.monitoring.alertConditionMonth,
      },
      () => conditions.length,
    );
    add(
      {
        ...at,
        item: "time series read",
        unit: "million series",
        unitPrice: card.monitoring.timeSeriesReturnedPerMillion,
      },
      () => periods / 1e6,
    );
  }

  // ---- Artifact Registry: the handler image's kept versions, past the free storage.
  for (const resource of byType(resources, "gcp:artifactregistry/repository:Repository"))
    add(
      {
        service: "Artifact Registry",
        resource: `repository ${String(resource.inputs["repositoryId"])}`,
        consumer: PLATFORM,
        item: "image storage",
        unit: "GiB-month",
        unitPrice: card.artifactRegistry.storagePerGiBMonth,
      },
      () =>
        Math.max(
          0,
          costAssumptions.imageGiB * costAssumptions.imagesKept - card.artifactRegistry.freeGiB,
        ),
    );

  // ---- Secret Manager: one active version per secret the program stores.
  const versions = byType(resources, "gcp:secretmanager/secretVersion:SecretVersion").length;
  add(
    {
      service: "Secret Manager",
      resource: "secrets",
      consumer: PLATFORM,
      item: "active versions",
      unit: "version-months",
      unitPrice: card.secretManager.activeVersionMonth,
    },
    () => versions,
  );

  merge(lines);
  const totalBy = (key: (line: CostLine) => string): CostTotal[] => {
    const totals = new Map<string, number[]>();
    for (const line of lines) {
      const sum = totals.get(key(line)) ?? scales.map(() => 0);
      line.cost.forEach((cost, i) => (sum[i]! += cost));
      totals.set(key(line), sum);
    }
    return [...totals]
      .map(([name, cost]) => ({ name, cost }))
      .sort((a, b) => b.cost[0]! - a.cost[0]!);
  };
  return {
    stack: system.stack,
    rateCard: { version: card.version, date: card.date, currency: card.currency },
    scales,
    lines,
    byService: totalBy((line) => line.service),
    byConsumer: totalBy((line) => line.consumer),
    total: scales.map((_, i) => lines.reduce((sum, line) => sum + line.cost[i]!, 0)),
    topicsWithoutVolume: system.topics
      .filter((topic) => topic.volume === undefined)
      .map((topic) => topic.name),
    warnings: [...new Set(warnings)],
    assumptions: describeAssumptions(),
    notes: card.notes,
  };
}

/** Alert policies are one line per item, not one per policy: their many rows say nothing each. */
function merge(lines: CostLine[]): void {
  const seen = new Map<string, CostLine>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.resource !== "alert policies") continue;
    const first = seen.get(line.item);
    if (first === undefined) {
      seen.set(line.item, line);
      continue;
    }
    first.quantity = first.quantity.map((value, j) => value + line.quantity[j]!);
    first.cost = first.cost.map((value, j) => value + line.cost[j]!);
    lines.splice(i--, 1);
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
