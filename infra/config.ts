/**
 * The stack's configuration, read and validated once: every key is parsed here, every
 * problem is reported together, each with the key's name and an example of a good value.
 * Keys and defaults are documented in Pulumi.yaml; test/infra checks the two agree.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  DEFAULT_DATABASES,
  REPLAY_TOOL_DATABASES,
  type PlatformDatabases,
} from "./model/databases";
import { toSeconds } from "./model/duration";
import { capabilities, settings, type Capability } from "./model/settings";
import type { ClusterSource } from "./k8s/cluster";

/** How invitations and commands are emailed: through an SMTP server, or into Firestore outbound/ only. */
export type EmailConfig =
  | { transport: "outbox"; from: string }
  | { transport: "smtp"; from: string; smtpUrl: pulumi.Output<string> };

/** How SMS and WhatsApp go out: a Twilio-style provider, or into Firestore outbound/ only. */
export type MessagingConfig =
  | { transport: "outbox" }
  | {
      transport: "twilio";
      url: string;
      accountSid: string;
      authToken: pulumi.Output<string>;
      smsFrom: string;
      whatsappFrom: string;
    };

/** The validated stack configuration. */
export interface StackConfig {
  /** `gcp:project`: the project every resource is created in. */
  project: string;
  /** `gcp:region`: the region of Cloud Run, Artifact Registry and the cluster. */
  region: string;
  /** `eventline:owner`: the `owner` label on every resource. */
  owner: string;
  /** `eventline:cluster` (+ `eventline:kubeconfig`): create an Autopilot cluster or use an existing one. */
  cluster: ClusterSource;
  /** `eventline:deleteProtection`: Firestore, Cloud Run services and the cluster refuse deletion. */
  deleteProtection: boolean;
  /** `eventline:alertNotificationChannels`: channels every alert notifies. */
  alertNotificationChannels: string[];
  /** `eventline:oldestUnackedAlert`, in seconds: a consumer alerts past this message age. */
  oldestUnackedAlertSeconds: number;
  /** `eventline:maxReplicasCap`: the most replicas any worker may declare. */
  maxReplicasCap: number;
  /** `eventline:firestoreLocation`: where the Firestore databases live. */
  firestoreLocation: string;
  /** `eventline:eventStoreDatabase`, `eventline:stateDatabase`: the two databases the workloads use (infra/model/databases.ts). */
  databases: PlatformDatabases;
  /** `eventline:emailTransport`, `eventline:smtpUrl` (secret), `eventline:mailFrom`. */
  email: EmailConfig;
  /** `eventline:messagingTransport`, `eventline:messagingUrl`, `eventline:messagingAccountSid`, `eventline:messagingAuthToken` (secret), `eventline:smsFrom`, `eventline:whatsappFrom`. */
  messaging: MessagingConfig;
  /** `eventline:cardBaseUrl`: where cards are shown; tracking clicks land there. Undefined when nothing links to cards. */
  cardBaseUrl: string | undefined;
  /** `eventline:redirectHosts`: other hosts a tracking click may land on. */
  redirectHosts: string[];
  /** `eventline:trackerDomain`: a custom domain for the tracker, mapped to it; links use it. */
  trackerDomain: string | undefined;
  /** `eventline:traceSampleRatio`: the share of new traces the workloads keep, 0 to 1. */
  traceSampleRatio: number;
  /** `eventline:hookSigningSecret` (secret): what hooks sign with. Undefined when no hook is declared. */
  hookSigningSecret: pulumi.Output<string> | undefined;
}

/**
 * Values a stack gets for the optional keys it leaves out (the same as Pulumi.yaml's `default`s).
 * An empty string means "not set": the CLI requires a default for every optional key.
 */
