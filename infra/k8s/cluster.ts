/**
 * Where the pull workers run. Either the program creates a GKE Autopilot cluster for the
 * stack (and installs the metrics adapter the backlog HPAs need), or it deploys into an
 * existing cluster given by kubeconfig, which must already run the adapter and have
 * Workload Identity and the Secret Manager add-on enabled for this project.
 */
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Platform } from "../gcp/platform";
import { CustomMetricsAdapter } from "./metrics-adapter";

/** The namespace every worker runs in. */
export const WORKER_NAMESPACE = "eventline";

/** How the stack gets its cluster (`eventline:cluster`). */
export type ClusterSource =
  { mode: "autopilot" } | { mode: "existing"; kubeconfig: pulumi.Input<string> };

export interface WorkerClusterArgs {
  /** Create an Autopilot cluster, or use an existing one by kubeconfig. */
  source: ClusterSource;
  /** Project, region, stack, labels, delete protection (applies to a created cluster). */
  platform: Platform;
}

/**
 * A kubeconfig for a created cluster. Credentials come from `gke-gcloud-auth-plugin` at each
 * call, so no long-lived token is stored in state.
 */
function kubeconfigFor(cluster: gcp.container.Cluster): pulumi.Output<string> {
  return pulumi
    .all([cluster.name, cluster.endpoint, cluster.masterAuth])
    .apply(([name, endpoint, auth]) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name,
            cluster: {
              server: `https://${endpoint}`,
              "certificate-authority-data": auth.clusterCaCertificate,
            },
          },
        ],
        contexts: [{ name, context: { cluster: name, user: name } }],
        "current-context": name,
        users: [
          {
            name,
            user: {
              exec: {
                apiVersion: "client.authentication.k8s.io/v1beta1",
                command: "gke-gcloud-auth-plugin",
                provideClusterInfo: true,
                installHint:
                  "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
              },
            },
          },
        ],
      }),
    );
}

/** The cluster's Kubernetes provider and the workers' namespace. */
export class WorkerCluster extends pulumi.ComponentResource {
  /** Deploys into the cluster. */
  readonly provider: k8s.Provider;
  /** The workers' namespace name (created here). */
  readonly namespace: pulumi.Output<string>;
  /** The created cluster; undefined for an existing one. */
  readonly cluster?: gcp.container.Cluster;

  constructor(name: string, args: WorkerClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:k8s:WorkerCluster", name, {}, opts);
    const { source, platform } = args;
    if (source.mode !== "autopilot" && source.mode !== "existing") {
      throw new Error(
        `WorkerCluster ${name}: source.mode "${String((source as { mode: unknown }).mode)}" is neither "autopilot" nor "existing"; set eventline:cluster`,
      );
    }

    let kubeconfig: pulumi.Input<string>;
    if (source.mode === "autopilot") {
      this.cluster = new gcp.container.Cluster(
        name,
        {
          name: `eventline-${platform.stack}`,
          project: platform.project,
          location: platform.region,
          enableAutopilot: true,
          releaseChannel: { channel: "REGULAR" },
          // Mounts secret settings into the workers' pods (infra/k8s/pull-worker.ts).
          secretManagerConfig: { enabled: true },
          deletionProtection: platform.deleteProtection,
          resourceLabels: { ...platform.labels },
        },
        { parent: this },
      );
      kubeconfig = pulumi.secret(kubeconfigFor(this.cluster));
    } else {
      kubeconfig = source.kubeconfig;
    }

    this.provider = new k8s.Provider(name, { kubeconfig }, { parent: this });
    const namespace = new k8s.core.v1.Namespace(
      name,
      {
        metadata: {
          name: WORKER_NAMESPACE,
          labels: {
            ...platform.labels,
            // Workers are built to the restricted Pod Security Standard; hold every pod to it.
            "pod-security.kubernetes.io/enforce": "restricted",
          },
        },
      },
      { parent: this, provider: this.provider },
    );
    this.namespace = namespace.metadata.name;

    if (source.mode === "autopilot") {
      new CustomMetricsAdapter(
        `${name}-metrics-adapter`,
        { provider: this.provider, platform },
        { parent: this },
      );
    }

    this.registerOutputs({ namespace: this.namespace });
  }
}
