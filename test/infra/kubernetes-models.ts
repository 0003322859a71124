/**
 * Validation of generated Kubernetes objects against the Kubernetes OpenAPI schemas, through
 * the models kubernetes-models generates from them (not hand-written checks).
 */
import { createRequire } from "node:module";
import Ajv from "ajv";
import { APIService } from "kubernetes-models/apiregistration.k8s.io/v1/APIService";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";

/** Each Kubernetes kind the program creates, by Pulumi type token, and its schema model. */
const models: Record<string, new (data: never) => { validate(): void }> = {
  "kubernetes:apps/v1:Deployment": Deployment,
  "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "kubernetes:policy/v1:PodDisruptionBudget": PodDisruptionBudget,
  "kubernetes:core/v1:Namespace": Namespace,
  "kubernetes:core/v1:ServiceAccount": ServiceAccount,
  "kubernetes:core/v1:Service": Service,
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": ClusterRole,
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": ClusterRoleBinding,
  "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": RoleBinding,
  "kubernetes:apiregistration.k8s.io/v1:APIService": APIService,
};

/**
 * The GKE Secret Manager add-on's SecretProviderClass (a custom resource kubernetes-models has
 * no class for): the CRD's schema (spec.provider, spec.parameters as strings), and the `gke`
 * provider's `secrets` parameter, a YAML list of pinned versions and the files they become.
 */
const secretProviderClass = new Ajv({ allErrors: true }).compile({
  type: "object",
  required: ["apiVersion", "kind", "metadata", "spec"],
  properties: {
    apiVersion: { const: "secrets-store.csi.x-k8s.io/v1" },
    kind: { const: "SecretProviderClass" },
    metadata: {
      type: "object",
      required: ["name", "namespace"],
      properties: {
        name: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 253 },
      },
    },
    spec: {
      type: "object",
      required: ["provider", "parameters"],
      additionalProperties: false,
      properties: {
        provider: { const: "gke" },
        parameters: {
          type: "object",
          required: ["secrets"],
          additionalProperties: { type: "string" },
        },
      },
    },
  },
});
const providerSecrets = new Ajv({ allErrors: true }).compile({
  type: "array",
  minItems: 1,
  items: {
    type: "object",
    required: ["resourceName", "path"],
    additionalProperties: false,
    properties: {
      resourceName: { type: "string", pattern: "^projects/[^/]+/secrets/[^/]+/versions/[^/]+$" },
      path: { type: "string", pattern: "^[a-z0-9][a-z0-9.-]*$" },
    },
  },
});
const yaml = createRequire(__filename)("js-yaml") as { load(text: string): unknown };

function validateSecretProviderClass(inputs: Record<string, unknown>): void {
  if (!secretProviderClass(inputs))
    throw new Error(`SecretProviderClass: ${JSON.stringify(secretProviderClass.errors)}`);
  const secrets = yaml.load(
    (inputs["spec"] as { parameters: { secrets: string } }).parameters.secrets,
  );
  if (!providerSecrets(secrets))
    throw new Error(
      `SecretProviderClass spec.parameters.secrets: ${JSON.stringify(providerSecrets.errors)}`,
    );
}

/**
 * Throws when `inputs` (a recorded resource of Pulumi type `type`) is not a valid object of
 * its kind, or when the kind has no model here yet (so a new kind cannot skip validation).
 */
export function validateKubernetesObject(type: string, inputs: Record<string, unknown>): void {
  if (type === "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass")
    return validateSecretProviderClass(inputs);
  const Model = models[type];
  if (Model === undefined)
    throw new Error(
      `no kubernetes-models class for ${type}: add it to test/infra/kubernetes-models.ts`,
    );
  new Model(structuredClone(inputs) as never).validate();
}
