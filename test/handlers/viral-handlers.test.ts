import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OutboxEmailAdapter, SmtpEmailAdapter, messageIdFor } from "../../handlers/adapters/email";
import { OUTBOUND_COLLECTION, OutboundRecorder } from "../../handlers/adapters/outbound";
import { TwilioStyleAdapter } from "../../handlers/adapters/text-messages";
import type { PayloadInput } from "../../handlers/runtime/event-types";
import { runHandler } from "../../handlers/testing/run-handler";
import { createEmailSender } from "../../handlers/viral/email-sender";
import {
  cardFunnels,
  funnelProjector,
  invitations,
  senderFunnels,
} from "../../handlers/viral/funnel-projector";
import { createSmsSender } from "../../handlers/viral/sms-sender";
import { trackingLinks } from "../../handlers/viral/tracking-links";
import { createWhatsappSender } from "../../handlers/viral/whatsapp-sender";
import { useEmulators } from "../support/emulators";
import {
  startMessagingProvider,
  type MessagingProvider,
} from "../../tools/verify/stand-ins/messaging-provider";
import { startSmtpCatcher, type SmtpCatcher } from "../../tools/verify/stand-ins/smtp-catcher";

const env = useEmulators();
const links = { trackerUrl: "http://tracker.test", cardBaseUrl: "https://cards.test" };
const FROM = "Eventline <invite@eventline.test>";
const REQUESTED_AT = "2026-11-22T10:00:00.000Z";
/** The clock the senders read: 250 ms after the request. */
const now = () => Date.parse(REQUESTED_AT) + 250;

let smtp: SmtpCatcher;
let provider: MessagingProvider;
let smtpAdapter: SmtpEmailAdapter;

beforeAll(async () => {
  smtp = await startSmtpCatcher({ "gone@example.com": 550, "busy@example.com": 451 });
  provider = await startMessagingProvider();
  smtpAdapter = new SmtpEmailAdapter({ url: smtp.url, from: FROM, timeoutMs: 2000 });
});
afterAll(async () => {
  smtpAdapter.close();
  await smtp.close();
  await provider.close();
});

function share(
  invitationId: string,
  channel: string,
  recipient: string,
  extra: Partial<PayloadInput<"com.eventline.share.requested">> = {},
) {
  return {
    type: "com.eventline.share.requested" as const,
    id: `req-${invitationId}`,
    time: REQUESTED_AT,
    data: {
      invitationId,
      senderUserId: "user-1",
      cardId: "card-1",
      channel,
      recipient,
      shareMetadata: { sender_name: "Ana" },
      ...extra,
    },
  };
}

