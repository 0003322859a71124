/**
 * Where the pod spec and containers sit in each Kubernetes workload kind, so the container rules read every
 * workload the same way whichever kind declares it.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { Unwrap } from "@pulumi/pulumi";
import { known } from "./rule";

export type PodSpec = Unwrap<k8s.types.input.core.v1.PodSpec>;
export type Container = Unwrap<k8s.types.input.core.v1.Container>;

export const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

/** Workload kinds by type token, and how to reach their pod spec from the inputs. */
const podSpecPaths: Record<string, readonly string[]> = {
  [DEPLOYMENT]: ["spec", "template", "spec"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:ReplicaSet": ["spec", "template", "spec"],
  "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
  "kubernetes:core/v1:Pod": ["spec"],
};

export const WORKLOAD_TYPES: readonly string[] = Object.keys(podSpecPaths);

/** Jobs run to completion: they need no probes (Checkov exempts them too). */
export const RUN_TO_COMPLETION_TYPES: readonly string[] = [
  "kubernetes:batch/v1:Job",
  "kubernetes:batch/v1:CronJob",
];

/** The pod spec of a workload's inputs, or undefined when the type is no workload or declares none. */
export function podSpecOf(type: string, props: Record<string, unknown>): PodSpec | undefined {
  const path = podSpecPaths[type];
  if (path === undefined) return undefined;
  let node: unknown = props;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === "object" && node !== null ? (node as PodSpec) : undefined;
}

/** A container with where it sits, for messages: `container "worker"` or `init container "migrate"`. */
export interface PlacedContainer {
  container: Container;
  label: string;
  init: boolean;
}

/** The pod's containers, then its init containers. */
export function containersOf(pod: PodSpec): PlacedContainer[] {
  const place = (list: Container[] | undefined, init: boolean): PlacedContainer[] =>
    (list ?? []).map((container, i) => {
      const name = known(() => container.name) ?? `#${i}`;
      return { container, init, label: `${init ? "init container" : "container"} "${name}"` };
    });
  return [...place(pod.containers, false), ...place(pod.initContainers, true)];
}
