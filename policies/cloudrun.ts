/**
 * Cloud Run rules for the push handlers: only Pub/Sub (with its OIDC token) may invoke them, they are reachable
 * only the way the stack allows, they run as their own least-privilege identity, and they cannot scale without
 * bound (each instance holds Firestore and downstream connections).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import type { ServiceArgs } from "@pulumi/gcp/cloudrunv2";
import type { Unwrap } from "@pulumi/pulumi";
import { grantsOf, PUBLIC_PRINCIPALS } from "./iam";
import { forTypes, known, mirrors, settingsSchema, type RuleLevel } from "./rule";

export const CLOUD_RUN_SERVICE = "gcp:cloudrunv2/service:Service";
type Service = Unwrap<ServiceArgs>;

/** Every resource type that grants IAM on a Cloud Run service, in both API versions. */
export const CLOUD_RUN_IAM_TYPES = [
  "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
  "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
  "gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy",
  "gcp:cloudrun/iamMember:IamMember",
  "gcp:cloudrun/iamBinding:IamBinding",
  "gcp:cloudrun/iamPolicy:IamPolicy",
] as const;

export function cloudRunNoPublicInvoker(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "cloudrun-no-public-invoker",
    description:
      "No Cloud Run service can be invoked by allUsers or allAuthenticatedUsers, nor has its invoker IAM check " +
      "disabled: a push handler trusts its caller to be Pub/Sub. Fix: grant roles/run.invoker only to the push " +
      "subscription's OIDC service account, and leave invokerIamDisabled unset." +
      mirrors("Checkov CKV_GCP_102", "KICS 07a27a3b-46e9-4172-bc68-25e3277d7998 (Cloud Run Service Allows Unauthenticated Access)"),
    enforcementLevel: level,
    validateResource: [
      forTypes<Parameters<typeof grantsOf>[1]>(CLOUD_RUN_IAM_TYPES, (props, args, report) => {
        for (const grant of grantsOf(args.type, props)) {
          if (PUBLIC_PRINCIPALS.has(grant.member)) report(`${grant.role} is granted to ${grant.member}.`);
        }
      }),
      forTypes<Service>([CLOUD_RUN_SERVICE], (service, _args, report) => {
        if (service.invokerIamDisabled === true) report("invokerIamDisabled is true: anyone who can reach the URL may invoke it.");
      }),
    ],
  };
}

export interface CloudRunIngressSettings {
  /** Ingress settings a service may use. Default: internal traffic and internal load balancers only. */
  allowedIngress: string[];
}

export function cloudRunIngress(
  level: RuleLevel,
  defaults: CloudRunIngressSettings = { allowedIngress: ["INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"] },
): ResourceValidationPolicy {
  return {
    name: "cloudrun-ingress",
    description:
      "A push handler does not accept traffic from the internet: Pub/Sub push from the same project counts as " +
      "internal traffic. Fix: set ingress to INGRESS_TRAFFIC_INTERNAL_ONLY (or a value the stack's policy config " +
      "lists in allowedIngress); left out, Cloud Run uses INGRESS_TRAFFIC_ALL." +
      mirrors("Checkov CKV_GCP_124 (the same check for Cloud Functions' ingress)"),
    enforcementLevel: level,
    configSchema: settingsSchema(defaults, { allowedIngress: { type: "array", items: { type: "string" } } }),
    validateResource: forTypes<Service>([CLOUD_RUN_SERVICE], (service, args, report) => {
      const ingress = service.ingress ?? "INGRESS_TRAFFIC_ALL";
      const { allowedIngress } = args.getConfig<CloudRunIngressSettings>();
      if (!allowedIngress.includes(ingress)) report(`ingress is ${ingress}; allowed: ${allowedIngress.join(", ")}.`);
    }),
  };
}

/** The Compute Engine default service account, which Cloud Run uses when a service names none. */
const defaultComputeAccount = /^\d+-compute@developer\.gserviceaccount\.com$/;

export function cloudRunServiceAccount(level: RuleLevel): ResourceValidationPolicy {
  return {
    name: "cloudrun-dedicated-service-account",
    description:
      "A Cloud Run service runs as its own service account, never the Compute Engine default one " +
      "(<project number>-compute@developer.gserviceaccount.com, which has Editor on the project and is what Cloud " +
      "Run uses when none is set). Fix: create a service account per service and set template.serviceAccount." +
      mirrors("Checkov CKV_GCP_30 (the same check for Compute instances)"),
    enforcementLevel: level,
    validateResource: forTypes<Service>([CLOUD_RUN_SERVICE], (service, _args, report) => {
      if (service.template === undefined || !("serviceAccount" in service.template)) {
        report("template.serviceAccount is not set: the service runs as the Compute Engine default service account.");
        return;
      }
      // Unknown during a preview means the email of a service account this stack creates: a dedicated one.
      const account = known(() => service.template.serviceAccount);
      if (account !== undefined && defaultComputeAccount.test(account)) {
        report(`template.serviceAccount is the Compute Engine default service account ${account}.`);
      }
    }),
  };
}

export interface CloudRunMaxInstancesSettings {
  /** The highest maxInstanceCount a service may declare. Default 100. */
  maxInstances: number;
}

export function cloudRunMaxInstances(level: RuleLevel, defaults: CloudRunMaxInstancesSettings = { maxInstances: 100 }): ResourceValidationPolicy {
  return {
    name: "cloudrun-max-instances",
    description:
      "A Cloud Run service's instance count is bounded, so a backlog or a retry storm cannot scale it past what " +
      "Firestore, downstream APIs and the budget can take. Fix: set template.scaling.maxInstanceCount (the " +
      "consumer's cloudRun.maxInstances) at or below the stack's policy config maxInstances.",
    enforcementLevel: level,
    configSchema: settingsSchema(defaults, { maxInstances: { type: "integer", minimum: 1 } }),
    validateResource: forTypes<Service>([CLOUD_RUN_SERVICE], (service, args, report) => {
      const { maxInstances } = args.getConfig<CloudRunMaxInstancesSettings>();
      // Service-level scaling bounds every revision; the template's bounds its own.
      const declared = service.template?.scaling?.maxInstanceCount ?? service.scaling?.maxInstanceCount;
      if (declared === undefined) report("no maxInstanceCount is set (template.scaling or scaling): instances are unbounded.");
      else if (declared > maxInstances) report(`maxInstanceCount is ${declared}; this stack allows at most ${maxInstances}.`);
    }),
  };
}
