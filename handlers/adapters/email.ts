/**
 * Sending email: the adapter interface, the real implementation over SMTP (nodemailer), and
 * the local one that records into `outbound/` (outbound.ts). Handlers call `send` through
 * `ctx.breaker("smtp")`, which adds the timeout, retries and circuit breaker; the adapter's
 * job is to speak SMTP and to sort failures into the error taxonomy:
 *
 * - SMTP 5yz replies are permanent (RFC 5321 §4.2.1: "permanent negative completion"), as is
 *   a message nodemailer cannot address at all (EENVELOPE with no reply): the recipient or
 *   the message is wrong.
 * - 4yz replies are transient by the same RFC, also when they refuse a recipient (which
 *   nodemailer reports as EENVELOPE too); connection, greeting, DNS and socket failures and
 *   timeouts say nothing about the message: retryable.
 * - An authentication failure is the sender's configuration, not the message's fault: it is
 *   retryable, so it trips the breaker and the messages wait for the fix instead of being
 *   dead-lettered one by one.
 */
import { createTransport, type Transporter } from "nodemailer";
import { PermanentError, RetryableError } from "../runtime/errors";
import { keyDigest, type OutboundRecorder } from "./outbound";

/** One email to send. */
export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** The same key always yields the same Message-ID, so a resend is recognisably the same message. */
  idempotencyKey: string;
}

/** What the service answered. */
export interface SentEmail {
  messageId: string;
}

export interface EmailAdapter {
  /** @throws PermanentError when the message can never be delivered; RetryableError when it may be later. */
  send(email: OutgoingEmail, signal?: AbortSignal): Promise<SentEmail>;
}

/** The domain of generated Message-IDs when the sender address has none. */
const DEFAULT_MESSAGE_ID_DOMAIN = "eventline.local";

/** The Message-ID of the email sent under an idempotency key (RFC 5322 msg-id form). */
export function messageIdFor(idempotencyKey: string, from: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? DEFAULT_MESSAGE_ID_DOMAIN;
  return `<${keyDigest(idempotencyKey)}@${domain}>`;
}

export interface SmtpEmailOptions {
  /** The SMTP server, e.g. `smtp://user:pass@mail.example.com:587` or `smtps://…:465`. */
  url: string;
  /** The From header, e.g. `Eventline <no-reply@example.com>`. */
  from: string;
  /** Milliseconds to wait for the connection, the greeting and each socket read. Default 10 000. */
  timeoutMs?: number;
}

/** nodemailer's error fields (its errors are plain Errors with these added). */
interface SmtpFailure extends Error {
  code?: string;
  responseCode?: number;
  command?: string;
  response?: string;
}

/** Sorts a nodemailer failure into the error taxonomy. */
export function classifySmtpError(err: unknown): PermanentError | RetryableError {
  const failure = (err instanceof Error ? err : new Error(String(err))) as SmtpFailure;
  const detail = failure.response ?? failure.message;
  const code = failure.responseCode;
  // The reply code decides first: nodemailer reports a refused recipient as EENVELOPE whether the refusal was 4yz or 5yz.
  if (code !== undefined && code >= 400 && code < 500)
    return new RetryableError(`SMTP ${code} on ${failure.command ?? "send"}: ${detail}`, {
      cause: err,
    });
  if (failure.code !== "EAUTH" && code !== undefined && code >= 500 && code < 600) {
    return new PermanentError(
      "rejected-by-server",
      `SMTP ${code} on ${failure.command ?? "send"}: ${detail}`,
      { cause: err },
    );
  }
  // EENVELOPE without a reply: nodemailer itself found no valid recipient or sender.
  if (failure.code === "EENVELOPE")
    return new PermanentError(
      "invalid-recipient",
      `SMTP: the message cannot be addressed: ${detail}`,
      { cause: err },
    );
  return new RetryableError(
    `SMTP ${failure.code ?? "failure"}${failure.responseCode ? ` ${failure.responseCode}` : ""}: ${detail}`,
    { cause: err },
  );
}

/** Sends over SMTP with nodemailer; one pooled transport per adapter. */
export class SmtpEmailAdapter implements EmailAdapter {
  private readonly transport: Transporter;

  constructor(private readonly options: SmtpEmailOptions) {
    const timeout = options.timeoutMs ?? 10_000;
    this.transport = createTransport(options.url, {
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  async send(email: OutgoingEmail): Promise<SentEmail> {
    const messageId = messageIdFor(email.idempotencyKey, this.options.from);
    try {
      const info = await this.transport.sendMail({
        from: this.options.from,
        to: email.to,
        subject: email.subject,
        text: email.text,
        ...(email.html !== undefined && { html: email.html }),
        messageId,
      });
      return { messageId: info.messageId || messageId };
    } catch (err) {
      throw classifySmtpError(err);
    }
  }

  /** Closes the transport's pooled connections. */
  close(): void {
    this.transport.close();
  }
}

/** Records emails in `outbound/` instead of sending them (the local environment's mail catcher). */
export class OutboxEmailAdapter implements EmailAdapter {
  constructor(
    private readonly recorder: OutboundRecorder,
    private readonly from: string,
  ) {}

  async send(email: OutgoingEmail): Promise<SentEmail> {
    const messageId = await this.recorder.record(
      { channel: "email", from: this.from, ...email },
      messageIdFor(email.idempotencyKey, this.from),
    );
    return { messageId };
  }
}