export const configDefaults = {
  "eventline:cluster": "autopilot",
  "eventline:kubeconfig": "",
  "eventline:deleteProtection": true,
  "eventline:alertNotificationChannels": [] as string[],
  "eventline:oldestUnackedAlert": "10m",
  "eventline:maxReplicasCap": 100,
  "eventline:firestoreLocation": "",
  "eventline:eventStoreDatabase": DEFAULT_DATABASES.eventStore,
  "eventline:stateDatabase": DEFAULT_DATABASES.state,
  "eventline:clusterAuthorizedNetworks": [] as string[],
  "eventline:clusterDnsEndpoint": true,
  "eventline:emailTransport": settings.EVENTLINE_EMAIL_TRANSPORT.default,
  "eventline:smtpUrl": "",
  "eventline:mailFrom": settings.EVENTLINE_MAIL_FROM.default,
  "eventline:messagingTransport": settings.EVENTLINE_MESSAGING_TRANSPORT.default,
  "eventline:messagingUrl": settings.EVENTLINE_MESSAGING_URL.default,
  "eventline:messagingAccountSid": "",
  "eventline:messagingAuthToken": "",
  "eventline:smsFrom": "",
  "eventline:whatsappFrom": "",
  "eventline:cardBaseUrl": "",
  "eventline:redirectHosts": [] as string[],
  "eventline:trackerDomain": "",
  "eventline:traceSampleRatio": Number(settings.EVENTLINE_TRACE_SAMPLE_RATIO.default),
  "eventline:hookSigningSecret": "",
} as const;

/** The keys whose values are secrets, each with an example value: set with `pulumi config set --secret`, stored in Secret Manager. */
export const secretConfigKeys: ReadonlyMap<string, string> = new Map(
  Object.values(settings).flatMap((setting) =>
    setting.source.kind === "secret" ? [[setting.source.key, setting.source.example] as const] : [],
  ),
);

/** One problem with one key. */
export interface ConfigIssue {
  key: string;
  problem: string;
  /** The command that sets a good value. */
  example: string;
}

/** The stack config does not load; `issues` lists every problem found. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      `The stack configuration has ${issues.length} problem${issues.length === 1 ? "" : "s"}:\n` +
        issues
          .map((issue) => `  ${issue.key}: ${issue.problem}. Example: ${issue.example}`)
          .join("\n"),
    );
  }
}

const projectPattern = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const regionPattern = /^[a-z]+(-[a-z]+)+\d+$/;
const labelValuePattern = /^[a-z0-9_-]{1,63}$/;
const channelPattern = /^projects\/[^/]+\/notificationChannels\/[^/]+$/;
const firestoreLocationPattern = /^[a-z0-9-]+$/;
const namedDatabasePattern = /^[a-z][a-z0-9-]{2,61}[a-z0-9]$/;
const firestoreDatabasePattern = /^(\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$/;
const smtpUrlPattern = /^smtps?:\/\/\S+$/;
const httpUrlPattern = /^https?:\/\/[^\s/]+(\/\S*)?$/;
const e164Pattern = /^\+[1-9]\d{6,14}$/;
const cidrPattern =
  /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/(3[0-2]|[12]?\d)$/;
const hostPattern = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d{1,5})?$/;

/** Every key this program reads in its own namespace; any other `eventline:` key is a typo. */
export const eventlineConfigKeys: ReadonlySet<string> = new Set([
  "eventline:owner",
  "eventline:cluster",
  "eventline:kubeconfig",
  "eventline:deleteProtection",
  "eventline:alertNotificationChannels",
  "eventline:oldestUnackedAlert",
  "eventline:maxReplicasCap",
  "eventline:firestoreLocation",
  "eventline:eventStoreDatabase",
  "eventline:stateDatabase",
  "eventline:clusterAuthorizedNetworks",
  "eventline:clusterDnsEndpoint",
  "eventline:emailTransport",
  "eventline:smtpUrl",
  "eventline:mailFrom",
  "eventline:messagingTransport",
  "eventline:messagingUrl",
  "eventline:messagingAccountSid",
  "eventline:messagingAuthToken",
  "eventline:smsFrom",
  "eventline:whatsappFrom",
  "eventline:cardBaseUrl",
  "eventline:redirectHosts",
  "eventline:trackerDomain",
  "eventline:traceSampleRatio",
  "eventline:hookSigningSecret",
]);

