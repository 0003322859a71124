/**
 * The Google APIs the stack uses, enabled by the program so that a fresh project deploys in
 * one `pulumi up`. Every other resource waits for them ({@link afterApis}). Two APIs cannot
 * be enabled this way and must be on before the first run (docs/deploy.md): Service Usage,
 * which enables the others, and Cloud Resource Manager, which the program's project lookup
 * calls first. Destroying the stack leaves the APIs enabled: other things in the project may
 * use them.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { Platform } from "./platform";

/** Every API a resource of this program calls. */
export const REQUIRED_APIS = [
  "artifactregistry.googleapis.com",
  // Spans of every workload (handlers/runtime/trace-export.ts).
  "cloudtrace.googleapis.com",
  // The cluster's Cloud Router and NAT, which give its private nodes their way out.
  "compute.googleapis.com",
  "container.googleapis.com",
  "firestore.googleapis.com",
  "iam.googleapis.com",
  "iamcredentials.googleapis.com",
  "logging.googleapis.com",
  "monitoring.googleapis.com",
  "pubsub.googleapis.com",
  "run.googleapis.com",
  "secretmanager.googleapis.com",
] as const;

/** The APIs enabled before the first `pulumi up`, by hand (docs/deploy.md). */
export const BOOTSTRAP_APIS = [
  "serviceusage.googleapis.com",
  "cloudresourcemanager.googleapis.com",
] as const;

export interface ProjectApisArgs {
  platform: Pick<Platform, "project">;
}

/** The stack's APIs, each a `gcp.projects.Service`. */
export class ProjectApis extends pulumi.ComponentResource {
  readonly services: gcp.projects.Service[];

  constructor(name: string, args: ProjectApisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:ProjectApis", name, {}, opts);
    this.services = REQUIRED_APIS.map(
      (api) =>
        new gcp.projects.Service(
          `${name}-${api.split(".")[0]}`,
          {
            project: args.platform.project,
            service: api,
            disableOnDestroy: false,
            disableDependentServices: false,
          },
          { parent: this },
        ),
    );
    this.registerOutputs({});
  }
}

/**
 * A transformation that makes every resource it applies to (a component and all its
 * children) wait for the APIs: give it to each top-level component's `transformations`.
 */
export function afterApis(apis: ProjectApis): pulumi.ResourceTransformation {
  return ({ props, opts }) => ({
    props,
    opts: pulumi.mergeOptions(opts, { dependsOn: apis.services }),
  });
}
