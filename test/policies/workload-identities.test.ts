import { describe, expect, it } from "vitest";
import { workloadsOwnServiceAccount } from "../../policies/workload-identities";
import { patched, stackViolations, type TestResource } from "./harness";
import { CLOUD_RUN, cloudRunService, DEPLOYMENT, deployment } from "./resources";

const KSA = "kubernetes:core/v1:ServiceAccount";
const ACCOUNT = "gcp:serviceaccount/account:Account";
const unknownString = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const rule = workloadsOwnServiceAccount("mandatory");

function service(name: string, serviceAccount: string): TestResource {
  return {
    type: CLOUD_RUN,
    name,
    inputs: patched(cloudRunService, { name, template: { serviceAccount } }),
  };
}

function worker(name: string, serviceAccountName?: string): TestResource {
  return {
    type: DEPLOYMENT,
    name,
    inputs: patched(deployment, {
      metadata: { name },
      spec: { template: { spec: { serviceAccountName } } },
    }),
  };
}

function kubernetesAccount(name: string, google: string): TestResource {
  return {
    type: KSA,
    name: `${name}-ksa`,
    inputs: {
      metadata: {
        name,
        namespace: "eventline",
        annotations: { "iam.gke.io/gcp-service-account": google },
      },
    },
  };
}

describe("workloads-own-service-account", () => {
  it("passes services and workers that each run as their own accounts", () => {
    expect(
      stackViolations(rule, [
        service("sms-worker", "run-sms-worker@p.iam.gserviceaccount.com"),
        service("router", "run-router@p.iam.gserviceaccount.com"),
        worker("email-worker", "email-worker"),
        kubernetesAccount("email-worker", "wrk-email-worker@p.iam.gserviceaccount.com"),
        worker("classifier", "classifier"),
        kubernetesAccount("classifier", "wrk-classifier@p.iam.gserviceaccount.com"),
      ]),
    ).toEqual([]);
  });

  it("fails two Cloud Run services running as one account, naming both on each", () => {
    const shared = "run-shared@p.iam.gserviceaccount.com";
    expect(
      stackViolations(rule, [service("sms-worker", shared), service("router", shared)]),
    ).toEqual([
      `sms-worker: runs as Google service account ${shared}, which sms-worker, router share.`,
      `router: runs as Google service account ${shared}, which sms-worker, router share.`,
    ]);
  });

  it("fails two Deployments on one Kubernetes service account, and two that name none (the namespace's default)", () => {
    expect(
      stackViolations(rule, [worker("email-worker", "workers"), worker("classifier", "workers")]),
    ).toEqual([
      "email-worker: runs as Kubernetes service account eventline/workers, which email-worker, classifier share.",
      "classifier: runs as Kubernetes service account eventline/workers, which email-worker, classifier share.",
    ]);
    expect(stackViolations(rule, [worker("email-worker"), worker("classifier")])).toEqual([
      "email-worker: runs as Kubernetes service account eventline/default, which email-worker, classifier share.",
      "classifier: runs as Kubernetes service account eventline/default, which email-worker, classifier share.",
    ]);
  });

  it("fails two Kubernetes service accounts acting as one Google account, and a worker acting as a Cloud Run service's account", () => {
    const google = "wrk-shared@p.iam.gserviceaccount.com";
    expect(
      stackViolations(rule, [
        worker("email-worker", "email-worker"),
        kubernetesAccount("email-worker", google),
        worker("classifier", "classifier"),
        kubernetesAccount("classifier", google),
        service("router", google),
      ]),
    ).toEqual([
      `email-worker: runs as Google service account ${google}, which email-worker, classifier, router share.`,
      `classifier: runs as Google service account ${google}, which email-worker, classifier, router share.`,
      `router: runs as Google service account ${google}, which email-worker, classifier, router share.`,
    ]);
  });

  it("tells accounts apart by the resources they come from when their names are unknown in a preview", () => {
    const resources: TestResource[] = [
      { type: ACCOUNT, name: "run-a", inputs: { accountId: "run-a" } },
      { type: ACCOUNT, name: "run-b", inputs: { accountId: "run-b" } },
      service("a", unknownString),
      service("b", unknownString),
      service("c", unknownString),
    ];
    expect(
      stackViolations(rule, resources, {
        dependencies: {
          a: { template: ["run-a"] },
          b: { template: ["run-b"] },
          c: { template: ["run-b"] },
        },
      }),
    ).toEqual([
      "b: runs as Google service account from resource urn:pulumi:test::eventline::gcp:serviceaccount/account:Account::run-b, which b, c share.",
      "c: runs as Google service account from resource urn:pulumi:test::eventline::gcp:serviceaccount/account:Account::run-b, which b, c share.",
    ]);
  });

  it("follows a worker's Kubernetes service account, named by another resource's output, to the resource it comes from", () => {
    const ksa = (name: string): TestResource => ({
      type: KSA,
      name,
      inputs: { metadata: { name: unknownString, namespace: "eventline" } },
    });
    const resources = [
      worker("email-worker", unknownString),
      worker("classifier", unknownString),
      ksa("email-worker-ksa"),
      ksa("classifier-ksa"),
    ];
    expect(
      stackViolations(rule, resources, {
        dependencies: {
          "email-worker": { spec: ["email-worker-ksa"] },
          classifier: { spec: ["classifier-ksa"] },
        },
      }),
    ).toEqual([]);
    expect(
      stackViolations(rule, resources, {
        dependencies: {
          "email-worker": { spec: ["email-worker-ksa"] },
          classifier: { spec: ["email-worker-ksa"] },
        },
      }),
    ).toHaveLength(2);
  });
});