/** Reads raw values and records what is wrong with them. */
class Reader {
  readonly issues: ConfigIssue[] = [];
  constructor(private readonly values: Readonly<Record<string, string>>) {}

  private fail(key: string, problem: string, example: string): undefined {
    this.issues.push({ key, problem, example });
    return undefined;
  }

  string(
    key: string,
    pattern: RegExp,
    rule: string,
    example: string,
    fallback?: string,
  ): string | undefined {
    const given = this.values[key];
    const value = given === undefined || given === "" ? fallback : given;
    if (value === undefined || value === "") return this.fail(key, "is not set", example);
    return pattern.test(value) ? value : this.fail(key, `"${value}" is not ${rule}`, example);
  }

  boolean(key: string, fallback: boolean, example: string): boolean | undefined {
    const value = this.values[key];
    if (value === undefined) return fallback;
    if (value === "true" || value === "false") return value === "true";
    return this.fail(key, `"${value}" is not true or false`, example);
  }

  integer(key: string, fallback: number, min: number, example: string): number | undefined {
    const value = this.values[key];
    if (value === undefined) return fallback;
    const parsed = Number(value);
    return Number.isInteger(parsed) && parsed >= min
      ? parsed
      : this.fail(key, `"${value}" is not a whole number ≥ ${min}`, example);
  }

  /** A number from 0 to 1. */
  ratio(key: string, fallback: number, example: string): number | undefined {
    const value = this.values[key];
    if (value === undefined || value === "") return fallback;
    const parsed = Number(value);
    return parsed >= 0 && parsed <= 1
      ? parsed
      : this.fail(key, `"${value}" is not a number from 0 to 1`, example);
  }

  seconds(key: string, fallback: string, min: number, example: string): number | undefined {
    const value = this.values[key] ?? fallback;
    try {
      const seconds = toSeconds(value);
      return seconds >= min
        ? seconds
        : this.fail(key, `"${value}" is shorter than ${min}s`, example);
    } catch {
      return this.fail(
        key,
        `"${value}" is not a duration (a whole number and s, m, h or d)`,
        example,
      );
    }
  }

  /** A secret key's value, kept secret in the program's outputs and state. */
  secret(
    key: string,
    pattern: RegExp,
    rule: string,
    example: string,
  ): pulumi.Output<string> | undefined {
    const value = this.values[key];
    if (value === undefined || value === "")
      return this.fail(key, "is not set (a secret)", example);
    if (!pattern.test(value))
      return this.fail(key, `is not ${rule} (value hidden: it is a secret)`, example);
    return pulumi.secret(value);
  }

  list(key: string, pattern: RegExp, rule: string, example: string): string[] | undefined {
    const value = this.values[key];
    if (value === undefined) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return this.fail(key, `"${value}" is not a list`, example);
    }
    if (!Array.isArray(parsed) || !parsed.every((item): item is string => typeof item === "string"))
      return this.fail(key, "is not a list of strings", example);
    const bad = parsed.filter((item) => !pattern.test(item));
    return bad.length === 0
      ? parsed
      : this.fail(
          key,
          `${bad.map((item) => `"${item}"`).join(", ")} ${bad.length === 1 ? "is" : "are"} not ${rule}`,
          example,
        );
  }
}

/** The key the two database keys replaced; a stack that still sets it is told what to do. */
const RENAMED_DATABASE_KEY = "eventline:firestoreDatabase";

