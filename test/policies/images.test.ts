import { describe, expect, it } from "vitest";
import { imageByDigest } from "../../policies/images";
import { patched, resourceViolations } from "./harness";
import { CLOUD_RUN, cloudRunService, DEPLOYMENT, deployment } from "./resources";

const unknownString = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const digest = "sha256:" + "c".repeat(64);

/** The Deployment with its one container's image replaced. */
function deploymentRunning(image: string): Record<string, unknown> {
  const [container] = deployment.spec.template.spec.containers;
  return patched(deployment, {
    spec: { template: { spec: { containers: [{ ...container, image }] } } },
  });
}

/** The Cloud Run service with its one container's image replaced. */
function serviceRunning(image: string): Record<string, unknown> {
  return patched(cloudRunService, { template: { containers: [{ image }] } });
}

const cases: [
  string,
  { type: string; inputs: Record<string, unknown>; settings?: Record<string, unknown> },
  string[],
][] = [
  ["a pod image by digest passes", { type: DEPLOYMENT, inputs: deployment }, []],
  ["a Cloud Run image by digest passes", { type: CLOUD_RUN, inputs: cloudRunService }, []],
  [
    "a tag and a digest together pass: the digest is what runs",
    { type: DEPLOYMENT, inputs: deploymentRunning(`registry:5000/team/app:1.4.2@${digest}`) },
    [],
  ],
  [
    "a pod image with a release tag fails",
    { type: DEPLOYMENT, inputs: deploymentRunning("registry:5000/team/app:1.4.2") },
    ['container "worker" runs image "registry:5000/team/app:1.4.2" by tag, not by digest.'],
  ],
  [
    "an untagged pod image fails",
    { type: DEPLOYMENT, inputs: deploymentRunning("ghcr.io/eventline/handlers") },
    ['container "worker" runs image "ghcr.io/eventline/handlers" by tag, not by digest.'],
  ],
  [
    "a Cloud Run image tagged latest fails",
    {
      type: CLOUD_RUN,
      inputs: serviceRunning("europe-docker.pkg.dev/p/eventline/handlers:latest"),
    },
    [
      'container "#0" runs image "europe-docker.pkg.dev/p/eventline/handlers:latest" by tag, not by digest.',
    ],
  ],
  [
    "a Cloud Run v1 service's image by tag fails",
    {
      type: "gcp:cloudrun/service:Service",
      inputs: { name: "x", template: { spec: { containers: [{ image: "gcr.io/p/x:1" }] } } },
    },
    ['container "#0" runs image "gcr.io/p/x:1" by tag, not by digest.'],
  ],
  [
    "a truncated digest fails",
    { type: DEPLOYMENT, inputs: deploymentRunning("gcr.io/p/x@sha256:abc") },
    [
      'container "worker" runs image "gcr.io/p/x@sha256:abc", whose digest is not 64 hexadecimal digits.',
    ],
  ],
  [
    "an image built in the same update (unknown in a preview) passes",
    { type: DEPLOYMENT, inputs: deploymentRunning(unknownString) },
    [],
  ],
  [
    "an image the stack's config exempts, with its reason, passes",
    {
      type: DEPLOYMENT,
      inputs: deploymentRunning("gcr.io/gke-release/adapter:v1"),
      settings: { exemptImages: { "gcr.io/gke-release/adapter:v1": "not published by digest" } },
    },
    [],
  ],
  [
    "an exemption covers that image only",
    {
      type: DEPLOYMENT,
      inputs: deploymentRunning("gcr.io/gke-release/adapter:v2"),
      settings: { exemptImages: { "gcr.io/gke-release/adapter:v1": "not published by digest" } },
    },
    ['container "worker" runs image "gcr.io/gke-release/adapter:v2" by tag, not by digest.'],
  ],
];

describe("image-by-digest", () => {
  it.each(cases)("%s", (_title, { type, inputs, settings }, reports) => {
    expect(resourceViolations(imageByDigest("mandatory"), { type, inputs }, settings)).toEqual(
      reports,
    );
  });
});
