import type { ResourceValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import {
  cloudRunIngress,
  cloudRunMaxInstances,
  cloudRunNoPublicInvoker,
  cloudRunServiceAccount,
} from "../../policies/cloudrun";
import { patched, resourceViolations } from "./harness";
import { CLOUD_RUN, cloudRunService } from "./resources";

const IAM_MEMBER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember";

interface Case {
  rule: ResourceValidationPolicy;
  type: string;
  inputs: Record<string, unknown>;
  settings?: Record<string, unknown>;
  reports: string[];
}

const cases: Record<string, Case> = {
  "an invoker grant to the push service account passes": {
    rule: cloudRunNoPublicInvoker("mandatory"),
    type: IAM_MEMBER,
    inputs: {
      name: "sms-worker",
      role: "roles/run.invoker",
      member: "serviceAccount:push-sms-worker@p.iam.gserviceaccount.com",
    },
    reports: [],
  },
  "an invoker grant to allUsers fails": {
    rule: cloudRunNoPublicInvoker("mandatory"),
    type: IAM_MEMBER,
    inputs: { name: "sms-worker", role: "roles/run.invoker", member: "allUsers" },
    reports: [
      "roles/run.invoker is granted to allUsers on sms-worker, which the declaration does not make public.",
    ],
  },
  "a v1 invoker binding with allAuthenticatedUsers fails": {
    rule: cloudRunNoPublicInvoker("mandatory"),
    type: "gcp:cloudrun/iamBinding:IamBinding",
    inputs: {
      service: "sms-worker",
      role: "roles/run.invoker",
      members: ["allAuthenticatedUsers"],
    },
    reports: [
      "roles/run.invoker is granted to allAuthenticatedUsers on sms-worker, which the declaration does not make public.",
    ],
  },
  "an invoker grant to allUsers on the service the declaration makes public passes": {
    rule: cloudRunNoPublicInvoker("mandatory"),
    type: IAM_MEMBER,
    inputs: { name: "tracker", role: "roles/run.invoker", member: "allUsers" },
    reports: [],
  },
  "an invoker grant to allAuthenticatedUsers on the declared public service still fails": {
    rule: cloudRunNoPublicInvoker("mandatory"),
    type: IAM_MEMBER,
    inputs: { name: "tracker", role: "roles/run.invoker", member: "allAuthenticatedUsers" },
    reports: [
      "roles/run.invoker is granted to allAuthenticatedUsers on tracker, which the declaration does not make public.",
    ],
  },
  "an invoker grant to allUsers on a service a different declaration makes public fails": {
    rule: cloudRunNoPublicInvoker("mandatory", new Map([["orders-api", "partners post orders"]])),
    type: IAM_MEMBER,
    inputs: { name: "tracker", role: "roles/run.invoker", member: "allUsers" },
    reports: [
      "roles/run.invoker is granted to allUsers on tracker, which the declaration does not make public.",
    ],
  },
  "an invoker grant to allUsers on a service whose name is unknown in a preview fails": {
    rule: cloudRunNoPublicInvoker("mandatory"),
    type: IAM_MEMBER,
    inputs: {
      name: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
      role: "roles/run.invoker",
      member: "allUsers",
    },
    reports: [
      "roles/run.invoker is granted to allUsers on a service whose name is not known yet, which the declaration does not make public.",
    ],
  },
  "a service that checks its invokers passes": {
    rule: cloudRunNoPublicInvoker("mandatory"),
    type: CLOUD_RUN,
    inputs: cloudRunService,
    reports: [],
  },
  "a service with the invoker check disabled fails": {
    rule: cloudRunNoPublicInvoker("mandatory"),
    type: CLOUD_RUN,
    inputs: patched(cloudRunService, { invokerIamDisabled: true }),
    reports: ["invokerIamDisabled is true: anyone who can reach the URL may invoke it."],
  },
  "internal-only ingress passes": {
    rule: cloudRunIngress("mandatory"),
    type: CLOUD_RUN,
    inputs: cloudRunService,
    reports: [],
  },
  "ingress from everywhere fails": {
    rule: cloudRunIngress("mandatory"),
    type: CLOUD_RUN,
    inputs: patched(cloudRunService, { ingress: "INGRESS_TRAFFIC_ALL" }),
    reports: [
      "ingress is INGRESS_TRAFFIC_ALL on sms-worker, which the declaration does not make public; allowed: INGRESS_TRAFFIC_INTERNAL_ONLY, INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER.",
    ],
  },
  "ingress left out (Cloud Run's default: all) fails": {
    rule: cloudRunIngress("mandatory"),
    type: CLOUD_RUN,
    inputs: patched(cloudRunService, { ingress: undefined }),
    reports: [
      "ingress is INGRESS_TRAFFIC_ALL on sms-worker, which the declaration does not make public; allowed: INGRESS_TRAFFIC_INTERNAL_ONLY, INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER.",
    ],
  },
  "ingress from everywhere on the service the declaration makes public passes": {
    rule: cloudRunIngress("mandatory"),
    type: CLOUD_RUN,
    inputs: patched(cloudRunService, { name: "tracker", ingress: "INGRESS_TRAFFIC_ALL" }),
    reports: [],
  },
  "ingress from everywhere passes where the stack's config allows it": {
    rule: cloudRunIngress("mandatory"),
    type: CLOUD_RUN,
    settings: { allowedIngress: ["INGRESS_TRAFFIC_ALL"] },
    inputs: patched(cloudRunService, { ingress: "INGRESS_TRAFFIC_ALL" }),
    reports: [],
  },
  "a dedicated service account passes": {
    rule: cloudRunServiceAccount("mandatory"),
    type: CLOUD_RUN,
    inputs: cloudRunService,
    reports: [],
  },
  "a service account created in the same update (unknown in a preview) passes": {
    rule: cloudRunServiceAccount("mandatory"),
    type: CLOUD_RUN,
    inputs: patched(cloudRunService, {
      template: { serviceAccount: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" },
    }),
    reports: [],
  },
  "no service account (the Compute Engine default) fails": {
    rule: cloudRunServiceAccount("mandatory"),
    type: CLOUD_RUN,
    inputs: patched(cloudRunService, { template: { serviceAccount: undefined } }),
    reports: [
      "template.serviceAccount is not set: the service runs as the Compute Engine default service account.",
    ],
  },
  "the Compute Engine default service account fails": {
    rule: cloudRunServiceAccount("mandatory"),
    type: CLOUD_RUN,
    inputs: patched(cloudRunService, {
      template: { serviceAccount: "123456789-compute@developer.gserviceaccount.com" },
    }),
    reports: [
      "template.serviceAccount is the Compute Engine default service account 123456789-compute@developer.gserviceaccount.com.",
    ],
  },
  "a bounded instance count passes": {
    rule: cloudRunMaxInstances("mandatory"),
    type: CLOUD_RUN,
    inputs: cloudRunService,
    reports: [],
  },
  "an unbounded instance count fails": {
    rule: cloudRunMaxInstances("mandatory"),
    type: CLOUD_RUN,
    inputs: patched(cloudRunService, { template: { scaling: { maxInstanceCount: undefined } } }),
    reports: ["no maxInstanceCount is set (template.scaling or scaling): instances are unbounded."],
  },
  "an instance count above the stack's bound fails": {
    rule: cloudRunMaxInstances("mandatory"),
    type: CLOUD_RUN,
    settings: { maxInstances: 10 },
    inputs: cloudRunService,
    reports: ["maxInstanceCount is 20; this stack allows at most 10."],
  },
};

describe("Cloud Run rules", () => {
  it.each(Object.entries(cases))("%s", (_title, { rule, type, inputs, settings, reports }) => {
    expect(resourceViolations(rule, { type, inputs }, settings)).toEqual(reports);
  });
});
