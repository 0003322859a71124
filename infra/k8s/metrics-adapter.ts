/**
 * The Custom Metrics Stackdriver Adapter, which serves Cloud Monitoring metrics (here Pub/Sub
 * backlogs) to HorizontalPodAutoscalers through the external metrics API. These are the
 * objects of Google's manifest (k8s-stackdriver, custom-metrics-stackdriver-adapter/deploy/
 * production/adapter_new_resource_model.yaml) written out as resources, so a preview shows
 * each one and nothing is fetched while the program runs. Unlike the manifest, the adapter
 * runs under the same restricted security context as the workers: as a non-root user on an
 * unprivileged port, with its self-signed serving certificate in a scratch volume. It reads
 * Cloud Monitoring as its Kubernetes service account, through Workload Identity.
 */
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Platform } from "../gcp/platform";

/** The adapter image Google's production manifest pins. */
export const ADAPTER_IMAGE = "gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.15.1-gke.0";

/** The adapter's HTTPS port; above 1024 so a non-root process may bind it. */
export const ADAPTER_PORT = 6443;

const NAMESPACE = "custom-metrics";
const ACCOUNT = "custom-metrics-stackdriver-adapter";
const subject = { kind: "ServiceAccount", name: ACCOUNT, namespace: NAMESPACE };

export interface CustomMetricsAdapterArgs {
  /** The provider of the cluster to install into. */
  provider: k8s.Provider;
  /** Project (whose Workload Identity pool the cluster uses) and project number. */
  platform: Platform;
}

