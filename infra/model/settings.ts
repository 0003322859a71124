/**
 * Every environment variable the handler image reads, in one catalog: what it means, its
 * default, and where its value comes from when the Pulumi program deploys a workload. The
 * program builds each workload's environment from this catalog, the runtime reads each
 * setting by its name here, and `eventline verify` checks that every setting a started
 * workload read is one the declaration gave it (or one with a default).
 *
 * Handlers that talk to outside services say so in their contract (`uses` in
 * infra/system.ts); each such capability brings the settings listed in
 * {@link capabilitySettings}, and only the consumers of those handlers get them.
 */

/** What a handler may use beyond Pub/Sub and Firestore; each brings its settings. */
export type Capability = "smtp" | "messaging" | "tracking-links" | "hooks";

export const capabilities: readonly Capability[] = ["smtp", "messaging", "tracking-links", "hooks"];

/** Where a setting's value comes from in the cloud. */
export type SettingSource =
  /** The program writes it from the declaration (HANDLER, MODE, STACK, …). */
  | { kind: "program" }
  /** Cloud Run or Kubernetes sets it, or the image does (PORT). */
  | { kind: "platform" }
  /** A plain stack config key (`pulumi config set <key> <value>`). */
  | { kind: "config"; key: string }
  /**
   * A secret stack config key (`pulumi config set --secret <key> <value>`), stored in Secret
   * Manager, readable only by the accounts of the consumers that use it.
   */
  | { kind: "secret"; key: string; example: string }
  /** Only outside the cloud: the emulators, local switches. Never deployed. */
  | { kind: "local" };

export interface SettingSpec {
  /** What it sets, and the values it takes. */
  description: string;
  source: SettingSource;
  /** The value used when it is not set; absent where the setting is required or has no fallback. */
  default?: string;
}

/**
 * A secret reaches Cloud Run as an environment variable from Secret Manager, and a GKE pod as
 * a file the Secret Manager add-on mounts; the runtime reads `<NAME>_FILE` when `<NAME>` is
 * not set, so both arrive under the same name.
 */
export const FILE_SUFFIX = "_FILE";

