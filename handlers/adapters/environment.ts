/**
 * The settings of each capability a handler contract may `use` (infra/model/settings.ts lists
 * the variables), and the adapter implementation they select. The launcher checks a
 * consumer's capabilities when it starts ({@link capabilityChecks}): a workload missing a
 * setting exits with every missing one named before it takes a message, so no event is ever
 * retried or dead-lettered for a setting. Handlers then read the same settings when they
 * first run, through the process's {@link processSettings}.
 *
 * In local mode (MODE=local, `npm start`) email and texts go to a Firestore outbox unless a
 * transport is named, and tracking links point at the local server.
 */
import type { Firestore } from "@google-cloud/firestore";
import type { Capability } from "../../infra/model/settings";
import { ConfigError, processSettings, type Settings } from "../runtime/settings";
import { OutboxEmailAdapter, SmtpEmailAdapter, type EmailAdapter } from "./email";
import { LOCAL_HOOK_SIGNING_SECRET } from "./local-hook-secret";
import { OutboundRecorder } from "./outbound";
import {
  OutboxTextAdapter,
  TwilioStyleAdapter,
  type TextMessageAdapter,
  type TextChannel,
} from "./text-messages";

export const LOCAL_TRACKER_URL = "http://localhost:8080";
/** The local outbox's sender numbers (the provider's documented test number). */
const LOCAL_FROM: Readonly<Record<TextChannel, string>> = {
  sms: "+15005550006",
  whatsapp: "+15005550006",
};

/** Whether the process runs locally (MODE=local), where sending defaults to the outbox. */
function isLocal(settings: Settings): boolean {
  return settings.get("MODE") === "local";
}

/**
 * Reads every setting `read` asks for, and reports every missing or bad one together.
 * @throws ConfigError with one line per problem.
 */
function collect<T>(read: (problems: string[]) => T): T {
  const problems: string[] = [];
  const value = read(problems);
  if (problems.length > 0) throw new ConfigError(problems.join("\n"));
  return value;
}

function required(
  settings: Settings,
  problems: string[],
  name: Parameters<Settings["require"]>[0],
  why: string,
): string {
  try {
    return settings.require(name, why);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(err.message);
    return "";
  }
}

function transportOf<T extends string>(
  settings: Settings,
  problems: string[],
  name: "EVENTLINE_EMAIL_TRANSPORT" | "EVENTLINE_MESSAGING_TRANSPORT",
  real: T,
): T | "outbox" {
  const chosen = isLocal(settings) ? (settings.get(name) ?? "outbox") : settings.withDefault(name);
  if (chosen === real || chosen === "outbox") return chosen as T | "outbox";
  problems.push(`${name} is "${chosen}": use ${real} or outbox`);
  return "outbox";
}

/** What the smtp capability configures. */
export type EmailSettings =
  { transport: "outbox"; from: string } | { transport: "smtp"; smtpUrl: string; from: string };

/** @throws ConfigError naming every missing or bad variable. */
export function emailSettings(settings: Settings): EmailSettings {
  return collect((problems) => {
    const from = settings.withDefault("EVENTLINE_MAIL_FROM");
    const transport = transportOf(settings, problems, "EVENTLINE_EMAIL_TRANSPORT", "smtp");
    if (transport === "outbox") return { transport, from };
    const smtpUrl = required(
      settings,
      problems,
      "EVENTLINE_SMTP_URL",
      "the SMTP server to send through, smtp(s)://user:password@host:port (pulumi config set --secret eventline:smtpUrl …), or set EVENTLINE_EMAIL_TRANSPORT=outbox",
    );
    return { transport, smtpUrl, from };
  });
}

/** What the messaging capability configures. */
export type TextSettings =
  | { transport: "outbox" }
  | {
      transport: "twilio";
      baseUrl: string;
      accountSid: string;
      authToken: string;
      from: Record<TextChannel, string>;
    };

/** @throws ConfigError naming every missing or bad variable. */
export function textSettings(settings: Settings): TextSettings {
  return collect((problems) => {
    const transport = transportOf(settings, problems, "EVENTLINE_MESSAGING_TRANSPORT", "twilio");
    if (transport === "outbox") return { transport };
    return {
      transport,
      baseUrl: settings.withDefault("EVENTLINE_MESSAGING_URL"),
      accountSid: required(
        settings,
        problems,
        "EVENTLINE_MESSAGING_ACCOUNT_SID",
        "the messaging provider's account sid (pulumi config set eventline:messagingAccountSid …)",
      ),
      authToken: required(
        settings,
        problems,
        "EVENTLINE_MESSAGING_AUTH_TOKEN",
        "the messaging provider's auth token (pulumi config set --secret eventline:messagingAuthToken …)",
      ),
      from: {
        sms: required(
          settings,
          problems,
          "EVENTLINE_SMS_FROM",
          "the SMS sender number, E.164 (pulumi config set eventline:smsFrom +15550001111)",
        ),
        whatsapp: required(
          settings,
          problems,
          "EVENTLINE_WHATSAPP_FROM",
          "the WhatsApp sender number, E.164 (pulumi config set eventline:whatsappFrom +15550001111)",
        ),
      },
    };
  });
}

/** Where tracking links point. */
export interface LinkSettings {
  /** The tracker's public base URL: `/t/open` and `/t/click` are under it. */
  trackerUrl: string;
  /** Where cards are shown: a click lands on `<cardBaseUrl>/cards/<cardId>`. */
  cardBaseUrl: string;
}

