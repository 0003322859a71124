/**
 * The settings a workload gets beyond its own (HANDLER, MODE, …): those of the capabilities
 * its handler's contract uses, each from the source infra/model/settings.ts names for it. A
 * plain setting becomes an environment value; a secret one is the stack's SettingSecret,
 * which the workload reads from Secret Manager (Cloud Run) or a mounted file (GKE).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";
import type { SettingSecret } from "./gcp/setting-secret";
import type { Capability, SettingName } from "./model/settings";

export interface WorkloadSettings {
  /** Plain values by variable name. */
  values: Record<string, pulumi.Input<string>>;
  /** The secret settings it reads, each once. */
  secrets: SettingSecret[];
}

export interface SettingSources {
  config: StackConfig;
  /** The tracker's public base URL (its service URL, or https://<eventline:trackerDomain>). */
  trackerUrl: pulumi.Input<string>;
  /** The stack's secrets by setting. */
  secrets: ReadonlyMap<SettingName, SettingSecret>;
}

/** The secret settings the stack's config asks for, given the capabilities its consumers use. */
export function secretSettingsNeeded(
  config: StackConfig,
  uses: ReadonlySet<Capability>,
): Map<SettingName, pulumi.Output<string>> {
  const needed = new Map<SettingName, pulumi.Output<string>>();
  if (uses.has("smtp") && config.email.transport === "smtp")
    needed.set("EVENTLINE_SMTP_URL", config.email.smtpUrl);
  if (uses.has("messaging") && config.messaging.transport === "twilio")
    needed.set("EVENTLINE_MESSAGING_AUTH_TOKEN", config.messaging.authToken);
  if (uses.has("hooks") && config.hookSigningSecret !== undefined)
    needed.set("EVENTLINE_HOOK_SIGNING_SECRET", config.hookSigningSecret);
  return needed;
}

/**
 * The settings of `uses`.
 * @throws when a secret the config asks for was not created: a bug in the program, not the stack.
 */
export function capabilitySettings(
  uses: readonly Capability[],
  sources: SettingSources,
): WorkloadSettings {
  const { config } = sources;
  const values: Record<string, pulumi.Input<string>> = {};
  const secrets: SettingSecret[] = [];
  const secret = (setting: SettingName): void => {
    const found = sources.secrets.get(setting);
    if (found === undefined)
      throw new Error(
        `capabilitySettings: no SettingSecret for ${setting}; create it in infra/index.ts before the workloads`,
      );
    if (!secrets.includes(found)) secrets.push(found);
  };
  for (const capability of uses) {
    switch (capability) {
      case "smtp":
        values["EVENTLINE_EMAIL_TRANSPORT"] = config.email.transport;
        values["EVENTLINE_MAIL_FROM"] = config.email.from;
        if (config.email.transport === "smtp") secret("EVENTLINE_SMTP_URL");
        break;
      case "messaging":
        values["EVENTLINE_MESSAGING_TRANSPORT"] = config.messaging.transport;
        if (config.messaging.transport === "twilio") {
          values["EVENTLINE_MESSAGING_URL"] = config.messaging.url;
          values["EVENTLINE_MESSAGING_ACCOUNT_SID"] = config.messaging.accountSid;
          values["EVENTLINE_SMS_FROM"] = config.messaging.smsFrom;
          values["EVENTLINE_WHATSAPP_FROM"] = config.messaging.whatsappFrom;
          secret("EVENTLINE_MESSAGING_AUTH_TOKEN");
        }
        break;
      case "tracking-links":
        values["EVENTLINE_TRACKER_URL"] = sources.trackerUrl;
        values["EVENTLINE_CARD_BASE_URL"] = config.cardBaseUrl!;
        break;
      case "hooks":
        secret("EVENTLINE_HOOK_SIGNING_SECRET");
        break;
    }
  }
  return { values, secrets };
}
