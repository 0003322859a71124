/**
 * Queries over an evaluation's recorded resources, so tests read as statements about the
 * deployed system rather than as array plumbing. The mocks themselves live in infra/evaluate.ts.
 */
import type { Evaluation, RecordedResource } from "../../infra/evaluate";
import { MOCK_PROJECT_NUMBER } from "../../infra/evaluate";
import { databaseOfCondition } from "../../infra/model/databases";

export const PUBSUB_AGENT = `serviceAccount:service-${MOCK_PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;

export const types = {
  topic: "gcp:pubsub/topic:Topic",
  schema: "gcp:pubsub/schema:Schema",
  subscription: "gcp:pubsub/subscription:Subscription",
  topicIam: "gcp:pubsub/topicIAMMember:TopicIAMMember",
  subscriptionIam: "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
  projectIam: "gcp:projects/iAMMember:IAMMember",
  account: "gcp:serviceaccount/account:Account",
  accountIam: "gcp:serviceaccount/iAMMember:IAMMember",
  service: "gcp:cloudrunv2/service:Service",
  serviceIam: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
  database: "gcp:firestore/database:Database",
  router: "gcp:compute/router:Router",
  nat: "gcp:compute/routerNat:RouterNat",
  repositoryIam: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
  index: "gcp:firestore/index:Index",
  field: "gcp:firestore/field:Field",
  alert: "gcp:monitoring/alertPolicy:AlertPolicy",
  dashboard: "gcp:monitoring/dashboard:Dashboard",
  cluster: "gcp:container/cluster:Cluster",
  repository: "gcp:artifactregistry/repository:Repository",
  image: "docker-build:index:Image",
  deployment: "kubernetes:apps/v1:Deployment",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  apiService: "kubernetes:apiregistration.k8s.io/v1:APIService",
  k8sProvider: "pulumi:providers:kubernetes",
  projectService: "gcp:projects/service:Service",
  secret: "gcp:secretmanager/secret:Secret",
  secretVersion: "gcp:secretmanager/secretVersion:SecretVersion",
  secretIam: "gcp:secretmanager/secretIamMember:SecretIamMember",
  secretProviderClass: "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
} as const;

// Tests look into inputs freely; the shapes are the providers' argument types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Inputs = Record<string, any>;

/** A recorded resource whose inputs tests may index into. */
export type Recorded = RecordedResource & { inputs: Inputs };

export function ofType(evaluation: Evaluation, type: string): Recorded[] {
  return evaluation.resources.filter((resource) => resource.type === type) as Recorded[];
}

/** Every recorded resource, inputs indexable. */
export function all(evaluation: Evaluation): Recorded[] {
  return evaluation.resources as Recorded[];
}

/** The one resource of `type` whose input `key` is `value` (default key: `name`). */
export function one(evaluation: Evaluation, type: string, value: string, key = "name"): Inputs {
  const found = ofType(evaluation, type).filter((resource) => resource.inputs[key] === value);
  if (found.length !== 1)
    throw new Error(`expected one ${type} with ${key} = ${value}, found ${found.length}`);
  return found[0]!.inputs;
}

/** Kubernetes objects of `type` by metadata.name. */
export function k8sObject(evaluation: Evaluation, type: string, name: string): Inputs {
  const found = ofType(evaluation, type).filter(
    (resource) => (resource.inputs["metadata"] as Inputs | undefined)?.["name"] === name,
  );
  if (found.length !== 1)
    throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
  return found[0]!.inputs;
}

/** Every IAM grant (member, role, on what) the stack makes, across grant resource types. */
export function grants(
  evaluation: Evaluation,
  member: string,
): { type: string; role: string; on: string }[] {
  const on = (resource: RecordedResource): string => {
    const inputs = resource.inputs as Inputs;
    // A project-level role limited by a condition to one Firestore database is on that database.
    const database = databaseOfCondition(inputs["condition"]?.["expression"] as string | undefined);
    if (database !== undefined) return `database:${database}`;
    return String(
      inputs["topic"] ??
        inputs["subscription"] ??
        inputs["secretId"] ??
        inputs["name"] ??
        inputs["serviceAccountId"] ??
        inputs["repository"] ??
        inputs["project"],
    );
  };
  return evaluation.resources
    .filter(
      (resource) => resource.inputs["member"] === member && resource.inputs["role"] !== undefined,
    )
    .map((resource) => ({
      type: resource.type,
      role: String(resource.inputs["role"]),
      on: on(resource),
    }));
}

/** The plain env of a container list (Kubernetes `env` or Cloud Run `envs`) as a map; values from secrets are left out. */
export function envOf(container: Inputs): Record<string, string> {
  const list = (container["env"] ?? container["envs"] ?? []) as { name: string; value?: string }[];
  return Object.fromEntries(
    list.filter(({ value }) => value !== undefined).map(({ name, value }) => [name, value!]),
  );
}

/** The env of a Cloud Run container read from Secret Manager: name → { secret, version }. */
export function secretEnvOf(
  container: Inputs,
): Record<string, { secret: string; version: string }> {
  const list = (container["envs"] ?? []) as {
    name: string;
    valueSource?: { secretKeyRef: { secret: string; version: string } };
  }[];
  return Object.fromEntries(
    list.flatMap(({ name, valueSource }) =>
      valueSource === undefined ? [] : [[name, valueSource.secretKeyRef]],
    ),
  );
}
