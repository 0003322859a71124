/**
 * Cloud Run rules: only Pub/Sub (with its OIDC token) or the configured members may invoke a service, it is
 * reachable only the way the stack allows, it runs as its own least-privilege identity, and it cannot scale without
 * bound (each instance holds Firestore and downstream connections). The one exception to the first two is a service
 * the declaration makes public with a reason (the tracker): it may take traffic from anyone, and no other may.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import type { ServiceArgs } from "@pulumi/gcp/cloudrunv2";
import type { Unwrap } from "@pulumi/pulumi";
import { declaredPublicServices, type PublicServices } from "./declared";
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

/** The Cloud Run service an IAM resource grants on (v2 `name`, v1 `service`), when known. */
function grantedService(props: { name?: string; service?: string }): string | undefined {
  return known(() => props.name ?? props.service);
}

export function cloudRunNoPublicInvoker(
  level: RuleLevel,
  publicServices: PublicServices = declaredPublicServices(),
): ResourceValidationPolicy {
  return {
    name: "cloudrun-no-public-invoker",
    description:
      "No Cloud Run service can be invoked by allUsers or allAuthenticatedUsers, nor has its invoker IAM check " +
      "disabled, unless the declaration makes it public with a reason (services.<name>.public in infra/system.ts), " +
      "and then only allUsers may be granted: a push handler trusts its caller to be Pub/Sub. Fix: grant " +
      "roles/run.invoker only to the push subscription's OIDC service account or the configured members, leave " +
      "invokerIamDisabled unset, or declare the service public with its reason." +
      mirrors(
        "Checkov CKV_GCP_102",
        "KICS 07a27a3b-46e9-4172-bc68-25e3277d7998 (Cloud Run Service Allows Unauthenticated Access)",
      ),
    enforcementLevel: level,
    validateResource: [
      forTypes<Parameters<typeof grantsOf>[1] & { name?: string; service?: string }>(
        CLOUD_RUN_IAM_TYPES,
        (props, args, report) => {
          const service = grantedService(props);
          const declared = service !== undefined && publicServices.has(service);
          for (const grant of grantsOf(args.type, props)) {
            if (!PUBLIC_PRINCIPALS.has(grant.member) || (declared && grant.member === "allUsers"))
              continue;
            report(
              `${grant.role} is granted to ${grant.member} on ${service ?? "a service whose name is not known yet"}, which the declaration does not make public.`,
            );
          }
        },
      ),
      forTypes<Service>([CLOUD_RUN_SERVICE], (service, _args, report) => {
        if (service.invokerIamDisabled === true)
          report("invokerIamDisabled is true: anyone who can reach the URL may invoke it.");
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
  defaults: CloudRunIngressSettings = {
    allowedIngress: ["INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"],
  },
  publicServices: PublicServices = declaredPublicServices(),
): ResourceValidationPolicy {
  return {
    name: "cloudrun-ingress",
    description:
      "A service does not accept traffic from the internet unless the declaration makes it public with a reason " +
      "(services.<name>.public in infra/system.ts): Pub/Sub push from the same project counts as internal traffic. " +
      "Fix: set ingress to INGRESS_TRAFFIC_INTERNAL_ONLY (or a value the stack's policy config lists in " +
      "allowedIngress), or declare the service public; left out, Cloud Run uses INGRESS_TRAFFIC_ALL." +
      mirrors("Checkov CKV_GCP_124 (the same check for Cloud Functions' ingress)"),
    enforcementLevel: level,
    configSchema: settingsSchema(defaults, {
      allowedIngress: { type: "array", items: { type: "string" } },
    }),
    validateResource: forTypes<Service>([CLOUD_RUN_SERVICE], (service, args, report) => {
      const ingress = service.ingress ?? "INGRESS_TRAFFIC_ALL";
      const name = known(() => service.name);
      if (name !== undefined && publicServices.has(name)) return;
      const { allowedIngress } = args.getConfig<CloudRunIngressSettings>();
      if (!allowedIngress.includes(ingress))
        report(
          `ingress is ${ingress} on ${name ?? "a service"}, which the declaration does not make public; allowed: ${allowedIngress.join(", ")}.`,
        );
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
        report(
          "template.serviceAccount is not set: the service runs as the Compute Engine default service account.",
        );
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

export function cloudRunMaxInstances(
  level: RuleLevel,
  defaults: CloudRunMaxInstancesSettings = { maxInstances: 100 },
): ResourceValidationPolicy {
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
      const declared =
        service.template?.scaling?.maxInstanceCount ?? service.scaling?.maxInstanceCount;
      if (declared === undefined)
        report(
          "no maxInstanceCount is set (template.scaling or scaling): instances are unbounded.",
        );
      else if (declared > maxInstances)
        report(`maxInstanceCount is ${declared}; this stack allows at most ${maxInstances}.`);
    }),
  };
}
