/**
 * GKE workload rules for the pull workers: every container is sized (the HPA and the scheduler need requests,
 * the node needs limits), runs unprivileged on a read-only filesystem, and tells Kubernetes when it is alive and
 * ready; workloads live in the system's namespace, not `default`. Images are checked with Cloud Run's, in
 * images.ts.
 */
import type {
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import {
  containersOf,
  podSpecOf,
  RUN_TO_COMPLETION_TYPES,
  WORKLOAD_TYPES,
  type PlacedContainer,
  type PodSpec,
} from "./kubernetes-pods";
import { forTypes, known, mirrors, type RuleLevel } from "./rule";

type ContainerCheck = (
  placed: PlacedContainer,
  pod: PodSpec,
  args: ResourceValidationArgs,
) => string | undefined;

/** A rule that checks each container of each workload; `check` returns what is wrong, or undefined. */
function containerRule(
  level: RuleLevel,
  name: string,
  description: string,
  check: ContainerCheck,
): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: level,
    validateResource: forTypes<Record<string, unknown>>(
      WORKLOAD_TYPES,
      (props, args, report: ReportViolation) => {
        const pod = podSpecOf(args.type, props);
        if (pod === undefined) return;
        for (const placed of containersOf(pod)) {
          const problem = check(placed, pod, args);
          if (problem !== undefined) report(`${placed.label} ${problem}.`);
        }
      },
    ),
  };
}

export function containerResources(level: RuleLevel): ResourceValidationPolicy {
  return containerRule(
    level,
    "k8s-container-resources",
    "Every container sets CPU and memory requests and limits: requests drive scheduling and the HPA's " +
      "utilisation, limits stop one worker starving its node. Fix: set resources.requests and resources.limits " +
      "(the consumer's gke.resources in infra/system.ts)." +
      mirrors(
        "Checkov CKV_K8S_10, CKV_K8S_11, CKV_K8S_12, CKV_K8S_13",
        "Trivy KSV011, KSV015, KSV016, KSV018",
      ),
    ({ container }) => {
      const missing = (["requests", "limits"] as const).flatMap((kind) =>
        (["cpu", "memory"] as const)
          .filter((key) => !(key in (container.resources?.[kind] ?? {})))
          .map((key) => `${kind}.${key}`),
      );
      return missing.length > 0 ? `has no ${missing.join(", ")}` : undefined;
    },
  );
}

export function runAsNonRoot(level: RuleLevel): ResourceValidationPolicy {
  return containerRule(
    level,
    "k8s-run-as-non-root",
    "Containers run as a non-root user, so an escape from the process does not start as root. Fix: set " +
      "securityContext.runAsNonRoot: true on the pod or the container (and a numeric USER in the image)." +
      mirrors("Checkov CKV_K8S_23", "Trivy KSV012"),
    ({ container }, pod) => {
      // The container's setting overrides the pod's.
      const value = container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
      return value === true
        ? undefined
        : "does not set runAsNonRoot: true (pod or container securityContext)";
    },
  );
}

export function readOnlyRootFilesystem(level: RuleLevel): ResourceValidationPolicy {
  return containerRule(
    level,
    "k8s-read-only-root-filesystem",
    "Containers have a read-only root filesystem, so an intruder cannot drop binaries or alter the handler. " +
      "Fix: set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process must write." +
      mirrors("Checkov CKV_K8S_22", "Trivy KSV014"),
    ({ container }) =>
      container.securityContext?.readOnlyRootFilesystem === true
        ? undefined
        : "does not set readOnlyRootFilesystem: true",
  );
}

export function noPrivilegeEscalation(level: RuleLevel): ResourceValidationPolicy {
  return containerRule(
    level,
    "k8s-no-privilege-escalation",
    "Containers cannot gain privileges (setuid binaries, ptrace): Kubernetes allows it unless told otherwise. " +
      "Fix: set securityContext.allowPrivilegeEscalation: false." +
      mirrors("Checkov CKV_K8S_20", "Trivy KSV001"),
    ({ container }) =>
      container.securityContext?.allowPrivilegeEscalation === false
        ? undefined
        : "does not set allowPrivilegeEscalation: false",
  );
}

export function dropCapabilities(level: RuleLevel): ResourceValidationPolicy {
  return containerRule(
    level,
    "k8s-drop-capabilities",
    "Containers drop all Linux capabilities; a Pub/Sub worker needs none of the runtime's defaults (NET_RAW, " +
      'CHOWN, ...). Fix: set securityContext.capabilities.drop: ["ALL"] and add back only what is needed.' +
      mirrors("Checkov CKV_K8S_37", "Trivy KSV003"),
    ({ container }) =>
      (container.securityContext?.capabilities?.drop ?? []).includes("ALL")
        ? undefined
        : 'does not drop capabilities ["ALL"]',
  );
}

export function probes(level: RuleLevel): ResourceValidationPolicy {
  return containerRule(
    level,
    "k8s-probes",
    "Long-running containers declare liveness and readiness probes, so Kubernetes restarts a wedged subscriber " +
      "and rollouts wait for a ready one. Fix: set livenessProbe and readinessProbe (the pull host's health " +
      "endpoint). Init containers and Jobs are exempt." +
      mirrors("Checkov CKV_K8S_8, CKV_K8S_9"),
    ({ container, init }, _pod, args) => {
      if (init || RUN_TO_COMPLETION_TYPES.includes(args.type)) return undefined;
      const missing = (["livenessProbe", "readinessProbe"] as const).filter(
        (probe) => !(probe in container),
      );
      return missing.length > 0 ? `has no ${missing.join(" or ")}` : undefined;
    },
  );
}

/** Namespaced kinds the program may declare: workloads and what they come with. */
const NAMESPACED_TYPES = [
  ...WORKLOAD_TYPES,
  "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
  "kubernetes:core/v1:Service",
  "kubernetes:core/v1:ServiceAccount",
  "kubernetes:core/v1:ConfigMap",
  "kubernetes:core/v1:Secret",
  "kubernetes:rbac.authorization.k8s.io/v1:Role",
  "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  "kubernetes:policy/v1:PodDisruptionBudget",
  "kubernetes:networking.k8s.io/v1:NetworkPolicy",
];

export function notDefaultNamespace(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "k8s-not-default-namespace",
    description:
      "Kubernetes objects live in the system's own namespace, not `default`, so quotas, network policies and " +
      "RBAC can be scoped to Eventline. Fix: set metadata.namespace to the namespace the program creates; left " +
      "out, objects land in the provider's namespace, `default` unless configured." +
      mirrors("Checkov CKV_K8S_21"),
    enforcementLevel: level,
    validateResource: forTypes<{ metadata?: { namespace?: string } }>(
      NAMESPACED_TYPES,
      (props, _args, report) => {
        if (props.metadata === undefined || !("namespace" in props.metadata)) {
          report("metadata.namespace is not set.");
          return;
        }
        // Unknown during a preview means the name of a Namespace this stack creates.
        if (known(() => props.metadata?.namespace) === "default")
          report('metadata.namespace is "default".');
      },
    ),
  };
}
