/**
 * The Pulumi program: the stack's config and the declaration (infra/system.ts) in, every
 * cloud resource of the event system out. Nothing here declares a topic, consumer or scale:
 * it only maps the resolved declaration onto components.
 *
 * The module exports one function, which Pulumi calls to run the program (and whose
 * result becomes the stack outputs). infra/evaluate.ts calls the same function under mocks,
 * optionally with another declaration (the benchmark's synthetic systems).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./config";
import { declarationOf } from "./declaration";
import { EventStore } from "./gcp/event-store";
import { EventTopic } from "./gcp/event-topic";
import { HandlerImage } from "./gcp/handler-image";
import { Monitoring } from "./gcp/monitoring";
import { accountId, type Platform, platformLabels } from "./gcp/platform";
import { EdgeService, gatewayAudience } from "./gcp/edge-service";
import { afterApis, ProjectApis } from "./gcp/project-apis";
import { PushHandler } from "./gcp/push-handler";
import { ReplayDatabases } from "./gcp/replay-databases";
import { SettingSecret } from "./gcp/setting-secret";
import { StateStore } from "./gcp/state-store";
import { WorkerCluster } from "./k8s/cluster";
import { PullWorker } from "./k8s/pull-worker";
import { resolveSystem } from "./model/resolve";
import { TRACKER_EVENT_TYPES } from "./model/services";
import type { Capability } from "./model/settings";
import type { ResolvedSystem, SystemSpec } from "./model/types";
import { system as declaredSystem } from "./system";
import { capabilitySettings, secretSettingsNeeded } from "./workload-settings";

/** The topics carrying event types `types`, each once: where a publisher of them needs rights. */
function topicsCarrying(resolved: ResolvedSystem): (types: readonly string[]) => string[] {
  const topicOfType = new Map(
    resolved.topics.flatMap((topic) =>
      topic.events.map((event) => [event.type, topic.name] as const),
    ),
  );
  return (types) => [
    ...new Set(
      types
        .map((type) => topicOfType.get(type))
        .filter((topic): topic is string => topic !== undefined),
    ),
  ];
}

/**
 * Deploys the event system for the current stack.
 * @param options.system the declaration to deploy; default infra/system.ts.
 * @returns the stack outputs: Pub/Sub topic names, push consumers' service URLs, the gateway
 *   URL, the tracker's public URL, the dashboard URL, the producers' accounts and the account
 *   the replay tools run as, and `declaration`: the record of what this stack's Pub/Sub holds, which
 *   `eventline plan --deployed` compares the next change with (infra/model/declaration-record.ts).
 */
