/**
 * Which adapter implementation a process uses, from its environment. A handler asks at call
 * time (the registry is built at import, before anything is configured) and gets the same
 * adapter for every call with the same Firestore client.
 *
 *   EVENTLINE_EMAIL_TRANSPORT      smtp | outbox. Default: smtp when EVENTLINE_SMTP_URL is set,
 *                                  outbox when local (MODE=local, or FIRESTORE_EMULATOR_HOST set),
 *                                  otherwise an error naming the variables.
 *   EVENTLINE_SMTP_URL             smtp(s)://user:password@host:port, for smtp.
 *   EVENTLINE_MAIL_FROM            the From header. Default "Eventline <no-reply@eventline.local>".
 *   EVENTLINE_MESSAGING_TRANSPORT  twilio | outbox, for SMS and WhatsApp. Default: twilio when
 *                                  EVENTLINE_MESSAGING_ACCOUNT_SID is set, outbox when local.
 *   EVENTLINE_MESSAGING_URL        the provider's base URL. Default https://api.twilio.com.
 *   EVENTLINE_MESSAGING_ACCOUNT_SID, EVENTLINE_MESSAGING_AUTH_TOKEN   the provider's credentials.
 *   EVENTLINE_SMS_FROM, EVENTLINE_WHATSAPP_FROM   the sender numbers (E.164). Required for twilio.
 *   EVENTLINE_GATEWAY_URL          the gateway's public base URL, for tracking links. Default
 *                                  http://localhost:8080 when local, otherwise required.
 *   EVENTLINE_CARD_BASE_URL        where cards are shown. Default: the gateway's URL.
 */
import type { Firestore } from "@google-cloud/firestore";
import { OutboxEmailAdapter, SmtpEmailAdapter, type EmailAdapter } from "./email";
import { OutboundRecorder } from "./outbound";
import { OutboxTextAdapter, TwilioStyleAdapter, type TextMessageAdapter, type TextChannel } from "./text-messages";

export const DEFAULT_MAIL_FROM = "Eventline <no-reply@eventline.local>";
export const DEFAULT_MESSAGING_URL = "https://api.twilio.com";
export const LOCAL_GATEWAY_URL = "http://localhost:8080";
/** The local outbox's sender numbers (the provider's documented test number). */
const LOCAL_FROM: Readonly<Record<TextChannel, string>> = { sms: "+15005550006", whatsapp: "+15005550006" };

/** A missing or bad setting, named with its fix. */
export class AdapterConfigError extends Error {
  override readonly name = "AdapterConfigError";
}

function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function requireSetting(env: NodeJS.ProcessEnv, name: string, why: string): string {
  const value = setting(env, name);
  if (value === undefined) throw new AdapterConfigError(`${name} is not set: ${why}`);
  return value;
}

/**
 * Whether the process runs locally: MODE=local, or Firestore is the emulator (where the
 * outbox's records land anyway, and a real send would surprise whoever runs it).
 */
function isLocal(env: NodeJS.ProcessEnv): boolean {
  return env["MODE"] === "local" || setting(env, "FIRESTORE_EMULATOR_HOST") !== undefined;
}

function transport<T extends string>(env: NodeJS.ProcessEnv, name: string, real: T, realSignal: string): T | "outbox" {
  const chosen = setting(env, name);
  if (chosen === real || chosen === "outbox") return chosen as T | "outbox";
  if (chosen !== undefined) throw new AdapterConfigError(`${name}=${chosen}: use ${real} or outbox`);
  if (setting(env, realSignal) !== undefined) return real;
  if (isLocal(env)) return "outbox";
  throw new AdapterConfigError(`${name} is not set: set it to ${real} (with ${realSignal}) to send, or to outbox to record into Firestore outbound/`);
}

/** Firestore clients whose adapters only record (see {@link recordOnlyAdapters}). */
const recordOnly = new WeakSet<Firestore>();

/**
 * Makes every adapter built for `firestore` the outbox one, whatever the environment says:
 * replay (infra/replay) runs handlers against an isolated database, and a replayed event must
 * not send an email or a text a second time. The records land in that database's outbound/.
 */
export function recordOnlyAdapters(firestore: Firestore): void {
  recordOnly.add(firestore);
}

/** The email adapter `env` asks for. @throws AdapterConfigError naming a missing or bad variable. */
export function emailAdapterFromEnv(env: NodeJS.ProcessEnv, firestore: Firestore): EmailAdapter {
  const from = setting(env, "EVENTLINE_MAIL_FROM") ?? DEFAULT_MAIL_FROM;
  if (recordOnly.has(firestore) || transport(env, "EVENTLINE_EMAIL_TRANSPORT", "smtp", "EVENTLINE_SMTP_URL") === "outbox") return new OutboxEmailAdapter(new OutboundRecorder(firestore), from);
  return new SmtpEmailAdapter({ url: requireSetting(env, "EVENTLINE_SMTP_URL", "the SMTP server to send through, smtp(s)://user:password@host:port"), from });
}

/** The SMS and WhatsApp adapter `env` asks for. @throws AdapterConfigError naming a missing or bad variable. */
export function textAdapterFromEnv(env: NodeJS.ProcessEnv, firestore: Firestore): TextMessageAdapter {
  if (recordOnly.has(firestore) || transport(env, "EVENTLINE_MESSAGING_TRANSPORT", "twilio", "EVENTLINE_MESSAGING_ACCOUNT_SID") === "outbox") return new OutboxTextAdapter(new OutboundRecorder(firestore), LOCAL_FROM);
  const from = (channel: TextChannel): string => requireSetting(env, channel === "sms" ? "EVENTLINE_SMS_FROM" : "EVENTLINE_WHATSAPP_FROM", `the ${channel} sender number, E.164`);
  return new TwilioStyleAdapter({
    baseUrl: setting(env, "EVENTLINE_MESSAGING_URL") ?? DEFAULT_MESSAGING_URL,
    accountSid: requireSetting(env, "EVENTLINE_MESSAGING_ACCOUNT_SID", "the messaging provider's account sid"),
    authToken: requireSetting(env, "EVENTLINE_MESSAGING_AUTH_TOKEN", "the messaging provider's auth token"),
    from: { sms: from("sms"), whatsapp: from("whatsapp") },
  });
}

/** Where tracking links point. */
export interface LinkSettings {
  gatewayUrl: string;
  cardBaseUrl: string;
}

/** The tracking link settings `env` gives. @throws AdapterConfigError when the gateway URL is missing and the process is not local. */
export function linkSettingsFromEnv(env: NodeJS.ProcessEnv): LinkSettings {
  const gatewayUrl = setting(env, "EVENTLINE_GATEWAY_URL") ?? (isLocal(env) ? LOCAL_GATEWAY_URL : undefined);
  if (gatewayUrl === undefined) throw new AdapterConfigError("EVENTLINE_GATEWAY_URL is not set: invitations link to the gateway's /t/open and /t/click endpoints");
  return { gatewayUrl, cardBaseUrl: setting(env, "EVENTLINE_CARD_BASE_URL") ?? gatewayUrl };
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
