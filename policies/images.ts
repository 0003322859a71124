/**
 * What runs is what was reviewed: every container, on Cloud Run and on GKE, names its image by digest
 * (`…@sha256:<64 hex>`). A tag, even a release tag, can be moved to other bytes; a digest cannot, so a rollout runs
 * exactly the image the build produced and a rollback restores it. An image the stack's policy config exempts
 * (`exemptImages`, image → why) is let through, with its reason in the config for review.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { CLOUD_RUN_SERVICE } from "./cloudrun";
import { containersOf, podSpecOf, WORKLOAD_TYPES, type Container } from "./kubernetes-pods";
import { forTypes, known, mirrors, settingsSchema, type RuleLevel } from "./rule";

/** Cloud Run's first API version: its containers sit under template.spec. */
const CLOUD_RUN_V1_SERVICE = "gcp:cloudrun/service:Service";

const SHA256_DIGEST = /@sha256:[0-9a-f]{64}$/;

/** What is wrong with an image reference, or undefined when it names a digest. */
export function imageDigestProblem(image: string): string | undefined {
  if (SHA256_DIGEST.test(image)) return undefined;
  return /@sha256:/.test(image)
    ? `runs image "${image}", whose digest is not 64 hexadecimal digits`
    : `runs image "${image}" by tag, not by digest`;
}

export interface ImageByDigestSettings {
  /** Images that may run by tag, each with the reason. Default none. */
  exemptImages: Record<string, string>;
}

/** The containers of a Cloud Run service (either API version) or a Kubernetes workload, labelled for messages. */
function containersOfResource(
  type: string,
  props: Record<string, unknown>,
): { container: Container; label: string }[] {
  if (type === CLOUD_RUN_SERVICE || type === CLOUD_RUN_V1_SERVICE) {
    const containers = known(() => {
      const template = props["template"] as Record<string, unknown> | undefined;
      const holder = type === CLOUD_RUN_SERVICE ? template : (template?.["spec"] as object);
      return (holder as { containers?: Container[] } | undefined)?.containers;
    });
    return (containers ?? []).map((container, i) => ({
      container,
      label: `container "${known(() => container.name) ?? `#${i}`}"`,
    }));
  }
  const pod = podSpecOf(type, props);
  return pod === undefined ? [] : containersOf(pod);
}

export function imageByDigest(
  level: RuleLevel,
  defaults: ImageByDigestSettings = { exemptImages: {} },
): ResourceValidationPolicy {
  return {
    name: "image-by-digest",
    description:
      "Every container of a Cloud Run service or a Kubernetes workload runs an image named by digest " +
      "(image@sha256:<digest>), never by a tag, which can be moved to other bytes. Fix: deploy the digest the " +
      "image build outputs, or pin a third-party image to the digest its tag names today; an image that cannot be " +
      "pinned yet is listed, with the reason, in the stack's policy config exemptImages." +
      mirrors("Checkov CKV_K8S_43", "Trivy KSV013"),
    enforcementLevel: level,
    configSchema: settingsSchema(defaults, {
      exemptImages: { type: "object", additionalProperties: { type: "string", minLength: 1 } },
    }),
    validateResource: forTypes<Record<string, unknown>>(
      (type) =>
        type === CLOUD_RUN_SERVICE ||
        type === CLOUD_RUN_V1_SERVICE ||
        WORKLOAD_TYPES.includes(type),
      (props, args, report) => {
        const { exemptImages } = args.getConfig<ImageByDigestSettings>();
        for (const { container, label } of containersOfResource(args.type, props)) {
          // Unknown during a preview means an image built in this update: its reference carries the build's digest.
          const image = known(() => container.image);
          if (typeof image !== "string" || Object.hasOwn(exemptImages, image)) continue;
          const problem = imageDigestProblem(image);
          if (problem !== undefined) report(`${label} ${problem}.`);
        }
      },
    ),
  };
}