describe("email-sender over SMTP", () => {
  const sender = createEmailSender({ email: () => smtpAdapter, links: () => links, now });

  it("sends the email with the tracking pixel and click link, and reports share.completed", async () => {
    const run = await runHandler(sender, share("inv-e1", "email", "bob@example.com"), {
      firestore: env.firestore,
      deliveryAttempt: 3,
    });
    expect(run.outcome).toEqual({ action: "ack", result: "handled" });
    expect(run.published).toHaveLength(1);
    expect(run.published[0]!.type).toBe("com.eventline.share.completed");
    expect({ ...run.published[0]!.data }).toEqual({
      invitationId: "inv-e1",
      messageId: messageIdFor("inv-e1", FROM),
      retryCount: 2,
      processingTimeMs: 250,
      channel: "email",
      cardId: "card-1",
      senderUserId: "user-1",
    });
    expect(run.published[0]!.meta.causationId).toBe("req-inv-e1");
    const mail = smtp.mails.find((m) => m.to.includes("bob@example.com"))!;
    const expectedLinks = trackingLinks(links.trackerUrl, "inv-e1", "card-1", links.cardBaseUrl);
    expect(mail.from).toBe("invite@eventline.test");
    expect(mail.decoded).toContain("Subject: Ana shared a card with you");
    expect(mail.decoded).toContain(`Message-ID: ${messageIdFor("inv-e1", FROM)}`);
    expect(mail.decoded).toContain('<img src="http://tracker.test/t/open/inv-e1"');
    expect(mail.decoded).toContain(
      'href="http://tracker.test/t/click/inv-e1?to=https%3A%2F%2Fcards.test%2Fcards%2Fcard-1"',
    );
    expect(mail.decoded).toContain(`Open it here: ${expectedLinks.clickUrl}`);
  });

  it("sends nothing again when the same event is redelivered", async () => {
    const before = smtp.mails.length;
    const run = await runHandler(sender, share("inv-e1", "email", "bob@example.com"), {
      firestore: env.firestore,
    });
    expect(run.outcome).toEqual({ action: "ack", result: "duplicate" });
    expect(run.published).toEqual([]);
    expect(smtp.mails.length).toBe(before);
  });

  it.each([
    [
      "a mailbox the server refuses with 550",
      "gone@example.com",
      /^SMTP 550 on RCPT TO: .*mailbox gone@example.com unavailable/,
    ],
    [
      "an address that cannot be one, without asking the server",
      "not-an-address",
      /^recipient "not-an-address" is not an email address$/,
    ],
  ])("reports share.failed for %s and acks", async (_, recipient, reason) => {
    const invitationId = `inv-fail-${recipient}`;
    const run = await runHandler(sender, share(invitationId, "email", recipient), {
      firestore: env.firestore,
    });
    expect(run.outcome).toEqual({ action: "ack", result: "handled" });
    expect(run.published.map((e) => e.type)).toEqual(["com.eventline.share.failed"]);
    const failed = run.published[0]!.data as {
      reason: string;
      retryCount: number;
      processingTimeMs: number;
      invitationId: string;
    };
    expect(failed.reason).toMatch(reason);
    expect(failed).toMatchObject({ invitationId, retryCount: 0, processingTimeMs: 250 });
    expect(smtp.mails.some((m) => m.to.includes(recipient))).toBe(false);
  });

  it("nacks for redelivery when the server answers 451 (transient)", async () => {
    const run = await runHandler(sender, share("inv-busy", "email", "busy@example.com"), {
      firestore: env.firestore,
    });
    expect(run.outcome).toMatchObject({ action: "nack", result: "retry" });
    expect(run.published).toEqual([]);
  });

  it("nacks for redelivery when the SMTP server is unreachable", async () => {
    const down = new SmtpEmailAdapter({ url: "smtp://127.0.0.1:1", from: FROM, timeoutMs: 500 });
    const run = await runHandler(
      createEmailSender({ email: () => down, links: () => links, now }),
      share("inv-down", "email", "bob@example.com"),
      { firestore: env.firestore },
    );
    down.close();
    expect(run.outcome).toMatchObject({ action: "nack", result: "retry" });
  });

  it("dead-letters a share without an invitation id", async () => {
    const run = await runHandler(sender, share("", "email", "bob@example.com"), {
      firestore: env.firestore,
    });
    expect(run.outcome).toMatchObject({
      action: "ack",
      result: "dead-lettered",
      reason: "missing-invitation-id",
    });
  });
});

describe("email-sender with the local outbox", () => {
  it("records the email once in outbound/, even when asked twice for one invitation", async () => {
    const outbox = new OutboxEmailAdapter(new OutboundRecorder(env.firestore), FROM);
    const sender = createEmailSender({ email: () => outbox, links: () => links, now });
    const first = await runHandler(sender, share("inv-o1", "email", "cy@example.com"), {
      firestore: env.firestore,
    });
    const second = await runHandler(
      sender,
      { ...share("inv-o1", "email", "cy@example.com"), id: "req-inv-o1-again" },
      { firestore: env.firestore },
    );
    const ids = [first, second].map(
      (run) => (run.published[0]!.data as { messageId: string }).messageId,
    );
    expect(ids).toEqual([messageIdFor("inv-o1", FROM), messageIdFor("inv-o1", FROM)]);
    const recorded = await env.firestore
      .collection(OUTBOUND_COLLECTION)
      .where("idempotencyKey", "==", "inv-o1")
      .get();
    expect(recorded.size).toBe(1);
    const doc = recorded.docs[0]!.data();
    expect(doc).toMatchObject({
      channel: "email",
      to: "cy@example.com",
      from: FROM,
      subject: "Ana shared a card with you",
      provider: "outbox",
      messageId: ids[0],
    });
    expect(doc["html"]).toContain("http://tracker.test/t/open/inv-o1");
  });
});

