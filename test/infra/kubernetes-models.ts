/**
 * Validation of generated Kubernetes objects against the Kubernetes OpenAPI schemas, through
 * the models kubernetes-models generates from them (not hand-written checks).
 */
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
 * Throws when `inputs` (a recorded resource of Pulumi type `type`) is not a valid object of
 * its kind, or when the kind has no model here yet (so a new kind cannot skip validation).
 */
export function validateKubernetesObject(type: string, inputs: Record<string, unknown>): void {
  const Model = models[type];
  if (Model === undefined) throw new Error(`no kubernetes-models class for ${type}: add it to test/infra/kubernetes-models.ts`);
  new Model(structuredClone(inputs) as never).validate();
}
