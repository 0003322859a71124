/**
 * Sending SMS and WhatsApp messages: the adapter interface, the real implementation against
 * a Twilio-style REST API, and the local one that records into `outbound/` (outbound.ts).
 *
 * The provider's API (Twilio's Programmable Messaging, which other providers copy):
 *   POST <base>/2010-04-01/Accounts/<account sid>/Messages.json
 *   Authorization: Basic base64(<account sid>:<auth token>)
 *   Content-Type: application/x-www-form-urlencoded; body To, From, Body
 *   → 201 { "sid": "SM…", "status": "queued", … }
 *   → 4xx { "code": 21211, "message": "The 'To' number … is not a valid phone number." }
 * WhatsApp goes through the same endpoint with `whatsapp:` before both numbers.
 *
 * Failures: a 4xx is the request's fault and permanent (an invalid number stays invalid),
 * except 408 and 429, which say "not now"; a 5xx, a timeout or a lost connection is the
 * service's and retryable. Each request carries an Idempotency-Key header (IETF
 * draft-ietf-httpapi-idempotency-key-header) so that a provider honouring it, and the local
 * test provider, send a retried request once.
 */
import { PermanentError, RetryableError } from "../runtime/errors";
import { keyDigest, type OutboundRecorder } from "./outbound";

export type TextChannel = "sms" | "whatsapp";

/** One text message to send. */
export interface OutgoingText {
  channel: TextChannel;
  /** E.164 number, e.g. +4915112345678. */
  to: string;
  body: string;
  idempotencyKey: string;
}

export interface SentText {
  /** The provider's message id (Twilio's `sid`). */
  messageId: string;
}

export interface TextMessageAdapter {
  /** @throws PermanentError when the message can never be sent; RetryableError when it may be later. */
  send(message: OutgoingText, signal?: AbortSignal): Promise<SentText>;
}

export interface TwilioStyleOptions {
  /** The API's base URL, e.g. `https://api.twilio.com`. */
  baseUrl: string;
  accountSid: string;
  authToken: string;
  /** The sender number per channel, E.164 (without the `whatsapp:` prefix). */
  from: Readonly<Record<TextChannel, string>>;
}

/** HTTP statuses in the 4xx range that mean "try again later". */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 429]);

/** An address in the provider's form: WhatsApp numbers carry the `whatsapp:` scheme. */
export function providerAddress(channel: TextChannel, number: string): string {
  return channel === "whatsapp" && !number.startsWith("whatsapp:") ? `whatsapp:${number}` : number;
}

async function errorDetail(response: Response): Promise<string> {
  const body = await response.text().catch(() => "");
  try {
    const parsed = JSON.parse(body) as { code?: number; message?: string };
    if (parsed.message)
      return parsed.code !== undefined ? `${parsed.code} ${parsed.message}` : parsed.message;
  } catch {
    // Not JSON: the raw text is the best description there is.
  }
  return body.slice(0, 200) || response.statusText;
}

/** Sends through a Twilio-style REST API with fetch. */
export class TwilioStyleAdapter implements TextMessageAdapter {
  private readonly endpoint: string;
  private readonly authorization: string;

  constructor(private readonly options: TwilioStyleOptions) {
    this.endpoint = `${options.baseUrl.replace(/\/+$/, "")}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
    this.authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString("base64")}`;
  }

  async send(message: OutgoingText, signal?: AbortSignal): Promise<SentText> {
    const form = new URLSearchParams({
      To: providerAddress(message.channel, message.to),
      From: providerAddress(message.channel, this.options.from[message.channel]),
      Body: message.body,
    });
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: {
          authorization: this.authorization,
          "content-type": "application/x-www-form-urlencoded",
          "idempotency-key": message.idempotencyKey,
          accept: "application/json",
        },
        body: form,
        ...(signal !== undefined && { signal }),
      });
    } catch (err) {
      throw new RetryableError(
        `${message.channel} provider unreachable: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    if (
      response.status >= 400 &&
      response.status < 500 &&
      !RETRYABLE_CLIENT_STATUSES.has(response.status)
    ) {
      throw new PermanentError(
        `provider-${response.status}`,
        `${message.channel} provider rejected the message (${response.status}): ${await errorDetail(response)}`,
      );
    }
    if (!response.ok)
      throw new RetryableError(
        `${message.channel} provider answered ${response.status}: ${await errorDetail(response)}`,
      );
    const sent = (await response.json().catch(() => ({}))) as { sid?: unknown };
    if (typeof sent.sid !== "string" || sent.sid === "")
      throw new RetryableError(
        `${message.channel} provider answered ${response.status} without a message sid`,
      );
    return { messageId: sent.sid };
  }
}

/** Records text messages in `outbound/` instead of sending them. */
export class OutboxTextAdapter implements TextMessageAdapter {
  constructor(
    private readonly recorder: OutboundRecorder,
    private readonly from: Readonly<Record<TextChannel, string>>,
  ) {}

  async send(message: OutgoingText): Promise<SentText> {
    // Twilio-shaped sids: "SM" and 32 hex digits, derived from the key so a repeat gets the same one.
    const messageId = await this.recorder.record(
      {
        channel: message.channel,
        to: message.to,
        from: this.from[message.channel],
        text: message.body,
        idempotencyKey: message.idempotencyKey,
      },
      `SM${keyDigest(message.idempotencyKey)}`,
    );
    return { messageId };
  }
}
