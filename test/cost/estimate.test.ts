/**
 * `eventline cost`'s arithmetic against a case worked out by hand: one topic, a push consumer,
 * a pull consumer and the built-in archiver, with the resources written out as the program
 * would record them, priced with the real rate card. Every expected figure is written as the
 * arithmetic that gives it; the comments carry the dollars.
 */
import { describe, expect, it } from "vitest";
import { marketplace } from "../../proto/gen";
import type { RecordedResource } from "../../infra/evaluate";
import { resolveSystem } from "../../infra/model/resolve";
import type { SystemSpec } from "../../infra/model/types";
import { estimateCost, PLATFORM, type CostEstimate } from "../../tools/cost/estimate";
import { checkRateCard, loadRateCard } from "../../tools/cost/rate-card";
import { costMarkdown, isEstimate } from "../../tools/cost/report";

const card = loadRateCard();

/** 730 hours a month, in seconds. */
const S = 730 * 3600; // 2 628 000
const GiB = 2 ** 30;
const TiB = 2 ** 40;

/**
 * Topic `users`: 10 events/s of 2 000 bytes, 100 ms per handler, a quarter of them
 * `user.created`. `welcome` (push, Cloud Run) takes user.created only, reads and writes one
 * document of its own per event; `indexer` (pull, GKE) takes both types and holds at most 20.
 */
const spec: SystemSpec = {
  topics: {
    users: {
      schema: marketplace.v1.UsersTopic,
      events: {
        "com.skillancer.user.created": { message: marketplace.v1.UserCreated },
        "com.skillancer.user.updated": { message: marketplace.v1.UserUpdated },
      },
      retention: "1d",
      volume: {
        eventsPerSecond: 10,
        averageBytes: 2000,
        handlerMs: 100,
        typeShares: { "com.skillancer.user.created": 0.25, "com.skillancer.user.updated": 0.75 },
      },
    },
  },
  handlers: {
    welcome: {
      accepts: ["com.skillancer.user.created"],
      firestorePerEvent: { reads: 1, writes: 1 },
    },
    indexer: { accepts: ["com.skillancer.user.created", "com.skillancer.user.updated"] },
  },
  consumers: {
    welcome: { handler: "welcome", topic: "users", delivery: "push" },
    indexer: { handler: "indexer", topic: "users", delivery: "pull", gke: { maxMessages: 20 } },
  },
};

const resource = (
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): RecordedResource => ({
  type,
  name,
  urn: `urn:pulumi:test::eventline::${type}::${name}`,
  inputs,
  dependencies: [],
  ignoreChanges: [],
  retainOnDelete: false,
});

/** What the program records for it, as far as the estimate reads. */
const resources: RecordedResource[] = [
  resource("gcp:pubsub/topic:Topic", "users", {
    name: "users",
    messageRetentionDuration: "86400s",
  }),
  resource("gcp:pubsub/topic:Topic", "welcome-dlq", {
    name: "welcome-dlq",
    messageRetentionDuration: "604800s",
  }),
  ...["welcome", "indexer", "users-archiver"].map((consumer) =>
    resource("gcp:pubsub/subscription:Subscription", consumer, {
      name: consumer,
      topic: "users",
      labels: { consumer, role: "consumer" },
      messageRetentionDuration: "604800s",
    }),
  ),
  resource("gcp:pubsub/subscription:Subscription", "welcome-dlq-parking", {
    name: "welcome-dlq-parking",
    topic: "welcome-dlq",
    labels: { consumer: "welcome", role: "dead-letter-parking" },
  }),
  resource("gcp:cloudrunv2/service:Service", "welcome", {
    name: "welcome",
    labels: { consumer: "welcome" },
    template: {
      containers: [{ resources: { limits: { cpu: "1", memory: "512Mi" } } }],
      maxInstanceRequestConcurrency: 80,
      scaling: { minInstanceCount: 1, maxInstanceCount: 10 },
    },
  }),
  resource("kubernetes:apps/v1:Deployment", "indexer", {
    metadata: { name: "indexer" },
    spec: {
      template: {
        spec: { containers: [{ resources: { requests: { cpu: "100m", memory: "256Mi" } } }] },
      },
    },
  }),
  resource("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "indexer", {
    spec: {
      scaleTargetRef: { name: "indexer" },
      minReplicas: 1,
      maxReplicas: 3,
      metrics: [{ external: { target: { type: "AverageValue", averageValue: "100" } } }],
    },
  }),
  resource("gcp:container/cluster:Cluster", "workers", {
    name: "eventline-test",
    enableAutopilot: true,
  }),
  resource("gcp:monitoring/alertPolicy:AlertPolicy", "welcome-dead-letters", {
    conditions: [{ conditionThreshold: { aggregations: [{ alignmentPeriod: "60s" }] } }],
  }),
  resource("gcp:artifactregistry/repository:Repository", "handlers-repo", {
    repositoryId: "eventline",
  }),
  resource("gcp:secretmanager/secretVersion:SecretVersion", "smtp", { secret: "smtp" }),
];