/** Installs the adapter and registers it for the custom and external metrics APIs. */
export class CustomMetricsAdapter extends pulumi.ComponentResource {
  constructor(
    name: string,
    args: CustomMetricsAdapterArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("eventline:k8s:CustomMetricsAdapter", name, {}, opts);
    const { platform } = args;
    const k8sOpts = { parent: this, provider: args.provider };
    const labels = {
      ...platform.labels,
      "k8s-app": ACCOUNT,
      "app.kubernetes.io/part-of": "eventline",
    };

    const namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: NAMESPACE, labels } },
      k8sOpts,
    );
    const nsOpts = { ...k8sOpts, dependsOn: [namespace] };
    new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: { name: ACCOUNT, namespace: NAMESPACE, labels } },
      nsOpts,
    );

    // Reading metrics is all the adapter does in GCP; granted to its Kubernetes identity directly.
    new gcp.projects.IAMMember(
      `${name}-monitoring-viewer`,
      {
        project: platform.project,
        role: "roles/monitoring.viewer",
        member: pulumi.interpolate`principal://iam.googleapis.com/projects/${platform.projectNumber}/locations/global/workloadIdentityPools/${platform.project}.svc.id.goog/subject/ns/${NAMESPACE}/sa/${ACCOUNT}`,
      },
      { parent: this },
    );

    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-auth-delegator`,
      {
        metadata: { name: "custom-metrics:system:auth-delegator", labels },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "system:auth-delegator",
        },
        subjects: [subject],
      },
      k8sOpts,
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-auth-reader`,
      {
        metadata: { name: "custom-metrics-auth-reader", namespace: "kube-system", labels },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "Role",
          name: "extension-apiserver-authentication-reader",
        },
        subjects: [subject],
      },
      k8sOpts,
    );
    const resourceReader = new k8s.rbac.v1.ClusterRole(
      `${name}-resource-reader`,
      {
        metadata: { name: "custom-metrics-resource-reader", labels },
        rules: [
          {
            apiGroups: [""],
            resources: ["pods", "nodes", "nodes/stats"],
            verbs: ["get", "list", "watch"],
          },
        ],
      },
      k8sOpts,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-resource-reader`,
      {
        metadata: { name: "custom-metrics-resource-reader", labels },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: resourceReader.metadata.name,
        },
        subjects: [subject],
      },
      k8sOpts,
    );

    const selector = { run: ACCOUNT, "k8s-app": ACCOUNT };
    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { name: ACCOUNT, namespace: NAMESPACE, labels: { ...labels, ...selector } },
        spec: {
          replicas: 1,
          selector: { matchLabels: selector },
          template: {
            metadata: {
              labels: { ...labels, ...selector, "kubernetes.io/cluster-service": "true" },
            },
            spec: {
              serviceAccountName: ACCOUNT,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 65534,
                runAsGroup: 65534,
                seccompProfile: { type: "RuntimeDefault" },
              },
              containers: [
                {
                  name: "pod-custom-metrics-stackdriver-adapter",
                  image: ADAPTER_IMAGE,
                  command: [
                    "/adapter",
                    "--use-new-resource-model=true",
                    "--fallback-for-container-metrics=true",
                    `--secure-port=${ADAPTER_PORT}`,
                    "--cert-dir=/tmp/serving-cert",
                  ],
                  ports: [{ name: "https", containerPort: ADAPTER_PORT }],
                  resources: {
                    requests: { cpu: "250m", memory: "400Mi" },
                    limits: { cpu: "250m", memory: "400Mi" },
                  },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    capabilities: { drop: ["ALL"] },
                  },
                  // The API server library serves these unauthenticated, like metrics-server's.
                  livenessProbe: {
                    httpGet: { path: "/livez", port: ADAPTER_PORT, scheme: "HTTPS" },
                    periodSeconds: 10,
                    failureThreshold: 3,
                  },
                  readinessProbe: {
                    httpGet: { path: "/readyz", port: ADAPTER_PORT, scheme: "HTTPS" },
                    periodSeconds: 10,
                    failureThreshold: 3,
                  },
                  volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                },
              ],
              volumes: [{ name: "tmp", emptyDir: { sizeLimit: "16Mi" } }],
            },
          },
        },
      },
      nsOpts,
    );
    const service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: {
          name: ACCOUNT,
          namespace: NAMESPACE,
          labels: {
            ...labels,
            ...selector,
            "kubernetes.io/cluster-service": "true",
            "kubernetes.io/name": "Adapter",
          },
        },
        spec: {
          type: "ClusterIP",
          selector,
          ports: [{ port: 443, protocol: "TCP", targetPort: ADAPTER_PORT }],
        },
      },
      nsOpts,
    );

    const apis = [
      { group: "custom.metrics.k8s.io", version: "v1beta1", versionPriority: 100 },
      { group: "custom.metrics.k8s.io", version: "v1beta2", versionPriority: 200 },
      { group: "external.metrics.k8s.io", version: "v1beta1", versionPriority: 100 },
    ];
    for (const api of apis) {
      new k8s.apiregistration.v1.APIService(
        `${name}-${api.version}-${api.group.split(".")[0]}`,
        {
          metadata: { name: `${api.version}.${api.group}`, labels },
          spec: {
            // As in Google's manifest: the adapter serves a self-signed certificate.
            insecureSkipTLSVerify: true,
            group: api.group,
            version: api.version,
            groupPriorityMinimum: 100,
            versionPriority: api.versionPriority,
            service: { name: service.metadata.name, namespace: NAMESPACE },
          },
        },
        k8sOpts,
      );
    }

    // The HPA controller reads external metrics as this account.
    const externalReader = new k8s.rbac.v1.ClusterRole(
      `${name}-external-metrics-reader`,
      {
        metadata: { name: "external-metrics-reader", labels },
        rules: [
          {
            apiGroups: ["external.metrics.k8s.io"],
            resources: ["*"],
            verbs: ["list", "get", "watch"],
          },
        ],
      },
      k8sOpts,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-external-metrics-reader`,
      {
        metadata: { name: "external-metrics-reader", labels },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: externalReader.metadata.name,
        },
        subjects: [
          { kind: "ServiceAccount", name: "horizontal-pod-autoscaler", namespace: "kube-system" },
        ],
      },
      k8sOpts,
    );

    this.registerOutputs({});
  }
}