export const settings = {
  // ---- Every workload ----
  MODE: {
    description:
      "What the process runs: push (Cloud Run consumer), pull (GKE consumer), local, gateway or tracker.",
    source: { kind: "program" },
  },
  STACK: {
    description:
      "The stack whose declaration overrides apply (dev, prod, …). Required in the cloud.",
    source: { kind: "program" },
  },
  GOOGLE_CLOUD_PROJECT: {
    description: "The project of the topics, the Firestore database and the log trace field.",
    source: { kind: "program" },
  },
  // A consumer is given exactly one of the two databases (infra/model/databases.ts): an
  // archiver the event store, any other consumer the state database; the gateway and the
  // tracker neither, for they read no database.
  FIRESTORE_EVENT_STORE_DATABASE: {
    description:
      "The Firestore database of the event store (events/), which an archiver appends every event to. Archivers only.",
    source: { kind: "program" },
    default: "(default)",
  },
  FIRESTORE_STATE_DATABASE: {
    description:
      "The Firestore database of a consumer's state: its projections, processed records, outbox and outbound/. Consumers other than archivers only.",
    source: { kind: "program" },
    default: "(default)",
  },
  PORT: {
    description:
      "The HTTP port (push requests, /healthz, /readyz, /metrics); Cloud Run sets it, the image defaults it.",
    source: { kind: "platform" },
    default: "8080",
  },
  LOG_LEVEL: {
    description: "trace, debug, info, warn, error, fatal or silent.",
    source: { kind: "program" },
    default: "info",
  },
  EVENTLINE_TRACE_EXPORT: {
    description:
      "cloud-trace: send spans to Cloud Trace as the workload's account (the program sets it on every workload); none: none there. OTEL_EXPORTER_OTLP_ENDPOINT adds an OTLP endpoint either way; with neither, the workload makes no spans.",
    source: { kind: "program" },
    default: "none",
  },
  EVENTLINE_TRACE_SAMPLE_RATIO: {
    description:
      "The share of new traces kept, 0 to 1; a trace that arrives sampled (or not) stays so.",
    source: { kind: "config", key: "eventline:traceSampleRatio" },
    default: "0.1",
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    description:
      "An OTLP/HTTP endpoint (http://collector:4318) to send spans to as well, at /v1/traces.",
    source: { kind: "local" },
  },

  // ---- Consumers ----
  HANDLER: {
    description: "The consumer to run (a consumer name in infra/system.ts).",
    source: { kind: "program" },
  },
  SUBSCRIPTION: {
    description:
      "The subscription a pull consumer pulls: its take-over's output, so the workers move to a new one only once it has its predecessor's backlog. Default: the one the declaration names.",
    source: { kind: "program" },
  },
  DRAINING_SUBSCRIPTION: {
    description:
      "The subscription a pull consumer had before its last filter or ordering change: pulled too until it is retired, then no more.",
    source: { kind: "program" },
  },
  PUSH_AUDIENCE: {
    description: "The audience of the push subscription's OIDC token. Required for push consumers.",
    source: { kind: "program" },
  },
  PUSH_SERVICE_ACCOUNT: {
    description: "The service account the subscription pushes as (the token's email).",
    source: { kind: "program" },
  },
  TOKEN_JWKS_URL: {
    description:
      "Where the keys that sign inbound ID tokens (Pub/Sub's pushes, producers' requests) are.",
    source: { kind: "local" },
    default: "https://www.googleapis.com/oauth2/v3/certs",
  },
  TOKEN_ISSUER: {
    description: "The issuer inbound ID tokens must carry.",
    source: { kind: "local" },
    default: "https://accounts.google.com",
  },

  // ---- The gateway ----
  EVENTLINE_GATEWAY_AUDIENCE: {
    description: "The audience producers' ID tokens must carry (the gateway's custom audience).",
    source: { kind: "program" },
  },
  EVENTLINE_PRODUCER_ACCOUNTS: {
    description: "JSON: each declared producer's service account email, by producer name.",
    source: { kind: "program" },
  },
  PUSH_VERIFY: {
    description: "off: accept push requests without a token. Local mode only.",
    source: { kind: "local" },
  },
  PULL_TRANSPORT: {
    description:
      "streaming or unary: how a pull consumer pulls. Default: unary against the emulator, streaming against Pub/Sub.",
    source: { kind: "local" },
  },
  PUBSUB_EMULATOR_HOST: {
    description: "The Pub/Sub emulator (host:port). Required in local mode.",
    source: { kind: "local" },
  },
  FIRESTORE_EMULATOR_HOST: {
    description: "The Firestore emulator (host:port). Required in local mode.",
    source: { kind: "local" },
  },
  EVENTLINE_SETTINGS_REPORT: {
    description:
      "A file the runtime writes the names of the settings it read to (eventline verify sets it).",
    source: { kind: "local" },
  },

  // ---- Capability smtp ----
  EVENTLINE_EMAIL_TRANSPORT: {
    description:
      "smtp sends through EVENTLINE_SMTP_URL; outbox records each email into Firestore outbound/ instead. Locally, outbox.",
    source: { kind: "config", key: "eventline:emailTransport" },
    default: "smtp",
  },
  EVENTLINE_SMTP_URL: {
    description: "smtp(s)://user:password@host:port, for the smtp transport.",
    source: {
      kind: "secret",
      key: "eventline:smtpUrl",
      example: "smtps://user:password@smtp.example.com:465",
    },
  },
  EVENTLINE_MAIL_FROM: {
    description: "The From header of every email.",
    source: { kind: "config", key: "eventline:mailFrom" },
    default: "Eventline <no-reply@eventline.local>",
  },

  // ---- Capability messaging (SMS and WhatsApp) ----
  EVENTLINE_MESSAGING_TRANSPORT: {
    description:
      "twilio sends through a Twilio-style REST API; outbox records each text into Firestore outbound/ instead. Locally, outbox.",
    source: { kind: "config", key: "eventline:messagingTransport" },
    default: "twilio",
  },
  EVENTLINE_MESSAGING_URL: {
    description: "The messaging provider's base URL.",
    source: { kind: "config", key: "eventline:messagingUrl" },
    default: "https://api.twilio.com",
  },
  EVENTLINE_MESSAGING_ACCOUNT_SID: {
    description: "The messaging provider's account sid, for twilio.",
    source: { kind: "config", key: "eventline:messagingAccountSid" },
  },
  EVENTLINE_MESSAGING_AUTH_TOKEN: {
    description: "The messaging provider's auth token, for twilio.",
    source: {
      kind: "secret",
      key: "eventline:messagingAuthToken",
      example: "0123456789abcdef0123456789abcdef",
    },
  },
  EVENTLINE_SMS_FROM: {
    description: "The SMS sender number (E.164), for twilio.",
    source: { kind: "config", key: "eventline:smsFrom" },
  },
  EVENTLINE_WHATSAPP_FROM: {
    description: "The WhatsApp sender number (E.164), for twilio.",
    source: { kind: "config", key: "eventline:whatsappFrom" },
  },

  // ---- Capability tracking-links, and the tracker ----
  EVENTLINE_TRACKER_URL: {
    description:
      "The tracker's public base URL: the open pixel and click links point there. The program sets the tracker's URL, or https://<eventline:trackerDomain>. Locally, the local server.",
    source: { kind: "program" },
  },
  EVENTLINE_CARD_BASE_URL: {
    description: "Where shared cards are shown: <url>/cards/<cardId> is a click's destination.",
    source: { kind: "config", key: "eventline:cardBaseUrl" },
  },
  EVENTLINE_REDIRECT_HOSTS: {
    description:
      "Comma-separated hosts a tracking click may redirect to, besides the card base URL's host.",
    source: { kind: "config", key: "eventline:redirectHosts" },
    default: "",
  },

  // ---- Capability hooks: the consumers that POST events to outside agents ----
  EVENTLINE_HOOK_SIGNING_SECRET: {
    description:
      "The Standard Webhooks signing secret (whsec_ and base64 of 24 to 64 bytes) hooks sign every delivery with. Locally, a fixed local secret that eventline hooks listen uses too.",
    source: {
      kind: "secret",
      key: "eventline:hookSigningSecret",
      example: "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    },
  },
  EVENTLINE_HOOK_BASE_URL: {
    description:
      "Sends every hook to <url>/<hook name> instead of its declared address: a local receiver (eventline hooks listen, eventline verify). Never deployed.",
    source: { kind: "local" },
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof settings;

/** The settings each capability brings to the consumers whose handlers use it. */
export const capabilitySettings: Readonly<Record<Capability, readonly SettingName[]>> = {
  smtp: ["EVENTLINE_EMAIL_TRANSPORT", "EVENTLINE_SMTP_URL", "EVENTLINE_MAIL_FROM"],
  messaging: [
    "EVENTLINE_MESSAGING_TRANSPORT",
    "EVENTLINE_MESSAGING_URL",
    "EVENTLINE_MESSAGING_ACCOUNT_SID",
    "EVENTLINE_MESSAGING_AUTH_TOKEN",
    "EVENTLINE_SMS_FROM",
    "EVENTLINE_WHATSAPP_FROM",
  ],
  "tracking-links": ["EVENTLINE_TRACKER_URL", "EVENTLINE_CARD_BASE_URL"],
  hooks: ["EVENTLINE_HOOK_SIGNING_SECRET"],
};

/** The tracker's own settings besides those of every workload. */
export const trackerSettings: readonly SettingName[] = [
  "EVENTLINE_CARD_BASE_URL",
  "EVENTLINE_REDIRECT_HOSTS",
];

/** Whether `name` is a setting of the catalog. */
export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(settings, name);
}
