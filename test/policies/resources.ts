/**
 * Compliant inputs for each resource type the pack checks, shaped as the GCP and Kubernetes providers take them.
 * Each test derives its violating case from one of these by changing one thing.
 */
export const labels = { system: "eventline", env: "dev", owner: "platform" };

export const SUBSCRIPTION = "gcp:pubsub/subscription:Subscription";
export const TOPIC = "gcp:pubsub/topic:Topic";
export const CLOUD_RUN = "gcp:cloudrunv2/service:Service";
export const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
export const HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";

export const pushSubscription = {
  name: "sms-worker",
  topic: "viral-shares",
  labels,
  filter: 'attributes.ce-channel = "sms"',
  ackDeadlineSeconds: 60,
  retryPolicy: { minimumBackoff: "10s", maximumBackoff: "600s" },
  deadLetterPolicy: { deadLetterTopic: "projects/p/topics/sms-worker-dlq", maxDeliveryAttempts: 5 },
  expirationPolicy: { ttl: "" },
  pushConfig: {
    pushEndpoint: "https://sms-worker-abc-ew.a.run.app",
    oidcToken: {
      serviceAccountEmail: "push-sms-worker@p.iam.gserviceaccount.com",
      audience: "https://sms-worker-abc-ew.a.run.app",
    },
  },
};

export const pullSubscription: Record<string, unknown> = {
  ...Object.fromEntries(Object.entries(pushSubscription).filter(([key]) => key !== "pushConfig")),
  name: "email-dispatcher",
  enableExactlyOnceDelivery: true,
};

export const eventTopic = {
  name: "viral-shares",
  labels,
  messageRetentionDuration: "604800s",
  schemaSettings: { schema: "projects/p/schemas/viral-shares", encoding: "BINARY" },
};

export const cloudRunService = {
  name: "sms-worker",
  location: "europe-west1",
  labels,
  ingress: "INGRESS_TRAFFIC_INTERNAL_ONLY",
  template: {
    serviceAccount: "run-sms-worker@p.iam.gserviceaccount.com",
    scaling: { minInstanceCount: 0, maxInstanceCount: 20 },
    containers: [{ image: "europe-docker.pkg.dev/p/eventline/handlers@sha256:" + "a".repeat(64) }],
  },
};

const container = {
  name: "worker",
  image: "europe-docker.pkg.dev/p/eventline/handlers@sha256:" + "b".repeat(64),
  resources: {
    requests: { cpu: "200m", memory: "256Mi" },
    limits: { cpu: "500m", memory: "512Mi" },
  },
  securityContext: {
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  },
  livenessProbe: { httpGet: { path: "/healthz", port: 8080 } },
  readinessProbe: { httpGet: { path: "/readyz", port: 8080 } },
};

export const deployment = {
  metadata: {
    name: "email-worker",
    namespace: "eventline",
    labels: { ...labels, "app.kubernetes.io/component": "pull-worker" },
  },
  spec: {
    selector: { matchLabels: { app: "email-worker" } },
    template: {
      metadata: { labels: { app: "email-worker" } },
      spec: { securityContext: { runAsNonRoot: true }, containers: [container] },
    },
  },
};

export const hpa = {
  metadata: { name: "email-worker", namespace: "eventline", labels },
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "email-worker" },
    minReplicas: 1,
    maxReplicas: 10,
  },
};