/** The event store's and the state's databases: two, and neither one the replay tools write. */
function readDatabases(
  read: Reader,
  set: (key: string, value: string) => string,
): PlatformDatabases | undefined {
  const rule = "a Firestore database id (4-63 lowercase letters, digits and -) or (default)";
  // A new database: the event store is never adopted from a project's (default).
  const eventStore = read.string(
    "eventline:eventStoreDatabase",
    namedDatabasePattern,
    "a Firestore database id (4-63 lowercase letters, digits and -)",
    set("eventline:eventStoreDatabase", DEFAULT_DATABASES.eventStore),
    configDefaults["eventline:eventStoreDatabase"],
  );
  const state = read.string(
    "eventline:stateDatabase",
    firestoreDatabasePattern,
    rule,
    set("eventline:stateDatabase", DEFAULT_DATABASES.state),
    configDefaults["eventline:stateDatabase"],
  );
  if (eventStore === undefined || state === undefined) return undefined;
  if (eventStore === state) {
    read.issues.push({
      key: "eventline:eventStoreDatabase",
      problem: `is ${eventStore}, the state database too: the event store is a database of its own, which only the archivers write`,
      example: set("eventline:eventStoreDatabase", DEFAULT_DATABASES.eventStore),
    });
    return undefined;
  }
  for (const [key, id] of [
    ["eventline:eventStoreDatabase", eventStore],
    ["eventline:stateDatabase", state],
  ] as const) {
    if (REPLAY_TOOL_DATABASES.includes(id)) {
      read.issues.push({
        key,
        problem: `is ${id}, a database the replay tools write into (${REPLAY_TOOL_DATABASES.join(", ")})`,
        example: set(
          key,
          key === "eventline:stateDatabase"
            ? DEFAULT_DATABASES.state
            : DEFAULT_DATABASES.eventStore,
        ),
      });
      return undefined;
    }
  }
  return { eventStore, state };
}

function readEmail(
  read: Reader,
  needed: boolean,
  set: (key: string, value: string) => string,
): EmailConfig | undefined {
  const from = read.string(
    "eventline:mailFrom",
    /\S+@\S+/,
    "an email address (optionally with a display name)",
    set("eventline:mailFrom", "'Eventline <invite@example.com>'"),
    configDefaults["eventline:mailFrom"],
  );
  const transport = read.string(
    "eventline:emailTransport",
    /^(smtp|outbox)$/,
    "smtp or outbox",
    set("eventline:emailTransport", "smtp"),
    configDefaults["eventline:emailTransport"],
  );
  if (transport === "outbox" || !needed)
    return from === undefined ? undefined : { transport: "outbox", from };
  const smtpUrl = read.secret(
    "eventline:smtpUrl",
    smtpUrlPattern,
    "an smtp:// or smtps:// URL",
    "pulumi config set --secret eventline:smtpUrl smtps://user:password@smtp.example.com:465",
  );
  return from === undefined || transport === undefined || smtpUrl === undefined
    ? undefined
    : { transport: "smtp", from, smtpUrl };
}

function readMessaging(
  read: Reader,
  needed: boolean,
  set: (key: string, value: string) => string,
): MessagingConfig | undefined {
  const transport = read.string(
    "eventline:messagingTransport",
    /^(twilio|outbox)$/,
    "twilio or outbox",
    set("eventline:messagingTransport", "twilio"),
    configDefaults["eventline:messagingTransport"],
  );
  if (transport === "outbox" || !needed)
    return transport === undefined ? undefined : { transport: "outbox" };
  const url = read.string(
    "eventline:messagingUrl",
    httpUrlPattern,
    "an http(s) URL",
    set("eventline:messagingUrl", "https://api.twilio.com"),
    configDefaults["eventline:messagingUrl"],
  );
  const accountSid = read.string(
    "eventline:messagingAccountSid",
    /^\S+$/,
    "an account sid",
    set("eventline:messagingAccountSid", "AC0123456789abcdef0123456789abcdef"),
  );
  const authToken = read.secret(
    "eventline:messagingAuthToken",
    /^\S+$/,
    "a token",
    "pulumi config set --secret eventline:messagingAuthToken <token>",
  );
  const smsFrom = read.string(
    "eventline:smsFrom",
    e164Pattern,
    "an E.164 number",
    set("eventline:smsFrom", "+15550001111"),
  );
  const whatsappFrom = read.string(
    "eventline:whatsappFrom",
    e164Pattern,
    "an E.164 number",
    set("eventline:whatsappFrom", "+15550002222"),
  );
  if ([transport, url, accountSid, authToken, smsFrom, whatsappFrom].includes(undefined))
    return undefined;
  return {
    transport: "twilio",
    url: url!,
    accountSid: accountSid!,
    authToken: authToken!,
    smsFrom: smsFrom!,
    whatsappFrom: whatsappFrom!,
  };
}

