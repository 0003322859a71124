import type { ResourceValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { deploymentHasHpa, hpaMaxReplicas } from "../../policies/kubernetes-scaling";
import {
  containerResources,
  dropCapabilities,
  noPrivilegeEscalation,
  notDefaultNamespace,
  probes,
  readOnlyRootFilesystem,
  runAsNonRoot,
} from "../../policies/kubernetes-workloads";
import { patched, resourceViolations, stackViolations } from "./harness";
import { DEPLOYMENT, deployment, HPA, hpa } from "./resources";

/** The deployment with its one container changed by `patch`. */
function withContainer(patch: Record<string, unknown>): Record<string, unknown> {
  const [container] = deployment.spec.template.spec.containers;
  return patched(deployment, {
    spec: {
      template: { spec: { containers: [patched(container as Record<string, unknown>, patch)] } },
    },
  });
}

interface Case {
  rule: ResourceValidationPolicy;
  type?: string;
  inputs: Record<string, unknown>;
  settings?: Record<string, unknown>;
  reports: string[];
}

const cases: Record<string, Case> = {
  "a container with requests and limits passes": {
    rule: containerResources("mandatory"),
    inputs: deployment,
    reports: [],
  },
  "a container without limits fails": {
    rule: containerResources("mandatory"),
    inputs: withContainer({ resources: { limits: undefined } }),
    reports: ['container "worker" has no limits.cpu, limits.memory.'],
  },
  "an init container without requests fails": {
    rule: containerResources("mandatory"),
    inputs: patched(deployment, {
      spec: {
        template: {
          spec: {
            initContainers: [
              {
                name: "migrate",
                image: "m:1.0.0",
                resources: { limits: { cpu: "1", memory: "1Gi" } },
              },
            ],
          },
        },
      },
    }),
    reports: ['init container "migrate" has no requests.cpu, requests.memory.'],
  },
  "runAsNonRoot on the pod passes": {
    rule: runAsNonRoot("mandatory"),
    inputs: withContainer({ securityContext: { runAsNonRoot: undefined } }),
    reports: [],
  },
  "a container overriding runAsNonRoot to false fails": {
    rule: runAsNonRoot("mandatory"),
    inputs: withContainer({ securityContext: { runAsNonRoot: false } }),
    reports: [
      'container "worker" does not set runAsNonRoot: true (pod or container securityContext).',
    ],
  },
  "a read-only root filesystem passes": {
    rule: readOnlyRootFilesystem("mandatory"),
    inputs: deployment,
    reports: [],
  },
  "a writable root filesystem fails": {
    rule: readOnlyRootFilesystem("mandatory"),
    inputs: withContainer({ securityContext: { readOnlyRootFilesystem: false } }),
    reports: ['container "worker" does not set readOnlyRootFilesystem: true.'],
  },
  "allowPrivilegeEscalation false passes": {
    rule: noPrivilegeEscalation("mandatory"),
    inputs: deployment,
    reports: [],
  },
  "allowPrivilegeEscalation left out (Kubernetes allows it) fails": {
    rule: noPrivilegeEscalation("mandatory"),
    inputs: withContainer({ securityContext: { allowPrivilegeEscalation: undefined } }),
    reports: ['container "worker" does not set allowPrivilegeEscalation: false.'],
  },
  "dropping ALL capabilities passes": {
    rule: dropCapabilities("mandatory"),
    inputs: deployment,
    reports: [],
  },
  "dropping only NET_RAW fails": {
    rule: dropCapabilities("mandatory"),
    inputs: withContainer({ securityContext: { capabilities: { drop: ["NET_RAW"] } } }),
    reports: ['container "worker" does not drop capabilities ["ALL"].'],
  },
  "liveness and readiness probes pass": {
    rule: probes("mandatory"),
    inputs: deployment,
    reports: [],
  },
  "a container without a readiness probe fails": {
    rule: probes("mandatory"),
    inputs: withContainer({ readinessProbe: undefined }),
    reports: ['container "worker" has no readinessProbe.'],
  },
  "a Job needs no probes": {
    rule: probes("mandatory"),
    type: "kubernetes:batch/v1:Job",
    inputs: withContainer({ livenessProbe: undefined, readinessProbe: undefined }),
    reports: [],
  },
  "a Deployment in the eventline namespace passes": {
    rule: notDefaultNamespace("mandatory"),
    inputs: deployment,
    reports: [],
  },
  "a Deployment in the default namespace fails": {
    rule: notDefaultNamespace("mandatory"),
    inputs: patched(deployment, { metadata: { namespace: "default" } }),
    reports: ['metadata.namespace is "default".'],
  },
  "a Deployment without a namespace fails": {
    rule: notDefaultNamespace("mandatory"),
    inputs: patched(deployment, { metadata: { namespace: undefined } }),
    reports: ["metadata.namespace is not set."],
  },
  "an HPA within the stack's bound passes": {
    rule: hpaMaxReplicas("mandatory"),
    type: HPA,
    inputs: hpa,
    reports: [],
  },
  "an HPA above the stack's bound fails": {
    rule: hpaMaxReplicas("mandatory"),
    type: HPA,
    settings: { maxReplicas: 5 },
    inputs: hpa,
    reports: ["spec.maxReplicas is 10; this stack allows at most 5."],
  },
};

describe("GKE workload rules", () => {
  it.each(Object.entries(cases))("%s", (_title, { rule, type, inputs, settings, reports }) => {
    expect(resourceViolations(rule, { type: type ?? DEPLOYMENT, inputs }, settings)).toEqual(
      reports,
    );
  });

  it("passes a Deployment scaled by an HPA, and fails one without", () => {
    const worker = { type: DEPLOYMENT, name: "email-worker", inputs: deployment };
    expect(
      stackViolations(deploymentHasHpa("mandatory"), [
        worker,
        { type: HPA, name: "email-worker-hpa", inputs: hpa },
      ]),
    ).toEqual([]);
    expect(stackViolations(deploymentHasHpa("mandatory"), [worker])).toEqual([
      "email-worker: Deployment email-worker has no HorizontalPodAutoscaler.",
    ]);
  });

  it("asks no HPA of a Deployment that is not a pull worker", () => {
    const adapter = {
      type: DEPLOYMENT,
      name: "metrics-adapter",
      inputs: patched(deployment, {
        metadata: { labels: { "app.kubernetes.io/component": undefined } },
      }),
    };
    expect(stackViolations(deploymentHasHpa("mandatory"), [adapter])).toEqual([]);
  });

  it("does not count an HPA in another namespace or for another Deployment", () => {
    const worker = { type: DEPLOYMENT, name: "email-worker", inputs: deployment };
    const elsewhere = {
      type: HPA,
      name: "a",
      inputs: patched(hpa, { metadata: { namespace: "other" } }),
    };
    const otherTarget = {
      type: HPA,
      name: "b",
      inputs: patched(hpa, { spec: { scaleTargetRef: { name: "classifier" } } }),
    };
    expect(
      stackViolations(deploymentHasHpa("mandatory"), [worker, elsewhere, otherTarget]),
    ).toEqual(["email-worker: Deployment email-worker has no HorizontalPodAutoscaler."]);
  });
});
