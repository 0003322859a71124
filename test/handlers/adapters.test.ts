import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  classifySmtpError,
  messageIdFor,
  OutboxEmailAdapter,
  SmtpEmailAdapter,
} from "../../handlers/adapters/email";
import {
  emailAdapterFrom,
  emailSettings,
  linkSettings,
  LOCAL_TRACKER_URL,
  textAdapterFrom,
  textSettings,
} from "../../handlers/adapters/environment";
import { keyDigest, OUTBOUND_COLLECTION, OutboundRecorder } from "../../handlers/adapters/outbound";
import {
  OutboxTextAdapter,
  providerAddress,
  TwilioStyleAdapter,
} from "../../handlers/adapters/text-messages";
import { surelyNotSent } from "../../handlers/marketplace/email-dispatcher";
import { PermanentError, RetryableError } from "../../handlers/runtime/errors";
import { ConfigError, Settings } from "../../handlers/runtime/settings";
import { OutsideCall } from "../../handlers/runtime/resilience";
import { BrokenCircuitError } from "cockatiel";
import { useEmulators } from "../support/emulators";
import {
  startMessagingProvider,
  type MessagingProvider,
} from "../../tools/verify/stand-ins/messaging-provider";

const env = useEmulators();

describe("SMTP failures", () => {
  const smtpError = (fields: Record<string, unknown>) =>
    Object.assign(new Error("smtp failure"), fields);
  it.each([
    [
      "a refused recipient (550)",
      { code: "EENVELOPE", responseCode: 550, command: "RCPT TO" },
      PermanentError,
      "rejected-by-server",
    ],
    [
      "a message refused after DATA (554)",
      { code: "EMESSAGE", responseCode: 554, command: "DATA" },
      PermanentError,
      "rejected-by-server",
    ],
    ["no valid recipient at all", { code: "EENVELOPE" }, PermanentError, "invalid-recipient"],
    [
      "a recipient refused for now (451)",
      { code: "EENVELOPE", responseCode: 451, command: "RCPT TO" },
      RetryableError,
      undefined,
    ],
    [
      "a failed login (535): configuration, not the message",
      { code: "EAUTH", responseCode: 535, command: "AUTH PLAIN" },
      RetryableError,
      undefined,
    ],
    ["no connection", { code: "ECONNECTION" }, RetryableError, undefined],
    ["a timeout", { code: "ETIMEDOUT" }, RetryableError, undefined],
  ])("classify %s", (_, fields, kind, reason) => {
    const classified = classifySmtpError(smtpError(fields));
    expect(classified).toBeInstanceOf(kind);
    if (reason !== undefined) expect((classified as PermanentError).reason).toBe(reason);
  });

  it("derive the Message-ID from the key and the sender's domain", () => {
    expect(messageIdFor("inv-1", "Eventline <invite@example.com>")).toBe(
      `<${keyDigest("inv-1")}@example.com>`,
    );
    expect(messageIdFor("inv-1", "nobody")).toBe(`<${keyDigest("inv-1")}@eventline.local>`);
  });
});

describe("what the dispatcher counts as surely not sent", () => {
  it.each([
    [
      "a 4yz refusal",
      new RetryableError("x", { cause: Object.assign(new Error("451"), { responseCode: 451 }) }),
      true,
    ],
    [
      "no connection",
      new RetryableError("x", {
        cause: Object.assign(new Error("refused"), { code: "ECONNECTION" }),
      }),
      true,
    ],
    ["an open circuit", new RetryableError("x", { cause: new BrokenCircuitError() }), true],
    [
      "a timeout mid-message",
      new RetryableError("x", {
        cause: Object.assign(new Error("timeout"), { code: "ETIMEDOUT" }),
      }),
      false,
    ],
    ["an unknown error", new Error("?"), false],
  ])("%s: %s", (_, err, expected) => {
    expect(surelyNotSent(err)).toBe(expected);
  });
});