function urlProblem(name: string, value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:"
      ? undefined
      : `${name} "${value}" is not an http(s) URL`;
  } catch {
    return `${name} "${value}" is not a URL`;
  }
}

/** @throws ConfigError naming every missing or bad variable. */
export function linkSettings(settings: Settings): LinkSettings {
  return collect((problems) => {
    const local = isLocal(settings);
    const trackerUrl = local
      ? settings.withDefault("EVENTLINE_TRACKER_URL", LOCAL_TRACKER_URL)
      : required(
          settings,
          problems,
          "EVENTLINE_TRACKER_URL",
          "invitations link to the tracker's /t/open and /t/click (the program sets the tracker's URL)",
        );
    const cardBaseUrl = local
      ? settings.withDefault("EVENTLINE_CARD_BASE_URL", trackerUrl)
      : required(
          settings,
          problems,
          "EVENTLINE_CARD_BASE_URL",
          "a click lands on <url>/cards/<cardId> (pulumi config set eventline:cardBaseUrl https://app.example.com)",
        );
    for (const [name, value] of [
      ["EVENTLINE_TRACKER_URL", trackerUrl],
      ["EVENTLINE_CARD_BASE_URL", cardBaseUrl],
    ] as const) {
      const problem = value ? urlProblem(name, value) : undefined;
      if (problem !== undefined) problems.push(problem);
    }
    return { trackerUrl, cardBaseUrl };
  });
}

/** What the hooks capability configures. */
export interface HookSettings {
  signingSecret: string;
}

/** @throws ConfigError when the secret is missing, or is not a Standard Webhooks secret. */
export function hookSettings(settings: Settings): HookSettings {
  return collect((problems) => {
    const signingSecret = isLocal(settings)
      ? settings.withDefault("EVENTLINE_HOOK_SIGNING_SECRET", LOCAL_HOOK_SIGNING_SECRET)
      : required(
          settings,
          problems,
          "EVENTLINE_HOOK_SIGNING_SECRET",
          "hooks sign every delivery with it (pulumi config set --secret eventline:hookSigningSecret whsec_<base64 of 24 to 64 random bytes>)",
        );
    if (signingSecret !== "") {
      const key = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(signingSecret)?.[1];
      const bytes = key === undefined ? 0 : Buffer.from(key, "base64").length;
      if (bytes < 24 || bytes > 64)
        problems.push(
          "EVENTLINE_HOOK_SIGNING_SECRET is not whsec_ and the base64 of 24 to 64 bytes (openssl rand -base64 32 makes one)",
        );
    }
    return { signingSecret };
  });
}

/** Each capability's check, which the launcher runs before a consumer takes messages. */
export const capabilityChecks: Readonly<Record<Capability, (settings: Settings) => unknown>> = {
  smtp: emailSettings,
  messaging: textSettings,
  "tracking-links": linkSettings,
  hooks: hookSettings,
};

/** The hooks' signing secret of this process. */
export function processHookSettings(): HookSettings {
  return hookSettings(processSettings());
}

/** Firestore clients whose adapters only record (see {@link recordOnlyAdapters}). */
const recordOnly = new WeakSet<Firestore>();

/**
 * Makes every adapter built for `firestore` the outbox one, whatever the settings say:
 * replay runs handlers against an isolated database, and a replayed event must not send an
 * email or a text a second time. The records land in that database's outbound/.
 */
export function recordOnlyAdapters(firestore: Firestore): void {
  recordOnly.add(firestore);
}

/** Whether outside calls made with `firestore` must only be recorded (replay, backtests). */
export function isRecordOnly(firestore: Firestore): boolean {
  return recordOnly.has(firestore);
}

/** The email adapter the settings ask for. @throws ConfigError naming a missing or bad variable. */
export function emailAdapterFrom(settings: Settings, firestore: Firestore): EmailAdapter {
  const email = emailSettings(settings);
  if (recordOnly.has(firestore) || email.transport === "outbox")
    return new OutboxEmailAdapter(new OutboundRecorder(firestore), email.from);
  return new SmtpEmailAdapter({ url: email.smtpUrl, from: email.from });
}

/** The SMS and WhatsApp adapter the settings ask for. @throws ConfigError naming a missing or bad variable. */
export function textAdapterFrom(settings: Settings, firestore: Firestore): TextMessageAdapter {
  const text = textSettings(settings);
  if (recordOnly.has(firestore) || text.transport === "outbox")
    return new OutboxTextAdapter(new OutboundRecorder(firestore), LOCAL_FROM);
  return new TwilioStyleAdapter({
    baseUrl: text.baseUrl,
    accountSid: text.accountSid,
    authToken: text.authToken,
    from: text.from,
  });
}

/** The email adapter of this process's settings, one per Firestore client. */
export const processEmailAdapter = perFirestore((firestore) =>
  emailAdapterFrom(processSettings(), firestore),
);

/** The text adapter of this process's settings, one per Firestore client. */
export const processTextAdapter = perFirestore((firestore) =>
  textAdapterFrom(processSettings(), firestore),
);

/** The tracking link settings of this process. */
export function processLinkSettings(): LinkSettings {
  return linkSettings(processSettings());
}

/**
 * One value per Firestore client, made on first use: adapters hold connections (SMTP pools),
 * and a process has one Firestore client, so this is one adapter per process.
 */
export function perFirestore<T>(make: (firestore: Firestore) => T): (firestore: Firestore) => T {
  const made = new WeakMap<Firestore, T>();
  return (firestore) => {
    let value = made.get(firestore);
    if (value === undefined) {
      value = make(firestore);
      made.set(firestore, value);
    }
    return value;
  };
}