describe("sms-sender and whatsapp-sender over the provider's REST API", () => {
  const adapter = () =>
    new TwilioStyleAdapter({
      baseUrl: provider.baseUrl,
      accountSid: "AC123",
      authToken: "secret",
      from: { sms: "+15550001111", whatsapp: "+15550002222" },
    });

  it("POSTs the SMS form with basic auth and reports the provider's sid", async () => {
    provider.requests.length = 0;
    const run = await runHandler(
      createSmsSender({ messaging: adapter, links: () => links, now }),
      share("inv-s1", "sms", "+4915112345678"),
      { firestore: env.firestore },
    );
    expect(run.outcome).toEqual({ action: "ack", result: "handled" });
    expect(provider.requests).toEqual([
      {
        method: "POST",
        path: "/2010-04-01/Accounts/AC123/Messages.json",
        credentials: "AC123:secret",
        contentType: "application/x-www-form-urlencoded",
        idempotencyKey: "inv-s1",
        form: {
          To: "+4915112345678",
          From: "+15550001111",
          Body: `Ana shared a card with you: ${trackingLinks(links.trackerUrl, "inv-s1", "card-1", links.cardBaseUrl).clickUrl}`,
        },
      },
    ]);
    expect(run.published[0]!.data).toMatchObject({
      invitationId: "inv-s1",
      messageId: `SM${"0".repeat(32)}`,
      channel: "sms",
      processingTimeMs: 250,
    });
  });

  it("addresses WhatsApp numbers with the whatsapp: scheme", async () => {
    provider.requests.length = 0;
    const run = await runHandler(
      createWhatsappSender({ messaging: adapter, links: () => links, now }),
      share("inv-w1", "whatsapp", "+4915112345678"),
      { firestore: env.firestore },
    );
    expect(run.published[0]!.type).toBe("com.eventline.share.completed");
    expect(provider.requests[0]!.form).toMatchObject({
      To: "whatsapp:+4915112345678",
      From: "whatsapp:+15550002222",
    });
  });

  it("reports share.failed when the provider rejects the number (400)", async () => {
    provider.reply = () => ({
      status: 400,
      body: { code: 21211, message: "The 'To' number is not a valid phone number." },
    });
    try {
      const run = await runHandler(
        createSmsSender({ messaging: adapter, links: () => links, now }),
        share("inv-s2", "sms", "+4900000000"),
        { firestore: env.firestore },
      );
      expect(run.outcome).toEqual({ action: "ack", result: "handled" });
      expect(run.published[0]!.type).toBe("com.eventline.share.failed");
      expect((run.published[0]!.data as { reason: string }).reason).toBe(
        "sms provider rejected the message (400): 21211 The 'To' number is not a valid phone number.",
      );
    } finally {
      provider.reply = (_r, i) => ({
        status: 201,
        body: { sid: `SM${String(i).padStart(32, "0")}` },
      });
    }
  });

  it.each([
    [503, { message: "Service Unavailable" }],
    [429, { code: 20429, message: "Too Many Requests" }],
  ])("nacks for redelivery when the provider answers %s", async (status, body) => {
    provider.reply = () => ({ status, body });
    try {
      const run = await runHandler(
        createSmsSender({ messaging: adapter, links: () => links, now }),
        share(`inv-s${status}`, "sms", "+4915112345678"),
        { firestore: env.firestore },
      );
      expect(run.outcome).toMatchObject({ action: "nack", result: "retry" });
      expect(run.published).toEqual([]);
    } finally {
      provider.reply = (_r, i) => ({
        status: 201,
        body: { sid: `SM${String(i).padStart(32, "0")}` },
      });
    }
  });
});