describe("adapter selection from the settings", () => {
  it.each([
    [
      "SMTP when asked for, with a server",
      { EVENTLINE_EMAIL_TRANSPORT: "smtp", EVENTLINE_SMTP_URL: "smtp://127.0.0.1:2525" },
      SmtpEmailAdapter,
    ],
    [
      "SMTP by default outside local mode",
      { MODE: "pull", EVENTLINE_SMTP_URL: "smtp://127.0.0.1:2525" },
      SmtpEmailAdapter,
    ],
    ["the outbox in local mode", { MODE: "local" }, OutboxEmailAdapter],
    [
      "the outbox when asked, even with a server",
      { EVENTLINE_EMAIL_TRANSPORT: "outbox", EVENTLINE_SMTP_URL: "smtp://x" },
      OutboxEmailAdapter,
    ],
  ])("email goes to %s", (_, vars, kind) => {
    const adapter = emailAdapterFrom(new Settings(vars), env.firestore);
    expect(adapter).toBeInstanceOf(kind);
    if (adapter instanceof SmtpEmailAdapter) adapter.close();
  });

  it("reads a secret from the file NAME_FILE names, as a GKE pod receives it", () => {
    const dir = mkdtempSync(join(tmpdir(), "eventline-secret-"));
    writeFileSync(join(dir, "smtp-url"), "smtp://user:pw@127.0.0.1:2525\n");
    const settings = new Settings({ MODE: "pull", EVENTLINE_SMTP_URL_FILE: join(dir, "smtp-url") });
    expect(emailSettings(settings)).toEqual({
      transport: "smtp",
      smtpUrl: "smtp://user:pw@127.0.0.1:2525",
      from: "Eventline <no-reply@eventline.local>",
    });
    expect(settings.read()).toContainEqual({
      name: "EVENTLINE_SMTP_URL",
      required: true,
      from: "file",
    });
  });

  it.each([
    ["no server outside local mode", { MODE: "push" }, "EVENTLINE_SMTP_URL is not set"],
    [
      "the transport is misspelled",
      { EVENTLINE_EMAIL_TRANSPORT: "smpt" },
      'EVENTLINE_EMAIL_TRANSPORT is "smpt": use smtp or outbox',
    ],
    [
      "the file of a secret cannot be read",
      { EVENTLINE_SMTP_URL_FILE: "/nonexistent/smtp-url" },
      "EVENTLINE_SMTP_URL_FILE names /nonexistent/smtp-url, which cannot be read",
    ],
  ])("email configuration fails, naming the variable, when %s", (_, vars, message) => {
    expect(() => emailSettings(new Settings(vars))).toThrow(ConfigError);
    expect(() => emailSettings(new Settings(vars))).toThrow(message);
  });

  it("builds the provider adapter from its settings and names every missing one at once", () => {
    const vars = {
      EVENTLINE_MESSAGING_ACCOUNT_SID: "AC1",
      EVENTLINE_MESSAGING_AUTH_TOKEN: "t",
      EVENTLINE_SMS_FROM: "+15550001111",
      EVENTLINE_WHATSAPP_FROM: "+15550002222",
    };
    expect(textAdapterFrom(new Settings(vars), env.firestore)).toBeInstanceOf(TwilioStyleAdapter);
    expect(textAdapterFrom(new Settings({ MODE: "local" }), env.firestore)).toBeInstanceOf(
      OutboxTextAdapter,
    );
    expect(() => textSettings(new Settings({ EVENTLINE_MESSAGING_ACCOUNT_SID: "AC1" }))).toThrow(
      /EVENTLINE_MESSAGING_AUTH_TOKEN is not set.*\nEVENTLINE_SMS_FROM is not set.*\nEVENTLINE_WHATSAPP_FROM is not set/,
    );
  });

  it("points tracking links at the tracker and cards at the card base URL, or at the local server in local mode", () => {
    expect(
      linkSettings(
        new Settings({
          EVENTLINE_TRACKER_URL: "https://go.example.com",
          EVENTLINE_CARD_BASE_URL: "https://app.example.com",
        }),
      ),
    ).toEqual({ trackerUrl: "https://go.example.com", cardBaseUrl: "https://app.example.com" });
    expect(
      linkSettings(
        new Settings({ MODE: "local", EVENTLINE_CARD_BASE_URL: "https://cards.example.com" }),
      ),
    ).toEqual({ trackerUrl: LOCAL_TRACKER_URL, cardBaseUrl: "https://cards.example.com" });
    expect(() => linkSettings(new Settings({}))).toThrow(
      /EVENTLINE_TRACKER_URL is not set.*\nEVENTLINE_CARD_BASE_URL is not set/,
    );
    expect(() =>
      linkSettings(
        new Settings({
          EVENTLINE_TRACKER_URL: "go.example.com",
          EVENTLINE_CARD_BASE_URL: "https://app.example.com",
        }),
      ),
    ).toThrow('EVENTLINE_TRACKER_URL "go.example.com" is not a URL');
  });
});

