import { PubSub } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import { describeReconcile, reconcile } from "../../tools/local/reconcile";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import type { ResolvedConsumer, ResolvedSystem, SystemSpec } from "../../infra/model/types";
import { subscriptionOf } from "../support/pubsub";

const declared = eventTypesFor("local").system;

/** The declaration with some consumers changed, as an edit of infra/system.ts would. */
function edited(
  change: Record<string, Partial<ResolvedConsumer>>,
  without: readonly string[] = [],
): ResolvedSystem {
  return {
    ...declared,
    consumers: declared.consumers
      .filter((c) => !without.includes(c.name))
      .map((c) => (change[c.name] ? ({ ...c, ...change[c.name] } as ResolvedConsumer) : c)),
  };
}

let emulator: RunningEmulator;
let pubsub: PubSub;

beforeAll(async () => {
  emulator = await startEmulator("pubsub");
  pubsub = new PubSub({
    projectId: "reconcile-test",
    apiEndpoint: emulator.host,
    emulatorMode: true,
  });
});

afterAll(async () => {
  await pubsub?.close();
  await emulator?.stop();
});

describe("provisioning on every start", () => {
  it("creates every topic, dead-letter topic, consumer subscription and parking subscription the first time", async () => {
    const report = await reconcile(pubsub, declared);
    // Counted from the declaration: one dead-letter topic per consumer, and each consumer's
    // subscription with its parking subscription.
    const consumers = declared.consumers.length;
    expect(describeReconcile(report)).toEqual([
      `created ${declared.topics.length} topics, ${consumers} dead-letter topics and ${2 * consumers} subscriptions`,
    ]);
    const [metadata] = await pubsub.subscription(subscriptionOf("email-worker")).getMetadata();
    expect(metadata).toMatchObject({
      ackDeadlineSeconds: 600,
      filter: 'attributes.ce-channel = "email"',
      deadLetterPolicy: {
        deadLetterTopic: "projects/reconcile-test/topics/email-worker-dlq",
        maxDeliveryAttempts: 5,
      },
    });
  });

  it("changes nothing on a second start with the same declaration", async () => {
    const report = await reconcile(pubsub, declared);
    expect(report).toEqual({ created: [], updated: [], recreated: [], undeclared: [] });
    expect(describeReconcile(report)).toEqual([]);
  });

  it("updates an ack deadline and a retry policy in place, and says what changed", async () => {
    const report = await reconcile(
      pubsub,
      edited({
        "email-worker": {
          ackDeadlineSeconds: 300,
          retry: { minBackoffSeconds: 1, maxBackoffSeconds: 60 },
        },
      }),
    );
    expect(report.updated).toEqual([
      {
        subscription: subscriptionOf("email-worker"),
        changes: ["ack deadline 600s → 300s", "retry backoff 10s..600s → 1s..60s"],
      },
    ]);
    expect(report.recreated).toEqual([]);
    expect(
      (await pubsub.subscription(subscriptionOf("email-worker")).getMetadata())[0]
        .ackDeadlineSeconds,
    ).toBe(300);
  });

  it("keeps acknowledged messages where the declaration says so, as in the cloud, and turns it off in place when it stops saying so", async () => {
    expect(
      (await pubsub.subscription(subscriptionOf("campaign-processor")).getMetadata())[0],
    ).toMatchObject({
      retainAckedMessages: true,
      messageRetentionDuration: { seconds: "604800" },
    });
    expect(
      (await pubsub.subscription(subscriptionOf("email-worker")).getMetadata())[0]
        .retainAckedMessages,
    ).toBe(false);
    const report = await reconcile(
      pubsub,
      edited({
        "campaign-processor": { retainAckedMessages: false, messageRetentionSeconds: 86_400 },
      }),
    );
    // (The earlier test's edit of email-worker is reverted by this reconcile too.)
    expect(report.updated).toContainEqual({
      subscription: subscriptionOf("campaign-processor"),
      changes: ["retain acked messages off", "message retention 604800s → 86400s"],
    });
    expect(
      (await pubsub.subscription(subscriptionOf("campaign-processor")).getMetadata())[0],
    ).toMatchObject({
      retainAckedMessages: false,
      messageRetentionDuration: { seconds: "86400" },
    });
  });

  it("recreates a subscription whose filter changed, since filters are immutable, and says its backlog is gone", async () => {
    const filter = 'attributes.ce-type = "com.eventline.campaign.created"';
    const report = await reconcile(pubsub, edited({ "campaign-analytics": { filter } }));
    expect(report.recreated).toEqual([
      {
        subscription: subscriptionOf("campaign-analytics"),
        changes: [
          'filter attributes.ce-type = "com.eventline.campaign.performance_reported" → ' + filter,
        ],
      },
    ]);
    expect(report.created).toEqual([]);
    expect(describeReconcile(report).join("\n")).toContain(
      `recreated ${subscriptionOf("campaign-analytics")} (its backlog is gone)`,
    );
    expect(
      (await pubsub.subscription(subscriptionOf("campaign-analytics")).getMetadata())[0].filter,
    ).toBe(filter);
  });

  it("turns a pull subscription into a push subscription when the consumer gets a local endpoint", async () => {
    const report = await reconcile(pubsub, declared, {
      pushEndpoints: { "sms-worker": "http://127.0.0.1:8080/push/sms-worker" },
    });
    expect(report.updated).toContainEqual({
      subscription: subscriptionOf("sms-worker"),
      changes: ["push endpoint none (pull) → http://127.0.0.1:8080/push/sms-worker"],
    });
    expect(
      (await pubsub.subscription(subscriptionOf("sms-worker")).getMetadata())[0].pushConfig
        ?.pushEndpoint,
    ).toBe("http://127.0.0.1:8080/push/sms-worker");
  });

  it("reports subscriptions the declaration no longer has and leaves them alone", async () => {
    const report = await reconcile(pubsub, edited({}, ["router"]), {
      pushEndpoints: { "sms-worker": "http://127.0.0.1:8080/push/sms-worker" },
    });
    expect(report.undeclared).toEqual([
      `projects/reconcile-test/subscriptions/${subscriptionOf("router")}`,
      "projects/reconcile-test/subscriptions/router-dlq-parking",
    ]);
    expect(describeReconcile(report)).toContain(
      `not in the declaration any more, left in the emulator: ${subscriptionOf("router")}, router-dlq-parking`,
    );
  });
  it("creates a new subscription for a filter changed in the declaration, and reports the old one as no longer declared", async () => {
    const spec: SystemSpec = system;
    const changed = resolveSystem(
      {
        ...spec,
        consumers: {
          ...spec.consumers,
          "email-worker": {
            ...spec.consumers["email-worker"]!,
            filter: 'attributes.ce-channel = "email" OR attributes.ce-channel = "sms"',
          },
        },
      },
      "local",
    );
    const renamed = changed.consumers.find((c) => c.name === "email-worker")!.subscription;
    expect(renamed).not.toBe(subscriptionOf("email-worker"));
    const report = await reconcile(pubsub, changed);
    expect(report.recreated.map((r) => r.subscription)).not.toContain(renamed);
    expect(report.created).toEqual([`projects/reconcile-test/subscriptions/${renamed}`]);
    expect(report.undeclared).toContain(
      `projects/reconcile-test/subscriptions/${subscriptionOf("email-worker")}`,
    );
    expect((await pubsub.subscription(renamed).getMetadata())[0].filter).toContain("sms");
  });
});
