/**
 * A pull consumer on GKE: its subscription, a Google service account its pods act as through
 * Workload Identity, and a hardened Deployment that the HPA scales on the subscription's
 * backlog (Pub/Sub's num_undelivered_messages, read through the Custom Metrics Stackdriver
 * Adapter), with a PodDisruptionBudget so node upgrades drain it one pod at a time.
 *
 * Secret settings reach the pods as files: the GKE Secret Manager add-on (enabled on the
 * Autopilot cluster, infra/k8s/cluster.ts) mounts each pinned secret version through a
 * SecretProviderClass, authenticating as the pod's own identity, and the runtime reads
 * `<NAME>_FILE`. That is the mechanism Autopilot supports without installing a driver of our
 * own, and the secret never becomes a Kubernetes Secret that anyone with read access to the
 * namespace could read: only the workload's identity is granted the secret.
 */
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TERMINATION_GRACE_PERIOD_SECONDS } from "../model/defaults";
import { heapCapMb } from "../model/node-heap";
import { parseQuantity } from "../model/quantity";
import type { ResolvedPullConsumer } from "../model/types";
import { ConsumerSubscription } from "../gcp/consumer-subscription";
import { consumerDatabase } from "../gcp/firestore-access";
import { HandlerPermissions } from "../gcp/handler-permissions";
import { HANDLER_PORT } from "../gcp/handler-service";
import { accountId, type Platform, platformEnv } from "../gcp/platform";
import { secretFileOf } from "../gcp/setting-secret";
import { FILE_SUFFIX } from "../model/settings";
import type { WorkloadSettings } from "../workload-settings";
import type { WorkerCluster } from "./cluster";

/** The external metric the HPA scales on (Custom Metrics Stackdriver Adapter, new resource model). */
export const BACKLOG_METRIC = "pubsub.googleapis.com|subscription|num_undelivered_messages";
/** The uid the container runs as: the `node` user of the Node.js base images. */
export const RUN_AS_USER = 1000;
/** Where the Secret Manager add-on mounts a worker's secret settings. */
export const SECRETS_MOUNT_PATH = "/etc/eventline/secrets";
/** The CSI driver of GKE's Secret Manager add-on. */
export const SECRET_MANAGER_CSI_DRIVER = "secrets-store-gke.csi.k8s.io";

export interface PullWorkerArgs {
  /** The resolved pull consumer (infra/system.ts): scaling bounds, backlog target, resources. */
  consumer: ResolvedPullConsumer;
  /** The topic it subscribes to (the topic resource's name output). */
  topic: pulumi.Input<string>;
  /** Topics of the events its contract emits: declared name → Pub/Sub topic name. */
  emitsTo: Readonly<Record<string, pulumi.Input<string>>>;
  /** The handler image, by digest. */
  image: pulumi.Input<string>;
  /** The settings of the capabilities its handler uses (infra/workload-settings.ts). Default none. */
  settings?: WorkloadSettings;
  /** Where the worker runs: the Kubernetes provider and the workers' namespace. */
  cluster: Pick<WorkerCluster, "provider" | "namespace">;
  /** The most replicas any worker may scale to (`eventline:maxReplicasCap`). */
  maxReplicasCap: number;
  /** Project, stack, labels. */
  platform: Platform;
}

function checkArgs(name: string, { consumer, maxReplicasCap }: PullWorkerArgs): void {
  const fail = (message: string): never => {
    throw new Error(`PullWorker ${name}: ${message}`);
  };
  if (consumer.delivery !== "pull")
    fail(
      `consumer.delivery is "${String(consumer.delivery)}"; push consumers run as a PushHandler on Cloud Run`,
    );
  if (consumer.name.length > 63)
    fail(
      `consumer.name "${consumer.name}" is longer than a Kubernetes name's 63 characters; shorten it`,
    );
  const { min, max } = consumer.gke.replicas;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || min > max)
    fail(
      `consumer.gke.replicas ${min}..${max} needs whole numbers with 1 ≤ min ≤ max; fix gke.replicas in infra/system.ts`,
    );
  if (max > maxReplicasCap)
    fail(
      `consumer.gke.replicas.max ${max} exceeds eventline:maxReplicasCap ${maxReplicasCap}; lower gke.replicas.max for this stack or raise the cap`,
    );
  if (!(consumer.gke.backlogTarget >= 1))
    fail(
      `consumer.gke.backlogTarget ${consumer.gke.backlogTarget} must be at least 1 undelivered message per replica`,
    );
  const { requests, limits } = consumer.gke.resources;
  for (const resource of ["cpu", "memory"] as const) {
    const request = parseQuantity(requests[resource]);
    const limit = parseQuantity(limits[resource]);
    if (request === undefined || limit === undefined)
      fail(
        `consumer.gke.resources.${resource} "${requests[resource]}"/"${limits[resource]}" are not Kubernetes quantities; write e.g. "250m" or "256Mi"`,
      );
    if (request! > limit!)
      fail(
        `consumer.gke.resources.requests.${resource} ${requests[resource]} exceeds limits.${resource} ${limits[resource]}; raise the limit or lower the request`,
      );
  }
}