describe("the text-message outbox", () => {
  it("records an SMS once per idempotency key with a Twilio-shaped sid", async () => {
    const outbox = new OutboxTextAdapter(new OutboundRecorder(env.firestore), {
      sms: "+15550001111",
      whatsapp: "+15550002222",
    });
    const message = {
      channel: "sms" as const,
      to: "+4915112345678",
      body: "hi",
      idempotencyKey: "inv-outbox-1",
    };
    const sids = [(await outbox.send(message)).messageId, (await outbox.send(message)).messageId];
    expect(sids).toEqual([`SM${keyDigest("inv-outbox-1")}`, `SM${keyDigest("inv-outbox-1")}`]);
    const recorded = await env.firestore
      .collection(OUTBOUND_COLLECTION)
      .where("idempotencyKey", "==", "inv-outbox-1")
      .get();
    expect(recorded.docs.map((d) => d.data())).toEqual([
      {
        channel: "sms",
        to: "+4915112345678",
        from: "+15550001111",
        text: "hi",
        idempotencyKey: "inv-outbox-1",
        messageId: sids[0],
        provider: "outbox",
        recordedAt: expect.anything(),
      },
    ]);
  });
});

describe("the provider adapter behind a circuit breaker", () => {
  let provider: MessagingProvider;
  beforeAll(async () => {
    provider = await startMessagingProvider();
  });
  afterAll(() => provider.close());

  it("stops calling a provider that keeps failing, and says to retry later", async () => {
    provider.reply = () => ({ status: 503, body: { message: "down" } });
    const adapter = new TwilioStyleAdapter({
      baseUrl: provider.baseUrl,
      accountSid: "AC1",
      authToken: "t",
      from: { sms: "+15550001111", whatsapp: "+15550001111" },
    });
    const call = new OutsideCall("sms", { retries: 0, breakAfter: 2, halfOpenAfterMs: 60_000 });
    const send = () =>
      call.execute((signal) =>
        adapter.send(
          { channel: "sms", to: "+4915112345678", body: "x", idempotencyKey: "k" },
          signal,
        ),
      );
    await expect(send()).rejects.toThrow("sms provider answered 503: down");
    await expect(send()).rejects.toThrow("sms provider answered 503: down");
    await expect(send()).rejects.toThrow(
      new RetryableError("sms: the circuit is open after repeated failures"),
    );
    expect(provider.requests).toHaveLength(2);
    expect(call.state).toBe("open");
  });

  it("does not count a rejected number against the provider's health", async () => {
    provider.reply = () => ({ status: 400, body: { code: 21211, message: "invalid" } });
    const adapter = new TwilioStyleAdapter({
      baseUrl: provider.baseUrl,
      accountSid: "AC1",
      authToken: "t",
      from: { sms: "+1", whatsapp: "+1" },
    });
    const call = new OutsideCall("sms-2", { retries: 0, breakAfter: 1 });
    for (let i = 0; i < 3; i++)
      await expect(
        call.execute((signal) =>
          adapter.send({ channel: "sms", to: "+1", body: "x", idempotencyKey: "k" }, signal),
        ),
      ).rejects.toBeInstanceOf(PermanentError);
    expect(call.state).toBe("closed");
  });

  it("addresses WhatsApp with its scheme, once", () => {
    expect([
      providerAddress("whatsapp", "+1555"),
      providerAddress("whatsapp", "whatsapp:+1555"),
      providerAddress("sms", "+1555"),
    ]).toEqual(["whatsapp:+1555", "whatsapp:+1555", "+1555"]);
  });
});