describe("funnel-projector", () => {
  const base = { cardId: "card-f", senderUserId: "sender-f", channel: "email" };
  const events = [
    {
      id: "f1",
      type: "com.eventline.share.completed" as const,
      data: { invitationId: "f-inv-1", messageId: "m1", ...base },
    },
    {
      id: "f2",
      type: "com.eventline.invitation.opened" as const,
      data: { invitationId: "f-inv-1", ...base },
    },
    // A second open of the same invitation, reported by another event.
    {
      id: "f3",
      type: "com.eventline.invitation.opened" as const,
      data: { invitationId: "f-inv-1", ...base },
    },
    {
      id: "f4",
      type: "com.eventline.invitation.clicked" as const,
      data: { invitationId: "f-inv-1", ...base, targetUrl: "https://cards.test/cards/card-f" },
    },
    {
      id: "f5",
      type: "com.eventline.invitation.converted" as const,
      data: { invitationId: "f-inv-1", ...base, convertedUserId: "u9", conversionValue: 19.9 },
    },
    {
      id: "f6",
      type: "com.eventline.share.completed" as const,
      data: { invitationId: "f-inv-2", messageId: "m2", ...base },
    },
    // A click without a seen open (images blocked): the open is implied. The tracker's events carry no card or sender.
    {
      id: "f7",
      type: "com.eventline.invitation.clicked" as const,
      data: { invitationId: "f-inv-2", channel: "email" },
    },
    {
      id: "f8",
      type: "com.eventline.share.completed" as const,
      data: { invitationId: "f-inv-3", messageId: "m3", ...base },
    },
    {
      id: "f9",
      type: "com.eventline.share.failed" as const,
      data: { invitationId: "f-inv-4", reason: "invalid number", ...base, channel: "sms" },
    },
  ];
  // sent 3 (inv 1–3), opened 2 (inv 1, 2 implied), clicked 2, converted 1 (19.9), failed 1.
  const expectedFunnel = {
    sent: 3,
    opened: 2,
    clicked: 2,
    converted: 1,
    failed: 1,
    conversionValue: 19.9,
  };

  async function snapshot() {
    const ctx = { firestore: env.firestore };
    const read = async (ref: FirebaseFirestore.DocumentReference) => (await ref.get()).data();
    return {
      card: await read(cardFunnels.ref(ctx.firestore, "card-f")),
      sender: await read(senderFunnels.ref(ctx.firestore, "sender-f")),
      invitations: await Promise.all(
        ["f-inv-1", "f-inv-2", "f-inv-3", "f-inv-4"].map((id) =>
          read(invitations.ref(ctx.firestore, id)),
        ),
      ),
    };
  }

  it("counts each invitation once per step, per card and per sender", async () => {
    for (const event of events) {
      const run = await runHandler(
        funnelProjector,
        { ...event, time: "2026-11-22T12:00:00.000Z" },
        { firestore: env.firestore },
      );
      expect(run.outcome, event.id).toEqual({ action: "ack", result: "handled" });
    }
    const state = await snapshot();
    expect(state.card).toEqual({ id: "card-f", ...expectedFunnel });
    expect(state.sender).toEqual({ id: "sender-f", ...expectedFunnel });
    expect(state.invitations.map((i) => i?.["steps"])).toEqual([
      ["sent", "opened", "clicked", "converted"],
      ["sent", "opened", "clicked"],
      ["sent"],
      [],
    ]);
    expect(state.invitations[3]).toMatchObject({ failed: true, failureReason: "invalid number" });
  });

  it("changes nothing when every event is delivered once more", async () => {
    const before = await snapshot();
    for (const event of events) {
      const run = await runHandler(
        funnelProjector,
        { ...event, time: "2026-11-22T12:00:00.000Z" },
        { firestore: env.firestore },
      );
      expect(run.outcome, event.id).toEqual({ action: "ack", result: "duplicate" });
    }
    expect(await snapshot()).toEqual(before);
  });

  it("projects a burst of one card's completions at once, each once, none waiting on another's lock", async () => {
    const burst = Array.from({ length: 60 }, (_, i) => ({
      id: `burst-${i}`,
      type: "com.eventline.share.completed" as const,
      data: {
        invitationId: `burst-inv-${i}`,
        messageId: `bm${i}`,
        cardId: "card-burst",
        senderUserId: `burst-sender-${i % 3}`,
        channel: "email",
      },
      time: "2026-11-22T12:00:00.000Z",
    }));
    const runs = await Promise.all(
      burst.map((event) => runHandler(funnelProjector, event, { firestore: env.firestore })),
    );
    expect(runs.map((run) => run.outcome.result)).toEqual(burst.map(() => "handled"));
    const card = (await cardFunnels.ref(env.firestore, "card-burst").get()).data();
    expect(card).toEqual({
      id: "card-burst",
      sent: 60,
      opened: 0,
      clicked: 0,
      converted: 0,
      failed: 0,
      conversionValue: 0,
    });
    const senders = await Promise.all(
      [0, 1, 2].map(
        async (i) =>
          (await senderFunnels.ref(env.firestore, `burst-sender-${i}`).get()).data()?.["sent"],
      ),
    );
    expect(senders).toEqual([20, 20, 20]);
  });

  it("retries a tracking event for an invitation it cannot place on a card yet", async () => {
    const run = await runHandler(
      funnelProjector,
      {
        id: "f-early",
        type: "com.eventline.invitation.opened",
        data: { invitationId: "f-unknown", channel: "email" },
      },
      { firestore: env.firestore },
    );
    expect(run.outcome).toMatchObject({ action: "nack", result: "retry" });
  });
});
