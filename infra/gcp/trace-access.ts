/**
 * Every workload sends its spans to Cloud Trace as its own account (handlers/runtime/
 * trace-export.ts, under Workload Identity on GKE and the service's account on Cloud Run).
 * Writing spans needs `roles/cloudtrace.agent`, which exists only on the project: it lets the
 * holder write traces, and read none, so it is granted to each workload's account and to no one
 * else.
 */
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import type { Platform } from "./platform";

export const TRACE_WRITER_ROLE = "roles/cloudtrace.agent";

/** Lets `member` write spans to the project's Cloud Trace. */
export function grantTraceWriting(
  name: string,
  member: pulumi.Input<string>,
  platform: Platform,
  opts: pulumi.CustomResourceOptions,
): gcp.projects.IAMMember {
  return new gcp.projects.IAMMember(
    name,
    { project: platform.project, role: TRACE_WRITER_ROLE, member },
    opts,
  );
}
