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
import { EventStore } from "./gcp/event-store";
import { EventTopic } from "./gcp/event-topic";
import { GATEWAY_SERVICE, Gateway } from "./gcp/gateway";
import { HandlerImage } from "./gcp/handler-image";
import { Monitoring } from "./gcp/monitoring";
import { type Platform, platformLabels } from "./gcp/platform";
import { PushHandler } from "./gcp/push-handler";
import { WorkerCluster } from "./k8s/cluster";
import { PullWorker } from "./k8s/pull-worker";
import { resolveSystem } from "./model/resolve";
import type { ResolvedSystem, SystemSpec } from "./model/types";
import { system as declaredSystem } from "./system";

/** The topics carrying event types `types`, each once: where a publisher of them needs rights. */
function topicsCarrying(resolved: ResolvedSystem): (types: readonly string[]) => string[] {
  const topicOfType = new Map(resolved.topics.flatMap((topic) => topic.events.map((event) => [event.type, topic.name] as const)));
  return (types) => [...new Set(types.map((type) => topicOfType.get(type)).filter((topic): topic is string => topic !== undefined))];
}

/**
 * Deploys the event system for the current stack.
 * @param options.system the declaration to deploy; default infra/system.ts.
 * @returns the stack outputs: Pub/Sub topic names, push consumers' service URLs, the gateway
 *   URL and the dashboard URL.
 */
async function eventline(options: { system?: SystemSpec } = {}) {
  const stack = pulumi.getStack();
  const config = loadStackConfig();
  const resolved = resolveSystem(options.system ?? declaredSystem, stack);
  if (resolved.consumers.some((consumer) => consumer.delivery === "push" && consumer.name === GATEWAY_SERVICE)) {
    throw new Error(`consumers.${GATEWAY_SERVICE}: a push consumer's Cloud Run service would take the gateway's name; rename the consumer`);
  }

  const projectNumber = gcp.organizations.getProjectOutput({ projectId: config.project }).number;
  const platform: Platform = {
    stack,
    project: config.project,
    region: config.region,
    projectNumber,
    labels: platformLabels(stack, config.owner),
    deleteProtection: config.deleteProtection,
  };

  const topics = new Map(resolved.topics.map((topic) => [topic.name, new EventTopic(topic.name, { topic, platform })]));
  const topicNames = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, topics.get(name)!.topic.name]));
  const topicsOf = topicsCarrying(resolved);

  new EventStore("event-store", { locationId: config.firestoreLocation, platform });

  const cluster = new WorkerCluster("workers", { source: config.cluster, platform });
  // Autopilot nodes pull images as the project's default compute service account.
  const nodeAccount = pulumi.interpolate`serviceAccount:${projectNumber}-compute@developer.gserviceaccount.com`;
  const image = new HandlerImage("handlers", { platform, readers: config.cluster.mode === "autopilot" ? [nodeAccount] : [] });

  const serviceUrls: Record<string, pulumi.Output<string>> = {};
  for (const consumer of resolved.consumers) {
    const common = {
      topic: topics.get(consumer.topic)!.topic.name,
      emitsTo: topicNames(topicsOf(consumer.contract.emits)),
      image: image.ref,
      platform,
    };
    if (consumer.delivery === "push") {
      serviceUrls[consumer.name] = new PushHandler(consumer.name, { ...common, consumer }).url;
    } else {
      new PullWorker(consumer.name, { ...common, consumer, cluster, maxReplicasCap: config.maxReplicasCap });
    }
  }

  const produced = resolved.topics.filter((topic) => topic.events.some((event) => event.producers.length > 0)).map((topic) => topic.name);
  const gateway = new Gateway("gateway", {
    image: image.ref,
    publishesTo: topicNames(produced),
    public: config.gatewayPublic,
    invokers: config.gatewayInvokers,
    platform,
  });

  const monitoring = new Monitoring("monitoring", {
    consumers: resolved.consumers,
    oldestUnackedAlertSeconds: config.oldestUnackedAlertSeconds,
    notificationChannels: config.alertNotificationChannels,
    platform,
  });

  return {
    topics: resolved.topics.map((topic) => topics.get(topic.name)!.topic.name),
    serviceUrls,
    gatewayUrl: gateway.url,
    dashboardUrl: monitoring.dashboardUrl,
  };
}

export = eventline;
