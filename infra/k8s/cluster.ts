/**
 * Where the pull workers run. Either the program creates a GKE Autopilot cluster for the
 * stack (and installs the metrics adapter the backlog HPAs need), or it deploys into an
 * existing cluster given by kubeconfig, which must already run the adapter and have
 * Workload Identity and the Secret Manager add-on enabled for this project.
 *
 * A created cluster is private and holds no broad identity:
 * - its nodes have internal addresses only; they reach Google's APIs and the outside services
 *   the senders call (SMTP, the messaging provider) through the stack's Cloud NAT;
 * - its control plane's IP endpoint admits only `eventline:clusterAuthorizedNetworks` (none by
 *   default: the nodes and Google's services alone); its DNS endpoint
 *   (`eventline:clusterDnsEndpoint`, on by default) admits callers that IAM allows
 *   (`container.clusters.connect`) from anywhere, which is how the deploy workflow's runners,
 *   whose addresses change, reach it; the program's kubeconfig uses that endpoint when it is on;
 * - its nodes run as a service account of their own holding GKE's least-privilege node role
 *   and read access to the stack's image repository, never the Compute Engine default account
 *   (Editor on the project); workloads act as their own accounts through Workload Identity.
 */
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { accountId, type Platform } from "../gcp/platform";
import { CustomMetricsAdapter } from "./metrics-adapter";

/** The namespace every worker runs in. */
export const WORKER_NAMESPACE = "eventline";

/** How the stack gets its cluster (`eventline:cluster`). */
export type ClusterSource =
  | {
      mode: "autopilot";
      /** `eventline:clusterAuthorizedNetworks`: CIDR blocks that may reach the IP endpoint. */
      authorizedNetworks: readonly string[];
      /** `eventline:clusterDnsEndpoint`: whether the IAM-checked DNS endpoint takes traffic from outside Google Cloud. */
      dnsEndpoint: boolean;
    }
  | { mode: "existing"; kubeconfig: pulumi.Input<string> };

/**
 * What GKE's nodes need and nothing more: write their logs and metrics, read the metadata of
 * what they run, and report for the HPA's performance profile (Google's "Kubernetes Engine
 * Default Node Service Account" role). Pulling the handler image is granted on its repository.
 */
export const NODE_ROLES = ["roles/container.defaultNodeServiceAccount"] as const;

/** The network the cluster's nodes are on: the project's default VPC. */
const NETWORK = "default";

export interface WorkerClusterArgs {
  /** Create an Autopilot cluster, or use an existing one by kubeconfig. */
  source: ClusterSource;
  /** Project, region, stack, labels, delete protection (applies to a created cluster). */
  platform: Platform;
}

/**
 * A kubeconfig for a created cluster. Credentials come from `gke-gcloud-auth-plugin` at each
 * call, so no long-lived token is stored in state. Through the DNS endpoint when it is on (its
 * certificate is publicly trusted, and IAM admits the caller wherever it runs), else through
 * the IP endpoint with the cluster's CA, which admits only the authorized networks.
 */
function kubeconfigFor(cluster: gcp.container.Cluster, viaDns: boolean): pulumi.Output<string> {
  return pulumi
    .all([cluster.name, cluster.endpoint, cluster.masterAuth, cluster.controlPlaneEndpointsConfig])
    .apply(([name, endpoint, auth, endpoints]) => {
      const dns = endpoints?.dnsEndpointConfig?.endpoint;
      if (viaDns && !dns)
        throw new Error(
          `WorkerCluster: cluster ${name} reports no DNS endpoint though eventline:clusterDnsEndpoint is on`,
        );
      const server = viaDns
        ? { server: `https://${dns}` }
        : {
            server: `https://${endpoint}`,
            "certificate-authority-data": auth.clusterCaCertificate,
          };
      return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name, cluster: server }],
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
      });
    });
}

/** The cluster's Kubernetes provider and the workers' namespace. */
export class WorkerCluster extends pulumi.ComponentResource {
  /** Deploys into the cluster. */
  readonly provider: k8s.Provider;
  /** The workers' namespace name (created here). */
  readonly namespace: pulumi.Output<string>;
  /** The created cluster; undefined for an existing one. */
  readonly cluster?: gcp.container.Cluster;
  /** The IAM member the created cluster's nodes run as (they pull the handler image); undefined for an existing one. */
  readonly nodeMember?: pulumi.Output<string>;

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
      const nodes = new gcp.serviceaccount.Account(
        `${name}-nodes`,
        {
          accountId: accountId("gke", "nodes"),
          project: platform.project,
          displayName: `Eventline GKE nodes (${platform.stack})`,
          description: "The identity of the worker cluster's nodes: logs, metrics, image pulls.",
        },
        { parent: this },
      );
      this.nodeMember = nodes.member;
      const nodeGrants = NODE_ROLES.map(
        (role) =>
          new gcp.projects.IAMMember(
            `${name}-nodes-${role.slice(role.lastIndexOf(".") + 1)}`,
            { project: platform.project, role, member: nodes.member },
            { parent: this },
          ),
      );
      // Private nodes have no address of their own on the internet: this is their way out.
      const router = new gcp.compute.Router(
        `${name}-router`,
        {
          name: `eventline-${platform.stack}-nat`,
          project: platform.project,
          region: platform.region,
          network: NETWORK,
        },
        { parent: this },
      );
      new gcp.compute.RouterNat(
        `${name}-nat`,
        {
          name: `eventline-${platform.stack}-nat`,
          project: platform.project,
          region: platform.region,
          router: router.name,
          natIpAllocateOption: "AUTO_ONLY",
          sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
          logConfig: { enable: true, filter: "ERRORS_ONLY" },
        },
        { parent: this },
      );
      this.cluster = new gcp.container.Cluster(
        name,
        {
          name: `eventline-${platform.stack}`,
          project: platform.project,
          location: platform.region,
          network: NETWORK,
          enableAutopilot: true,
          releaseChannel: { channel: "REGULAR" },
          // Nodes get internal addresses only; the control plane keeps an endpoint that only
          // the authorized networks reach (and the DNS endpoint, which IAM guards).
          privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false },
          masterAuthorizedNetworksConfig: {
            cidrBlocks: source.authorizedNetworks.map((cidrBlock) => ({
              cidrBlock,
              displayName: `authorized ${cidrBlock}`,
            })),
            // Not "any Google Cloud address": another project's VM is no authorized network.
            gcpPublicCidrsAccessEnabled: false,
          },
          controlPlaneEndpointsConfig: {
            dnsEndpointConfig: { allowExternalTraffic: source.dnsEndpoint },
          },
          // Pods act as their own Google accounts (pull-worker.ts), never as the node's.
          workloadIdentityConfig: { workloadPool: `${platform.project}.svc.id.goog` },
          clusterAutoscaling: {
            autoProvisioningDefaults: {
              serviceAccount: nodes.email,
              // Access is IAM's to decide; the scope only lets the account's roles apply.
              oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
            },
          },
          // Mounts secret settings into the workers' pods (infra/k8s/pull-worker.ts).
          secretManagerConfig: { enabled: true },
          deletionProtection: platform.deleteProtection,
          resourceLabels: { ...platform.labels },
        },
        { parent: this, dependsOn: nodeGrants },
      );
      kubeconfig = pulumi.secret(kubeconfigFor(this.cluster, source.dnsEndpoint));
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