/** `consumer.name` as a Deployment (MODE=pull) autoscaled on its own subscription's backlog. */
export class PullWorker extends pulumi.ComponentResource {
  /** The consumer's subscription, dead-letter topic and parking subscription. */
  readonly subscription: ConsumerSubscription;
  /** The Google identity the worker's pods act as. */
  readonly serviceAccount: gcp.serviceaccount.Account;

  constructor(name: string, args: PullWorkerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:k8s:PullWorker", name, {}, opts);
    checkArgs(name, args);
    const { consumer, platform, cluster } = args;
    const k8sOpts = { parent: this, provider: cluster.provider };
    const namespace = cluster.namespace;
    const selector = {
      "app.kubernetes.io/name": consumer.name,
      "app.kubernetes.io/part-of": "eventline",
    };
    const labels = {
      ...platform.labels,
      ...selector,
      "app.kubernetes.io/component": consumer.builtIn ? "archiver" : "pull-worker",
    };

    this.subscription = new ConsumerSubscription(
      name,
      { consumer, topic: args.topic, platform },
      { parent: this },
    );
    const firestore = consumerDatabase(consumer, platform);

    this.serviceAccount = new gcp.serviceaccount.Account(
      `${name}-sa`,
      {
        accountId: accountId("wrk", consumer.name),
        project: platform.project,
        displayName: `Eventline worker ${consumer.name} (${platform.stack})`,
      },
      { parent: this },
    );
    new HandlerPermissions(
      name,
      {
        member: this.serviceAccount.member,
        emitsTo: args.emitsTo,
        deadLetterTopic: this.subscription.deadLetterTopic.name,
        pullsFrom: this.subscription.subscription.name,
        database: firestore.database,
        platform,
      },
      { parent: this },
    );
    new gcp.serviceaccount.IAMMember(
      `${name}-workload-identity`,
      {
        serviceAccountId: this.serviceAccount.name,
        role: "roles/iam.workloadIdentityUser",
        member: pulumi.interpolate`serviceAccount:${platform.project}.svc.id.goog[${namespace}/${consumer.name}]`,
      },
      { parent: this },
    );
    const kubernetesAccount = new k8s.core.v1.ServiceAccount(
      name,
      {
        metadata: {
          name: consumer.name,
          namespace,
          labels,
          annotations: { "iam.gke.io/gcp-service-account": this.serviceAccount.email },
        },
      },
      k8sOpts,
    );

    const secrets = args.settings?.secrets ?? [];
    // The add-on reads as the pod's identity: the Kubernetes account, linked to the Google one.
    const podPrincipal = pulumi.interpolate`principal://iam.googleapis.com/projects/${platform.projectNumber}/locations/global/workloadIdentityPools/${platform.project}.svc.id.goog/subject/ns/${namespace}/sa/${consumer.name}`;
    const secretGrants = secrets.flatMap((secret) => [
      secret.grantAccess(name, this.serviceAccount.member, { parent: this }),
      secret.grantAccess(`${name}-pod`, podPrincipal, { parent: this }),
    ]);
    const secretProviderClass =
      secrets.length === 0
        ? undefined
        : new k8s.apiextensions.CustomResource(
            `${name}-secrets`,
            {
              apiVersion: "secrets-store.csi.x-k8s.io/v1",
              kind: "SecretProviderClass",
              metadata: { name: `${consumer.name}-secrets`, namespace, labels },
              spec: {
                provider: "gke",
                parameters: {
                  secrets: pulumi
                    .all(secrets.map((secret) => secret.versionName))
                    .apply((versions) =>
                      versions
                        .map(
                          (version, i) =>
                            `- resourceName: "${version}"\n  path: "${secretFileOf(secrets[i]!.setting)}"`,
                        )
                        .join("\n"),
                    ),
                },
              },
            },
            k8sOpts,
          );
    const secretFiles = Object.fromEntries(
      secrets.map((secret) => [
        `${secret.setting}${FILE_SUFFIX}`,
        `${SECRETS_MOUNT_PATH}/${secretFileOf(secret.setting)}`,
      ]),
    );

    const deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { name: consumer.name, namespace, labels },
        spec: {
          selector: { matchLabels: selector },
          revisionHistoryLimit: 5,
          // Replicas are the HPA's: a fixed count here would reset it on every update.
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: kubernetesAccount.metadata.name,
              terminationGracePeriodSeconds: TERMINATION_GRACE_PERIOD_SECONDS,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: RUN_AS_USER,
                runAsGroup: RUN_AS_USER,
                seccompProfile: { type: "RuntimeDefault" },
              },
              containers: [
                {
                  name: "handler",
                  image: args.image,
                  env: Object.entries({
                    HANDLER: consumer.name,
                    MODE: "pull",
                    // From the take-over: the pods move once the new subscription has the backlog,
                    // and drain the one they leave until it is retired.
                    SUBSCRIPTION: this.subscription.takeOver.subscription,
                    DRAINING_SUBSCRIPTION: this.subscription.takeOver.previous.apply(
                      (previous) => previous ?? "",
                    ),
                    ...platformEnv(platform),
                    [firestore.setting]: firestore.database,
                    // Replaces the image's NODE_OPTIONS, so it keeps its source maps.
                    NODE_OPTIONS: `--enable-source-maps --max-old-space-size=${heapCapMb(consumer.gke.resources.limits.memory)}`,
                    ...args.settings?.values,
                    ...secretFiles,
                  }).map(([envName, value]) => ({ name: envName, value })),
                  ports: [{ name: "http", containerPort: HANDLER_PORT }],
                  resources: {
                    requests: { ...consumer.gke.resources.requests },
                    limits: { ...consumer.gke.resources.limits },
                  },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    capabilities: { drop: ["ALL"] },
                  },
                  livenessProbe: {
                    httpGet: { path: "/healthz", port: HANDLER_PORT },
                    periodSeconds: 10,
                    failureThreshold: 3,
                  },
                  readinessProbe: {
                    httpGet: { path: "/readyz", port: HANDLER_PORT },
                    periodSeconds: 5,
                    failureThreshold: 2,
                  },
                  // The root filesystem is read-only; Node and the Google clients still need a scratch dir.
                  volumeMounts: [
                    { name: "tmp", mountPath: "/tmp" },
                    ...(secretProviderClass === undefined
                      ? []
                      : [{ name: "secrets", mountPath: SECRETS_MOUNT_PATH, readOnly: true }]),
                  ],
                },
              ],
              volumes: [
                { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                ...(secretProviderClass === undefined
                  ? []
                  : [
                      {
                        name: "secrets",
                        csi: {
                          driver: SECRET_MANAGER_CSI_DRIVER,
                          readOnly: true,
                          volumeAttributes: { secretProviderClass: `${consumer.name}-secrets` },
                        },
                      },
                    ]),
              ],
            },
          },
        },
      },
      {
        ...k8sOpts,
        dependsOn: [
          ...secretGrants,
          ...(secretProviderClass === undefined ? [] : [secretProviderClass]),
        ],
      },
    );

    this.subscription.retireAfter([deployment]);

    // Pull workers lose nothing when evicted (unacked messages are redelivered), so allow one
    // pod down at a time rather than block drains of single-replica workers.
    new k8s.policy.v1.PodDisruptionBudget(
      name,
      {
        metadata: { name: consumer.name, namespace, labels },
        spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
      },
      k8sOpts,
    );

    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      name,
      {
        metadata: { name: consumer.name, namespace, labels },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: consumer.name },
          minReplicas: consumer.gke.replicas.min,
          maxReplicas: consumer.gke.replicas.max,
          metrics: [
            {
              type: "External",
              external: {
                metric: {
                  name: BACKLOG_METRIC,
                  selector: {
                    matchLabels: { "resource.labels.subscription_id": consumer.subscription },
                  },
                },
                target: { type: "AverageValue", averageValue: String(consumer.gke.backlogTarget) },
              },
            },
          ],
        },
      },
      k8sOpts,
    );

    this.registerOutputs({
      subscription: this.subscription.subscription.name,
      serviceAccount: this.serviceAccount.email,
    });
  }
}