const estimate = estimateCost({ system: resolveSystem(spec, "test"), resources, card });

/** The cost at each scale of the one line on `resource` whose item starts with `item`. */
function line(resourceName: string, item: string): number[] {
  const found = estimate.lines.filter(
    (l) => l.resource === resourceName && l.item.startsWith(item),
  );
  expect(found, `${resourceName} / ${item}`).toHaveLength(1);
  return found[0]!.cost;
}
const total = (list: CostEstimate["byConsumer"], name: string) =>
  list.find((t) => t.name === name)?.cost;

describe("eventline cost: the arithmetic of a small case worked out by hand", () => {
  it("prices Pub/Sub: publish and retention per topic, delivery per subscription", () => {
    // 10/s × 2 628 000 s = 26 280 000 messages of 2 000 bytes (above the 1 000-byte minimum):
    // 52 560 000 000 bytes = 0.0478 TiB × $40 = $1.91, for the publish and for each of the
    // three subscriptions (welcome receives the whole topic; its filter drops three quarters).
    const throughput = ((10 * S * 2000) / TiB) * 40;
    expect(line("topic users", "publish")[0]).toBeCloseTo(throughput, 9);
    expect(line("subscription welcome", "delivery")[0]).toBeCloseTo(throughput, 9);
    expect(line("subscription indexer", "delivery")[0]).toBeCloseTo(throughput, 9);
    expect(line("subscription users-archiver", "delivery")[0]).toBeCloseTo(throughput, 9);
    // Retention: a day's messages kept, 10 × 2 000 × 86 400 = 1.61 GiB × $0.27 = $0.43.
    expect(line("topic users", "retention")[0]).toBeCloseTo(((10 * 2000 * 86_400) / GiB) * 0.27, 9);
    // 10× and 100× the traffic: ten and a hundred times as much.
    expect(line("topic users", "publish")[2]).toBeCloseTo(100 * throughput, 6);
    // The dead-letter topic has no traffic declared and costs nothing.
    expect(estimate.lines.some((l) => l.resource.includes("dlq"))).toBe(false);
  });

  it("prices a request-billed Cloud Run consumer, busy and idle", () => {
    // welcome takes a quarter: 2.5/s × 0.1 s = 0.25 requests in flight, so a quarter of the
    // month busy: 657 000 instance-seconds of 1 vCPU and 0.5 GiB.
    expect(line("service welcome", "requests")[0]).toBeCloseTo(((2.5 * S) / 1e6) * 0.4, 9); // 6.57 M × $0.40 = $2.63
    expect(line("service welcome", "vCPU busy")[0]).toBeCloseTo(0.25 * S * 1 * 0.000024, 9); // $15.77
    expect(line("service welcome", "memory busy")[0]).toBeCloseTo(0.25 * S * 0.5 * 0.0000025, 9); // $0.82
    // Its one minimum instance idles the other three quarters, at the idle rates.
    expect(line("service welcome", "vCPU idle")[0]).toBeCloseTo(0.75 * S * 1 * 0.0000025, 9); // $4.93
    expect(line("service welcome", "memory idle")[0]).toBeCloseTo(0.75 * S * 0.5 * 0.0000025, 9); // $2.46
    // At 10×, 2.5 in flight: one instance busy all month (2.5 / 80 is less), none idle.
    expect(line("service welcome", "vCPU busy")[1]).toBeCloseTo(S * 0.000024, 9); // $63.07
    expect(line("service welcome", "vCPU idle")[1]).toBe(0);
  });

  it("prices a GKE Autopilot pull consumer for the replicas its autoscaler would run", () => {
    // 100m CPU and 256Mi requested: Autopilot bills 0.25 vCPU and 0.25 GiB (1 GiB per vCPU at
    // least). 10/s × 0.1 s = 1 in flight: one replica (min 1) at 1× and 10× (10 in flight,
    // under 20 per replica and 100 per replica of backlog).
    const onePod = 0.25 * 730 * 0.0445 + 0.25 * 730 * 0.0049225; // $8.12 + $0.90 = $9.02
    const pod = (k: number) =>
      line("deployment indexer", "vCPU")[k]! + line("deployment indexer", "memory")[k]!;
    expect(pod(0)).toBeCloseTo(onePod, 9);
    expect(pod(1)).toBeCloseTo(onePod, 9);
    // At 100×, 100 in flight want 100 / 20 = 5 replicas; the bounds allow 3, and it says so.
    expect(pod(2)).toBeCloseTo(3 * onePod, 9);
    expect(estimate.warnings).toContain(
      "deployment indexer at 100×: needs 5 replicas, maxReplicas is 3; its backlog would grow",
    );
    // The cluster: 730 h × $0.10 = $73, whatever the traffic.
    expect(line("cluster eventline-test", "cluster management")).toEqual(
      [73, 73, 73].map((v) => expect.closeTo(v, 9)),
    );
  });

  it("prices Firestore from what each handler does per event, the runtime's record included", () => {
    // welcome: 6 570 000 events; 2 reads (its own and the record), 2 writes (its own and the
    // record), 1 delete (the record's TTL); records kept a day (the topic's retention).
    const events = 2.5 * S;
    expect(line("state database", "reads (2").length).toBe(3);
    const welcome = estimate.lines.filter(
      (l) => l.consumer === "welcome" && l.service === "Firestore",
    );
    const sum = welcome.reduce((s, l) => s + l.cost[0]!, 0);
    const byHand =
      ((events * 2) / 1e5) * 0.03 + // $3.94
      ((events * 2) / 1e5) * 0.09 + // $11.83
      (events / 1e5) * 0.01 + // $0.66
      ((2.5 * 86_400 * 200) / GiB) * 0.15; // $0.006
    expect(sum).toBeCloseTo(byHand, 9); // $16.43
    // The archiver appends every event once, and the event store grows by 3 × 2 000 bytes each.
    const archiver = estimate.lines.filter(
      (l) => l.consumer === "users-archiver" && l.service === "Firestore",
    );
    expect(archiver.reduce((s, l) => s + l.cost[0]!, 0)).toBeCloseTo(
      ((10 * S) / 1e5) * 0.09 + ((10 * S * 2000 * 3) / GiB) * 0.15, // $23.65 + $22.03
      9,
    );
  });

  it("adds alerts, the registry and secrets, and totals per consumer and overall", () => {
    // One condition: $1.50, and 43 800 periods of 60 s reading one series: $0.015.
    expect(line("alert policies", "conditions")[0]).toBeCloseTo(1.5, 9);
    expect(line("alert policies", "time series")[0]).toBeCloseTo((S / 60 / 1e6) * 0.35, 9);
    // 10 kept images of 0.25 GiB, less the free 0.5 GiB: 2 GiB × $0.10.
    expect(line("repository eventline", "image storage")[0]).toBeCloseTo(0.2, 9);
    expect(line("secrets", "active versions")[0]).toBeCloseTo(0.06, 9);

    // welcome $44.95, indexer $45.12, the archiver $47.59, the platform $77.12: $214.79.
    expect(total(estimate.byConsumer, "welcome")?.[0]).toBeCloseTo(44.951656631, 6);
    expect(total(estimate.byConsumer, "indexer")?.[0]).toBeCloseTo(45.119867792, 6);
    expect(total(estimate.byConsumer, "users-archiver")?.[0]).toBeCloseTo(47.591763196, 6);
    expect(total(estimate.byConsumer, PLATFORM)?.[0]).toBeCloseTo(77.121969521, 6);
    expect(estimate.total[0]).toBeCloseTo(214.785257141, 6);
    expect(estimate.byService.reduce((s, t) => s + t.cost[0]!, 0)).toBeCloseTo(
      estimate.total[0]!,
      9,
    );
  });
});

describe("eventline cost: the rate card and the report", () => {
  it("reads a dated card that names a source for every service", () => {
    expect(card.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(
      Object.values(card.sources).every((url) => url.startsWith("https://cloud.google.com/")),
    ).toBe(true);
  });

  it("refuses a card without a price, naming the key", () => {
    const broken = JSON.parse(JSON.stringify(card)) as Record<string, Record<string, unknown>>;
    delete broken["firestore"]!["writesPer100k"];
    expect(() => checkRateCard(broken, "broken.json")).toThrow(/firestore\.writesPer100k/);
  });

  it("shows the change against a baseline in Markdown, and round-trips through JSON", () => {
    const baseline = JSON.parse(JSON.stringify(estimate)) as unknown;
    expect(isEstimate(baseline)).toBe(true);
    expect(isEstimate({ total: "lots" })).toBe(false);
    const cheaper = { ...(baseline as CostEstimate), total: [estimate.total[0]! - 10, 0, 0] };
    const markdown = costMarkdown(estimate, cheaper);
    expect(markdown).toContain("**+$10.00 a month at 1×** against the baseline");
    expect(markdown).toContain("| welcome | $44.95 |");
  });
});
