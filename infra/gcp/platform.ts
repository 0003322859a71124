/**
 * What every component needs to know about where it is deployed: the project, region,
 * stack and labels, plus the identities GCP itself acts as. Built once in infra/index.ts
 * and passed to each component, so no component reads stack config on its own.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformDatabases } from "../model/databases";
import { settings } from "../model/settings";

/** The deployment target every component shares. */
export interface Platform {
  /** The Pulumi stack (`dev`, `prod`); also the `env` label. */
  stack: string;
  /** The GCP project id every resource is created in. */
  project: string;
  /** The region of Cloud Run services, Artifact Registry and the cluster. */
  region: string;
  /** The project's number, which names Google-managed service agents. */
  projectNumber: pulumi.Input<string>;
  /** Labels every labelable resource carries: `system`, `env`, `owner`. */
  labels: Readonly<Record<string, string>>;
  /** Whether stateful or user-facing resources refuse deletion (Firestore, Cloud Run, the cluster). */
  deleteProtection: boolean;
  /** The event store's and the consumers' state's Firestore databases (infra/model/databases.ts). */
  databases: PlatformDatabases;
  /** The share of new traces the workloads send to Cloud Trace. Default: the setting's default. */
  traceSampleRatio?: number;
}

/**
 * What every workload's environment says of where it runs. Which Firestore database a consumer
 * uses is its own (infra/gcp/firestore-access.ts, consumerDatabase).
 */
export function platformEnv(platform: Platform): Record<string, string> {
  return {
    GOOGLE_CLOUD_PROJECT: platform.project,
    STACK: platform.stack,
    // Every workload sends its spans to Cloud Trace, as its own account (roles/cloudtrace.agent).
    EVENTLINE_TRACE_EXPORT: "cloud-trace",
    EVENTLINE_TRACE_SAMPLE_RATIO: String(
      platform.traceSampleRatio ?? Number(settings.EVENTLINE_TRACE_SAMPLE_RATIO.default),
    ),
  };
}

/** The labels that mark a resource as Eventline's, for cost reports and clean-up. */
export function platformLabels(stack: string, owner: string): Record<string, string> {
  return { system: "eventline", env: stack, owner };
}

/**
 * The Pub/Sub service agent: the identity Pub/Sub uses to forward dead letters and to
 * mint push tokens. It exists once the Pub/Sub API is enabled in the project.
 */
export function pubsubServiceAgent(platform: Platform): pulumi.Output<string> {
  return pulumi.interpolate`serviceAccount:service-${platform.projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com`;
}

/** Service account ids are 6..30 characters of `[a-z0-9-]`, starting with a letter. */
const accountIdLimits = { min: 6, max: 30 } as const;

/**
 * A service account id for `name` under a short `kind` prefix (`run`, `push`, `wrk`, `gw`).
 * Consumer names may be up to 40 characters, longer than an account id allows, so long or
 * short names are cut and suffixed with a hash of the full name: stable and unique.
 */
export function accountId(kind: string, name: string): string {
  const plain = `${kind}-${name}`;
  if (plain.length >= accountIdLimits.min && plain.length <= accountIdLimits.max) return plain;
  const hash = createHash("sha256").update(plain).digest("hex").slice(0, 6);
  const room = accountIdLimits.max - kind.length - hash.length - 2;
  return `${kind}-${name.slice(0, room).replace(/-+$/, "")}-${hash}`;
}