/**
 * Reads and validates the stack configuration.
 * @param values full keys (`gcp:project`) to raw string values; default the running stack's config.
 * @param needs the capabilities the declaration's consumers use: their settings are required
 *   (an SMTP server only when some consumer sends email over SMTP). Default: all of them.
 * @throws ConfigError listing every missing or malformed key with an example.
 */
export function loadStackConfig(
  values: Readonly<Record<string, string>> = pulumi.runtime.allConfig(),
  needs: ReadonlySet<Capability> = new Set(capabilities),
): StackConfig {
  const read = new Reader(values);
  const set = (key: string, value: string) => `pulumi config set ${key} ${value}`;

  for (const key of Object.keys(values)) {
    if (key === RENAMED_DATABASE_KEY) {
      read.issues.push({
        key,
        problem:
          "was split in two: eventline:stateDatabase (projections, processed records; it keeps the old database, default eventline) and eventline:eventStoreDatabase (events/, default eventline-events); docs/deploy.md says how to move events/",
        example: `pulumi config rm ${key} && pulumi config set eventline:stateDatabase <the old value>`,
      });
    } else if (key.startsWith("eventline:") && !eventlineConfigKeys.has(key)) {
      read.issues.push({
        key,
        problem: `is not a setting of this program (known: ${[...eventlineConfigKeys].join(", ")})`,
        example: `pulumi config rm ${key}`,
      });
    }
  }

  const project = read.string(
    "gcp:project",
    projectPattern,
    "a GCP project id",
    set("gcp:project", "eventline-dev"),
  );
  const region = read.string(
    "gcp:region",
    regionPattern,
    "a GCP region",
    set("gcp:region", "europe-west1"),
  );
  const owner = read.string(
    "eventline:owner",
    labelValuePattern,
    "a label value (lowercase letters, digits, - and _, at most 63)",
    set("eventline:owner", "platform-team"),
  );
  const mode = read.string(
    "eventline:cluster",
    /^(autopilot|existing)$/,
    "autopilot or existing",
    set("eventline:cluster", "autopilot"),
    configDefaults["eventline:cluster"],
  );
  let cluster: ClusterSource | undefined;
  if (mode === "existing") {
    const kubeconfig = values["eventline:kubeconfig"];
    if (kubeconfig === undefined || kubeconfig.trim() === "") {
      read.issues.push({
        key: "eventline:kubeconfig",
        problem: "is not set, and eventline:cluster is existing",
        example: "pulumi config set --secret eventline:kubeconfig < kubeconfig.yaml",
      });
    } else {
      cluster = { mode: "existing", kubeconfig: pulumi.secret(kubeconfig) };
    }
  } else if (mode === "autopilot") {
    const authorizedNetworks = read.list(
      "eventline:clusterAuthorizedNetworks",
      cidrPattern,
      "IPv4 CIDR blocks",
      "pulumi config set --path 'eventline:clusterAuthorizedNetworks[0]' 203.0.113.0/24",
    );
    const dnsEndpoint = read.boolean(
      "eventline:clusterDnsEndpoint",
      configDefaults["eventline:clusterDnsEndpoint"],
      set("eventline:clusterDnsEndpoint", "true"),
    );
    if (authorizedNetworks !== undefined && dnsEndpoint !== undefined)
      cluster = { mode: "autopilot", authorizedNetworks, dnsEndpoint };
  }
  const deleteProtection = read.boolean(
    "eventline:deleteProtection",
    configDefaults["eventline:deleteProtection"],
    set("eventline:deleteProtection", "true"),
  );
  const alertNotificationChannels = read.list(
    "eventline:alertNotificationChannels",
    channelPattern,
    "notification channel names (projects/<project>/notificationChannels/<id>)",
    "pulumi config set --path 'eventline:alertNotificationChannels[0]' projects/eventline-prod/notificationChannels/123",
  );
  const oldestUnackedAlertSeconds = read.seconds(
    "eventline:oldestUnackedAlert",
    configDefaults["eventline:oldestUnackedAlert"],
    60,
    set("eventline:oldestUnackedAlert", "10m"),
  );
  const maxReplicasCap = read.integer(
    "eventline:maxReplicasCap",
    configDefaults["eventline:maxReplicasCap"],
    1,
    set("eventline:maxReplicasCap", "50"),
  );
  // Defaults to the region; when the region itself is wrong, that is the one problem to report.
  const firestoreLocation =
    !values["eventline:firestoreLocation"] && region === undefined
      ? undefined
      : read.string(
          "eventline:firestoreLocation",
          firestoreLocationPattern,
          "a Firestore location",
          set("eventline:firestoreLocation", "eur3"),
          region,
        );

  const databases = readDatabases(read, set);
  const email = readEmail(read, needs.has("smtp"), set);
  const messaging = readMessaging(read, needs.has("messaging"), set);
  const cardBaseUrl = needs.has("tracking-links")
    ? read.string(
        "eventline:cardBaseUrl",
        httpUrlPattern,
        "an http(s) URL",
        set("eventline:cardBaseUrl", "https://app.example.com"),
      )
    : values["eventline:cardBaseUrl"] || undefined;
  const redirectHosts = read.list(
    "eventline:redirectHosts",
    hostPattern,
    "host names",
    "pulumi config set --path 'eventline:redirectHosts[0]' shop.example.com",
  );
  const trackerDomain = values["eventline:trackerDomain"]
    ? read.string(
        "eventline:trackerDomain",
        hostPattern,
        "a domain name",
        set("eventline:trackerDomain", "go.example.com"),
      )
    : undefined;

  const traceSampleRatio = read.ratio(
    "eventline:traceSampleRatio",
    configDefaults["eventline:traceSampleRatio"],
    set("eventline:traceSampleRatio", "0.05"),
  );

  // A Standard Webhooks secret: whsec_ and the base64 of 24 to 64 random bytes.
  const hookSigningSecret = needs.has("hooks")
    ? read.secret(
        "eventline:hookSigningSecret",
        /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/,
        "whsec_ and base64",
        'pulumi config set --secret eventline:hookSigningSecret "whsec_$(openssl rand -base64 32)"',
      )
    : undefined;

  if (read.issues.length > 0) throw new ConfigError(read.issues);
  return {
    project: project!,
    region: region!,
    owner: owner!,
    cluster: cluster!,
    deleteProtection: deleteProtection!,
    alertNotificationChannels: alertNotificationChannels!,
    oldestUnackedAlertSeconds: oldestUnackedAlertSeconds!,
    maxReplicasCap: maxReplicasCap!,
    firestoreLocation: firestoreLocation!,
    databases: databases!,
    email: email!,
    messaging: messaging!,
    cardBaseUrl,
    redirectHosts: redirectHosts!,
    trackerDomain,
    traceSampleRatio: traceSampleRatio!,
    hookSigningSecret,
  };
}