async function eventline(options: { system?: SystemSpec } = {}) {
  const stack = pulumi.getStack();
  const resolved = resolveSystem(options.system ?? declaredSystem, stack);
  const uses = new Set<Capability>(
    resolved.consumers.flatMap((consumer) => consumer.contract.uses),
  );
  const config = loadStackConfig(undefined, uses);

  const projectNumber = gcp.organizations.getProjectOutput({ projectId: config.project }).number;
  const platform: Platform = {
    stack,
    project: config.project,
    region: config.region,
    projectNumber,
    labels: platformLabels(stack, config.owner),
    deleteProtection: config.deleteProtection,
    databases: config.databases,
    traceSampleRatio: config.traceSampleRatio,
  };
  // Every resource below waits for the APIs it calls: a fresh project deploys in one run.
  const apis = new ProjectApis("apis", { platform });
  const afterEnabled = { transformations: [afterApis(apis)] };

  const topics = new Map(
    resolved.topics.map((topic) => [
      topic.name,
      new EventTopic(topic.name, { topic, platform }, afterEnabled),
    ]),
  );
  const topicNames = (names: readonly string[]) =>
    Object.fromEntries(names.map((name) => [name, topics.get(name)!.topic.name]));
  const topicsOf = topicsCarrying(resolved);

  // The event store, which only the archivers write; the consumers' state; the replay tools'
  // databases and their account (infra/model/databases.ts).
  const firestore = { locationId: config.firestoreLocation, platform };
  new EventStore("event-store", firestore, afterEnabled);
  new StateStore("state-store", firestore, afterEnabled);
  const replay = new ReplayDatabases("replay", firestore, afterEnabled);

  const cluster = new WorkerCluster("workers", { source: config.cluster, platform }, afterEnabled);
  // A created cluster's nodes pull the image as their own account; an existing cluster's
  // nodes are its owner's to grant.
  const image = new HandlerImage(
    "handlers",
    { platform, readers: cluster.nodeMember === undefined ? [] : [cluster.nodeMember] },
    afterEnabled,
  );

  // The tracker first: the links in every invitation point at it.
  const tracker = new EdgeService(
    "tracker",
    {
      service: resolved.services.tracker,
      image: image.ref,
      env: {
        ...(config.cardBaseUrl !== undefined && { EVENTLINE_CARD_BASE_URL: config.cardBaseUrl }),
        ...(config.redirectHosts.length > 0 && {
          EVENTLINE_REDIRECT_HOSTS: config.redirectHosts.join(","),
        }),
      },
      publishesTo: topicNames(topicsOf(TRACKER_EVENT_TYPES)),
      ...(config.trackerDomain !== undefined && { domain: config.trackerDomain }),
      description: "Eventline tracker: the open pixel and click link of every invitation.",
      platform,
    },
    afterEnabled,
  );

  const producerAccounts = new Map(
    resolved.producers.map((producer) => [
      producer.name,
      new gcp.serviceaccount.Account(
        `producer-${producer.name}`,
        {
          accountId: accountId("prd", producer.name),
          project: platform.project,
          displayName: `Eventline producer ${producer.name} (${stack})`,
          description: producer.description ?? "",
        },
        afterEnabled,
      ),
    ]),
  );

  const secrets = new Map(
    [...secretSettingsNeeded(config, uses)].map(([setting, value]) => [
      setting,
      new SettingSecret(setting.toLowerCase(), { setting, value, platform }, afterEnabled),
    ]),
  );
  const sources = { config, trackerUrl: tracker.publicUrl, secrets };

  const serviceUrls: Record<string, pulumi.Output<string>> = {};
  for (const consumer of resolved.consumers) {
    const common = {
      topic: topics.get(consumer.topic)!.topic.name,
      emitsTo: topicNames(topicsOf(consumer.contract.emits)),
      image: image.ref,
      settings: capabilitySettings(consumer.contract.uses, sources),
      platform,
    };
    if (consumer.delivery === "push") {
      serviceUrls[consumer.name] = new PushHandler(
        consumer.name,
        { ...common, consumer },
        afterEnabled,
      ).url;
    } else {
      new PullWorker(
        consumer.name,
        { ...common, consumer, cluster, maxReplicasCap: config.maxReplicasCap },
        afterEnabled,
      );
    }
  }

  // The gateway takes the types producers declare, except what only the tracker publishes.
  const produced = resolved.topics
    .filter((topic) =>
      topic.events.some(
        (event) =>
          event.producers.length > 0 &&
          !(TRACKER_EVENT_TYPES as readonly string[]).includes(event.type),
      ),
    )
    .map((topic) => topic.name);
  const gateway = new EdgeService(
    "gateway",
    {
      service: resolved.services.gateway,
      image: image.ref,
      publishesTo: topicNames(produced),
      env: {
        EVENTLINE_GATEWAY_AUDIENCE: gatewayAudience(stack),
        EVENTLINE_PRODUCER_ACCOUNTS: pulumi.jsonStringify(
          Object.fromEntries(
            [...producerAccounts].map(([producer, account]) => [producer, account.email]),
          ),
        ),
      },
      customAudiences: [gatewayAudience(stack)],
      // Only the declared producers may invoke it; the gateway then checks what each may post.
      invokers: Object.fromEntries(
        [...producerAccounts].map(([producer, account]) => [producer, account.member]),
      ),
      description: "Eventline gateway: turns HTTP requests into CloudEvents on their topics.",
      platform,
    },
    afterEnabled,
  );

  const monitoring = new Monitoring(
    "monitoring",
    {
      consumers: resolved.consumers,
      oldestUnackedAlertSeconds: config.oldestUnackedAlertSeconds,
      notificationChannels: config.alertNotificationChannels,
      platform,
    },
    afterEnabled,
  );

  return {
    topics: resolved.topics.map((topic) => topics.get(topic.name)!.topic.name),
    serviceUrls,
    gatewayUrl: gateway.url,
    trackerUrl: tracker.publicUrl,
    producerAccounts: Object.fromEntries(
      [...producerAccounts].map(([producer, account]) => [producer, account.email]),
    ),
    dashboardUrl: monitoring.dashboardUrl,
    replayAccount: replay.account.email,
    declaration: declarationOf(resolved),
  };
}

export = eventline;
