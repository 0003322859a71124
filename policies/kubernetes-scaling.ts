/**
 * Autoscaling of the GKE pull workers: each worker Deployment scales with its backlog through an HPA, and no HPA
 * may scale past what the stack allows (each replica opens streaming pulls and Firestore connections).
 */
import type {
  PolicyResource,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import type * as k8s from "@pulumi/kubernetes";
import type { Unwrap } from "@pulumi/pulumi";
import { isPullWorker } from "./conventions";
import { DEPLOYMENT } from "./kubernetes-pods";
import { forTypes, known, settingsSchema, type RuleLevel } from "./rule";

const HPA_TYPES = [
  "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
] as const;
type Hpa = Unwrap<k8s.autoscaling.v2.HorizontalPodAutoscalerArgs>;

export interface HpaMaxReplicasSettings {
  /** The highest maxReplicas an HPA may declare. Default 50. */
  maxReplicas: number;
}

export function hpaMaxReplicas(
  level: RuleLevel,
  defaults: HpaMaxReplicasSettings = { maxReplicas: 50 },
): ResourceValidationPolicy {
  return {
    name: "k8s-hpa-max-replicas",
    description:
      "An HPA's maxReplicas is bounded by the stack's policy config, so a backlog cannot scale a worker past the " +
      "cluster, Firestore and the budget. Fix: lower the consumer's gke.replicas.max (infra/system.ts), or raise " +
      "maxReplicas in policies/config/<stack>.json after checking capacity.",
    enforcementLevel: level,
    configSchema: settingsSchema(defaults, { maxReplicas: { type: "integer", minimum: 1 } }),
    validateResource: forTypes<Hpa>(HPA_TYPES, (hpa, args, report) => {
      const { maxReplicas } = args.getConfig<HpaMaxReplicasSettings>();
      const declared = hpa.spec?.maxReplicas;
      if (declared === undefined) report("spec.maxReplicas is not set.");
      else if (declared > maxReplicas)
        report(`spec.maxReplicas is ${declared}; this stack allows at most ${maxReplicas}.`);
    }),
  };
}

/** A string input that may be absent or unknown during a preview. */
function knownString(read: () => unknown): string | undefined {
  const value = known(read);
  return typeof value === "string" ? value : undefined;
}

/** True when `hpa` scales `deployment`: by its scaleTargetRef, or by what the ref was computed from in a preview. */
function scales(hpa: PolicyResource, deployment: PolicyResource): boolean {
  const kind = knownString(() => hpa.props["spec"]?.["scaleTargetRef"]?.["kind"]);
  const target = knownString(() => hpa.props["spec"]?.["scaleTargetRef"]?.["name"]);
  const name = knownString(() => deployment.props["metadata"]?.["name"]) ?? deployment.name;
  const hpaNamespace = knownString(() => hpa.props["metadata"]?.["namespace"]);
  const namespace = knownString(() => deployment.props["metadata"]?.["namespace"]);
  if (hpaNamespace !== undefined && namespace !== undefined && hpaNamespace !== namespace)
    return false;
  if (target !== undefined) return kind === "Deployment" && target === name;
  return (hpa.propertyDependencies["spec"] ?? []).includes(deployment);
}

export function deploymentHasHpa(level: RuleLevel): StackValidationPolicy {
  return {
    name: "k8s-deployment-has-hpa",
    description:
      "Every pull-worker Deployment (labelled app.kubernetes.io/component: pull-worker or archiver) has an HPA " +
      "that scales it on its subscription's backlog; a fixed replica count either wastes nodes or falls behind. " +
      "Fix: declare a HorizontalPodAutoscaler whose scaleTargetRef is { kind: Deployment, name: <the " +
      "Deployment's metadata.name> } in the same namespace.",
    enforcementLevel: level,
    validateStack: (args, report) => {
      const hpas = args.resources.filter((r) => (HPA_TYPES as readonly string[]).includes(r.type));
      const pullWorkers = args.resources.filter(
        (r) => r.type === DEPLOYMENT && isPullWorker(known(() => r.props["metadata"])),
      );
      for (const deployment of pullWorkers) {
        if (!hpas.some((hpa) => scales(hpa, deployment)))
          report(`Deployment ${deployment.name} has no HorizontalPodAutoscaler.`, deployment.urn);
      }
    },
  };
}
