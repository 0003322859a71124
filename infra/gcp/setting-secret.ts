/**
 * A secret setting (infra/model/settings.ts, source `secret`) as Secret Manager holds it: the
 * secret, its version from the stack's secret config, and who may read it. Each consumer that
 * uses the setting is granted `roles/secretmanager.secretAccessor` on this secret alone, so an
 * SMTP password is readable by the email senders and by nothing else.
 *
 * Workloads receive it pinned to this version: Cloud Run as an environment variable from the
 * secret, GKE as a file the Secret Manager add-on mounts (infra/k8s/pull-worker.ts). A new
 * value makes a new version, and the workloads roll out to it.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { SettingName } from "../model/settings";
import type { Platform } from "./platform";

export interface SettingSecretArgs {
  /** The setting it holds, e.g. `EVENTLINE_SMTP_URL`. */
  setting: SettingName;
  /** Its value, a secret output of the stack's config. */
  value: pulumi.Input<string>;
  platform: Platform;
}

/** The secret id of a setting: `eventline-smtp-url` for EVENTLINE_SMTP_URL. */
export function secretIdOf(setting: SettingName): string {
  return `eventline-${setting
    .toLowerCase()
    .replace(/^eventline_/, "")
    .replace(/_/g, "-")}`;
}

/** The file name a mounted secret gets: the secret id. */
export const secretFileOf = secretIdOf;

export class SettingSecret extends pulumi.ComponentResource {
  readonly setting: SettingName;
  readonly secret: gcp.secretmanager.Secret;
  readonly version: gcp.secretmanager.SecretVersion;
  /** `projects/<p>/secrets/<id>/versions/<n>`: the pinned version. */
  readonly versionName: pulumi.Output<string>;
  private readonly platform: Platform;

  constructor(name: string, args: SettingSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:SettingSecret", name, {}, opts);
    this.setting = args.setting;
    this.platform = args.platform;
    this.secret = new gcp.secretmanager.Secret(
      name,
      {
        project: args.platform.project,
        secretId: secretIdOf(args.setting),
        replication: { auto: {} },
        labels: { ...args.platform.labels },
      },
      { parent: this },
    );
    this.version = new gcp.secretmanager.SecretVersion(
      name,
      { secret: this.secret.id, secretData: pulumi.secret(args.value) },
      { parent: this },
    );
    this.versionName = this.version.name;
    this.registerOutputs({ secret: this.secret.secretId });
  }

  /** Lets `member` read this secret, and only this one. `who` names the grant. */
  grantAccess(
    who: string,
    member: pulumi.Input<string>,
    opts?: pulumi.CustomResourceOptions,
  ): gcp.secretmanager.SecretIamMember {
    return new gcp.secretmanager.SecretIamMember(
      `${who}-reads-${secretIdOf(this.setting)}`,
      {
        project: this.platform.project,
        secretId: this.secret.secretId,
        role: "roles/secretmanager.secretAccessor",
        member,
      },
      opts,
    );
  }
}
