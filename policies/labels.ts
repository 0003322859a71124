/**
 * Ownership labels: billing exports, dashboards and on-call routing group resources by `system`, `env` and
 * `owner`, so every resource that can carry labels carries them. Advisory: a missing label costs attribution,
 * not correctness.
 */
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes, known, settingsSchema, type RuleLevel } from "./rule";

/** GCP types the program may declare that take labels, and the input that holds them. */
const gcpLabelInputs: Record<string, string> = {
  "gcp:pubsub/topic:Topic": "labels",
  "gcp:pubsub/subscription:Subscription": "labels",
  "gcp:cloudrunv2/service:Service": "labels",
  "gcp:cloudrunv2/job:Job": "labels",
  "gcp:container/cluster:Cluster": "resourceLabels",
  "gcp:kms/cryptoKey:CryptoKey": "labels",
  "gcp:storage/bucket:Bucket": "labels",
  "gcp:artifactregistry/repository:Repository": "labels",
  "gcp:secretmanager/secret:Secret": "labels",
};

/** Kubernetes kinds generated from the API (not YAML/Helm/Kustomize wrappers, lists or patches) take metadata.labels. */
function isKubernetesObject(type: string): boolean {
  return (
    /^kubernetes:[^:]+\/v[^:]*:[A-Za-z]+$/.test(type) &&
    !/^kubernetes:(yaml|helm\.sh|kustomize)\//.test(type) &&
    !/(List|Patch)$/.test(type)
  );
}

/** A label map input, possibly JSON-encoded (providers receive object-valued settings as JSON strings). */
function labelMap(read: () => unknown): Record<string, unknown> {
  const value = known(read);
  if (typeof value === "string") return JSON.parse(value) as Record<string, unknown>;
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/** The labels a resource ends up with: its own, over its GCP provider's defaultLabels. */
function labelsOf(args: ResourceValidationArgs): Record<string, unknown> {
  const input = gcpLabelInputs[args.type];
  if (input === undefined) return { ...labelMap(() => args.props["metadata"]?.["labels"]) };
  return {
    ...labelMap(() => args.provider?.props["defaultLabels"]),
    ...labelMap(() => args.props[input]),
  };
}

export interface RequiredLabelsSettings {
  /** Label keys every labelable resource carries. Default system, env, owner. */
  required: string[];
}

export function requiredLabels(
  level: RuleLevel,
  defaults: RequiredLabelsSettings = { required: ["system", "env", "owner"] },
): ResourceValidationPolicy {
  return {
    name: "labels-required",
    description:
      "Every resource that takes labels carries system, env and owner, so cost, dashboards and alerts can be " +
      "attributed to Eventline, its stack and its owning team. Fix: set them on the resource (labels, " +
      "resourceLabels or metadata.labels), or as the GCP provider's defaultLabels.",
    enforcementLevel: level,
    configSchema: settingsSchema(defaults, {
      required: { type: "array", items: { type: "string" } },
    }),
    validateResource: forTypes<unknown>(
      (type) => type in gcpLabelInputs || isKubernetesObject(type),
      (_props, args, report) => {
        const labels = labelsOf(args);
        const missing = args
          .getConfig<RequiredLabelsSettings>()
          .required.filter((key) => !(key in labels));
        if (missing.length > 0)
          report(`missing label${missing.length === 1 ? "" : "s"} ${missing.join(", ")}.`);
      },
    ),
  };
}
