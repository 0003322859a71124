/**
 * Each workload is its own principal: no two Cloud Run services or Kubernetes workloads run as the same service
 * account, so the grants the program gives one consumer (its topics, its subscription, its database, its secrets)
 * are that consumer's alone, and the access matrix (`eventline catalog --format access`) says what each workload
 * may do. A Kubernetes workload is two identities: its Kubernetes service account (`default` when it names none),
 * and the Google service account that account acts as through Workload Identity (its
 * `iam.gke.io/gcp-service-account` annotation); sharing either is sharing.
 *
 * During a preview the email of an account this stack creates, and a Kubernetes service account's name taken from
 * its resource, are unknown; the engine's record of which resource the input was computed from identifies the
 * account instead.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { CLOUD_RUN_SERVICE } from "./cloudrun";
import { podSpecOf, WORKLOAD_TYPES } from "./kubernetes-pods";
import { known, type RuleLevel } from "./rule";

const GOOGLE_ACCOUNT = "gcp:serviceaccount/account:Account";
const KUBERNETES_ACCOUNT = "kubernetes:core/v1:ServiceAccount";
/** The annotation that binds a Kubernetes service account to a Google one (Workload Identity). */
export const WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account";

function knownString(read: () => unknown): string | undefined {
  const value = known(read);
  return typeof value === "string" ? value : undefined;
}

/** The resource of `type` an unknown input was computed from, by the engine's record, as an identity key. */
function computedFrom(
  resource: PolicyResource,
  property: string,
  type: string,
): string | undefined {
  const source = resource.propertyDependencies[property]?.find((r) => r.type === type);
  return source === undefined ? undefined : `resource ${source.urn}`;
}

/** The Kubernetes service account resource of this stack named `name` in `namespace`, if declared here. */
function kubernetesAccount(
  resources: PolicyResource[],
  namespace: string,
  name: string,
): PolicyResource | undefined {
  return resources.find(
    (r) =>
      r.type === KUBERNETES_ACCOUNT &&
      knownString(() => r.props["metadata"]?.["name"]) === name &&
      (knownString(() => r.props["metadata"]?.["namespace"]) ?? "default") === namespace,
  );
}

/** A Google service account as an identity key: by email when known, else by the account resource it comes from. */
function googleIdentity(email: string | undefined, fallback: string | undefined): string[] {
  if (email !== undefined) return [`Google service account ${email}`];
  return fallback === undefined ? [] : [`Google service account from ${fallback}`];
}

/** The identities a workload runs as. */
function identitiesOf(workload: PolicyResource, resources: PolicyResource[]): string[] {
  if (workload.type === CLOUD_RUN_SERVICE) {
    const email = knownString(() => workload.props["template"]?.["serviceAccount"]);
    return googleIdentity(email, computedFrom(workload, "template", GOOGLE_ACCOUNT));
  }
  const pod = podSpecOf(workload.type, workload.props);
  if (pod === undefined) return [];
  const namespace = knownString(() => workload.props["metadata"]?.["namespace"]) ?? "default";
  // known() reads an unknown value as undefined: whether the key is there tells "unknown" from "not set".
  const named = "serviceAccountName" in pod;
  const declaredName = known(() => pod.serviceAccountName);
  let account: PolicyResource | undefined;
  let kubernetes: string | undefined;
  if (!named || typeof declaredName === "string" || declaredName === null) {
    const name = typeof declaredName === "string" ? declaredName : "default";
    kubernetes = `Kubernetes service account ${namespace}/${name}`;
    account = kubernetesAccount(resources, namespace, name);
  } else {
    // Unknown: the name is another resource's output, the account the engine says it came from.
    account = workload.propertyDependencies["spec"]?.find((r) => r.type === KUBERNETES_ACCOUNT);
    if (account !== undefined) {
      const name = knownString(() => account!.props["metadata"]?.["name"]);
      kubernetes =
        name === undefined
          ? `Kubernetes service account from resource ${account.urn}`
          : `Kubernetes service account ${namespace}/${name}`;
    }
  }
  const google =
    account === undefined
      ? []
      : googleIdentity(
          knownString(
            () => account!.props["metadata"]?.["annotations"]?.[WORKLOAD_IDENTITY_ANNOTATION],
          ),
          computedFrom(account, "metadata", GOOGLE_ACCOUNT),
        );
  return [...(kubernetes === undefined ? [] : [kubernetes]), ...google];
}

export function workloadsOwnServiceAccount(level: RuleLevel): StackValidationPolicy {
  return {
    name: "workloads-own-service-account",
    description:
      "No two workloads (Cloud Run services, Kubernetes Deployments and other pod templates) run as the same " +
      "service account, Google or Kubernetes (a pod that names none runs as its namespace's `default`), so each " +
      "consumer's grants are its own. Fix: give each workload a service account of its own (template." +
      "serviceAccount on Cloud Run; serviceAccountName and a Kubernetes service account annotated " +
      `${WORKLOAD_IDENTITY_ANNOTATION} with its own Google account on GKE).`,
    enforcementLevel: level,
    validateStack: (args, report) => {
      const workloads = args.resources.filter(
        (r) => r.type === CLOUD_RUN_SERVICE || WORKLOAD_TYPES.includes(r.type),
      );
      const users = new Map<string, PolicyResource[]>();
      for (const workload of workloads)
        for (const identity of identitiesOf(workload, args.resources))
          users.set(identity, [...(users.get(identity) ?? []), workload]);
      for (const [identity, sharing] of users) {
        if (sharing.length < 2) continue;
        const names = sharing.map((w) => w.name).join(", ");
        for (const workload of sharing)
          report(`runs as ${identity}, which ${names} share.`, workload.urn);
      }
    },
  };
}
