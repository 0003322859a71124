/**
 * The one image every handler, worker and the gateway runs (handlers/Dockerfile selects the
 * consumer and mode from its environment), built from this repository and pushed to an
 * Artifact Registry repository of the stack's own. The tag is a hash of what goes into the
 * image, and services deploy it by digest: a change under handlers/, proto/ or the
 * declaration rolls every service out; an unchanged tree changes nothing.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import * as dockerBuild from "@pulumi/docker-build";
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { Platform } from "./platform";

/** The repository root: the build context. */
export const REPO_ROOT = resolve(__dirname, "..", "..");

/** What the image is built from, relative to the repository root. */
export const IMAGE_INPUTS = [
  "handlers",
  "proto",
  "infra/system.ts",
  "infra/model",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
] as const;

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.name !== "node_modules")
    .flatMap((entry) => filesUnder(join(path, entry.name)));
}

/**
 * A SHA-256 over the paths and contents of `inputs` under `root`, in a stable order.
 * @throws when an input does not exist: the image would not build either.
 */
export function contentHash(
  root: string = REPO_ROOT,
  inputs: readonly string[] = IMAGE_INPUTS,
): string {
  const missing = inputs.filter((input) => !existsSync(join(root, input)));
  if (missing.length > 0)
    throw new Error(
      `HandlerImage: ${missing.join(", ")} not found under ${root}; the handler image is built from ${inputs.join(", ")}`,
    );
  const hash = createHash("sha256");
  const files = inputs
    .flatMap((input) => filesUnder(join(root, input)))
    .map((file) => relative(root, file).split("\\").join("/"));
  for (const file of [...new Set(files)].sort()) {
    hash
      .update(file)
      .update("\0")
      .update(readFileSync(join(root, file)))
      .update("\0");
  }
  return hash.digest("hex");
}

export interface HandlerImageArgs {
  /** The Artifact Registry repository id. Default `eventline`. */
  repositoryId?: string;
  /** Members that pull the image besides Cloud Run (e.g. the GKE nodes' service account). */
  readers?: readonly pulumi.Input<string>[];
  /** The content tag; default {@link contentHash} of {@link IMAGE_INPUTS}. */
  tag?: string;
  /** Project, region, labels. */
  platform: Platform;
}

/** The handler image in `<region>-docker.pkg.dev/<project>/<repository>/handlers`. */
export class HandlerImage extends pulumi.ComponentResource {
  /** `registry/handlers:tag@sha256:digest`: what services and pods run. */
  readonly ref: pulumi.Output<string>;
  /** The repository the image is pushed to. */
  readonly repository: gcp.artifactregistry.Repository;

  constructor(name: string, args: HandlerImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:HandlerImage", name, {}, opts);
    const repositoryId = args.repositoryId ?? "eventline";
    if (!/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(repositoryId)) {
      throw new Error(
        `HandlerImage ${name}: repositoryId "${repositoryId}" is not a repository id; use lowercase letters, digits and hyphens, e.g. "eventline"`,
      );
    }
    const { platform } = args;
    const tag = (args.tag ?? contentHash()).slice(0, 16);

    this.repository = new gcp.artifactregistry.Repository(
      `${name}-repo`,
      {
        repositoryId,
        project: platform.project,
        location: platform.region,
        format: "DOCKER",
        description: "Eventline handler images, tagged by content.",
        labels: { ...platform.labels },
      },
      { parent: this },
    );
    for (const [index, member] of (args.readers ?? []).entries()) {
      new gcp.artifactregistry.RepositoryIamMember(
        `${name}-reader-${index}`,
        {
          project: platform.project,
          location: platform.region,
          repository: this.repository.name,
          role: "roles/artifactregistry.reader",
          member,
        },
        { parent: this },
      );
    }

    const registry = `${platform.region}-docker.pkg.dev`;
    const accessToken = gcp.organizations.getClientConfigOutput({ parent: this }).accessToken;
    const image = new dockerBuild.Image(
      name,
      {
        context: { location: REPO_ROOT },
        dockerfile: { location: join(REPO_ROOT, "handlers", "Dockerfile") },
        platforms: [dockerBuild.Platform.Linux_amd64],
        tags: [pulumi.interpolate`${this.repository.registryUri}/handlers:${tag}`],
        push: true,
        registries: [
          {
            address: registry,
            username: "oauth2accesstoken",
            password: pulumi.secret(accessToken),
          },
        ],
      },
      { parent: this },
    );
    this.ref = image.ref;

    this.registerOutputs({ ref: this.ref });
  }
}
