import { randomUUID } from "node:crypto";
import { Timestamp } from "@google-cloud/firestore";
import { describe, expect, it } from "vitest";
import type { EventType, PayloadInput } from "../../handlers/runtime/event-types";
import {
  DEAD_LETTER_ATTRIBUTES as DL,
  REDRIVE_FOR_ATTRIBUTE,
} from "../../handlers/runtime/dead-letter";
import { defineHandler } from "../../handlers/runtime/handler";
import { derivedEventId, processedRef } from "../../handlers/runtime/idempotency";
import { defineProjection } from "../../handlers/runtime/projections";
import { runHandler } from "../../handlers/testing/run-handler";
import { useEmulators } from "../support/emulators";
import { codec } from "../support/pubsub";
import { testEmailSender } from "../support/test-handlers";

const emulators = useEmulators({ pubsub: false });

interface Funnel {
  sent: number;
  opened: number;
}
const funnelByCard = defineProjection<Funnel>("test-funnel-by-card");
const funnelBySender = defineProjection<Funnel>("test-funnel-by-sender");

/** The viral-sharing funnel, as a projection handler would keep it (accepting two of its contract's five types). */
const projector = defineHandler({
  name: "funnel-projector",
  accepts: ["com.eventline.share.completed", "com.eventline.invitation.opened"],
  async handle(event, ctx) {
    const step = event.type === "com.eventline.share.completed" ? "sent" : "opened";
    const bump = (funnel: Funnel | undefined): Funnel => ({
      sent: 0,
      opened: 0,
      ...funnel,
      [step]: (funnel?.[step] ?? 0) + 1,
    });
    await funnelByCard.update(ctx, event.data.cardId, bump);
    await funnelBySender.update(ctx, event.data.senderUserId, bump);
    // Two updates of one item in one run: the second sees the first.
    await funnelByCard.update(ctx, "all-cards", bump);
    await funnelByCard.update(ctx, "all-cards", bump);
    ctx.log.info({ step }, "funnel moved");
  },
});

function completed(
  cardId: string,
  senderUserId = "sender-1",
): { type: "com.eventline.share.completed"; data: PayloadInput<"com.eventline.share.completed"> } {
  return {
    type: "com.eventline.share.completed",
    data: { invitationId: randomUUID(), messageId: "m-1", channel: "email", cardId, senderUserId },
  };
}

async function item(projection: typeof funnelByCard, id: string): Promise<Funnel | undefined> {
  return (await projection.ref(emulators.firestore, id).get()).data();
}

describe("runHandler, the in-process test helper", { timeout: 30_000 }, () => {
  it("reports the outcome, the writes and the log lines of a handled event, with the event's ids on every line", async () => {
    const card = `card-${randomUUID()}`;
    const run = await runHandler(
      projector,
      { ...completed(card), correlationId: "flow-7", causationId: "cause-7" },
      { firestore: emulators.firestore },
    );
    expect(run.outcome).toEqual({ action: "ack", result: "handled" });
    expect(run.writes.map((w) => [w.op, w.path])).toEqual([
      ["set", `projections/test-funnel-by-card/items/${card}`],
      ["set", "projections/test-funnel-by-sender/items/sender-1"],
      ["set", "projections/test-funnel-by-card/items/all-cards"],
      ["set", "projections/test-funnel-by-card/items/all-cards"],
    ]);
    expect(await item(funnelByCard, card)).toEqual({ sent: 1, opened: 0 });
    const line = run.logs.find((l) => l["message"] === "funnel moved")!;
    expect(line).toMatchObject({
      severity: "INFO",
      correlationId: "flow-7",
      causationId: "cause-7",
      consumer: "funnel-projector",
      step: "sent",
    });
    expect(line["eventId"]).toBeTypeOf("string");
  });

  it("lets several projection updates in one run see each other", async () => {
    const before = (await item(funnelByCard, "all-cards"))?.sent ?? 0;
    await runHandler(projector, completed(`card-${randomUUID()}`), {
      firestore: emulators.firestore,
    });
    expect((await item(funnelByCard, "all-cards"))?.sent).toBe(before + 2);
  });

  it("applies an event delivered twice once, and reports the second delivery as a duplicate", async () => {
    const card = `card-${randomUUID()}`;
    const event = { ...completed(card), id: randomUUID() };
    expect(
      (await runHandler(projector, event, { firestore: emulators.firestore })).outcome.result,
    ).toBe("handled");
    const second = await runHandler(projector, event, {
      firestore: emulators.firestore,
      deliveryAttempt: 2,
    });
    expect(second.outcome).toEqual({ action: "ack", result: "duplicate" });
    expect(second.writes).toEqual([]);
    expect(await item(funnelByCard, card)).toEqual({ sent: 1, opened: 0 });
  });

  it("increments a projection item without reading it, once per event, and refuses to read it back in the run", async () => {
    const card = `card-${randomUUID()}`;
    const counter = defineHandler({
      name: "funnel-projector",
      accepts: ["com.eventline.share.completed"],
      async handle(event, ctx) {
        funnelByCard.increment(ctx, event.data.cardId, { sent: 1, opened: 0 });
        if (event.data.messageId === "read-back") await funnelByCard.get(ctx, event.data.cardId);
      },
    });
    const first = { ...completed(card), id: randomUUID() };
    const run = await runHandler(counter, first, { firestore: emulators.firestore });
    expect(run.writes).toMatchObject([
      {
        op: "set",
        path: `projections/test-funnel-by-card/items/${card}`,
        options: { merge: true },
      },
    ]);
    await runHandler(counter, completed(card), { firestore: emulators.firestore });
    expect(
      (await runHandler(counter, first, { firestore: emulators.firestore, deliveryAttempt: 2 }))
        .outcome.result,
    ).toBe("duplicate");
    expect(await item(funnelByCard, card)).toEqual({ sent: 2, opened: 0 });
    const readBack = completed(card);
    readBack.data.messageId = "read-back";
    const refused = await runHandler(counter, readBack, { firestore: emulators.firestore });
    expect(refused.outcome).toMatchObject({ action: "nack", result: "retry" });
    expect(JSON.stringify(refused.logs)).toContain("was incremented in this handler run");
    expect(await item(funnelByCard, card)).toEqual({ sent: 2, opened: 0 });
  });

  it("acks unhandled an event of a type the handler does not accept", async () => {
    const run = await runHandler(
      projector,
      {
        type: "com.eventline.invitation.clicked",
        data: {
          invitationId: "i",
          cardId: "c",
          senderUserId: "s",
          channel: "email",
          targetUrl: "https://x",
        },
      },
      { firestore: emulators.firestore },
    );
    expect(run.outcome).toEqual({ action: "ack", result: "not-accepted" });
  });

  it.each([
    ["another consumer", "some-other-consumer", { action: "ack", result: "redriven-for-another" }],
    ["this consumer", "funnel-projector", { action: "ack", result: "handled" }],
  ])(
    "handles a message redriven for %s only if it is addressed to it",
    async (_who, redriveFor, outcome) => {
      const message = codec.encode(
        "com.eventline.share.completed",
        {
          invitationId: randomUUID(),
          cardId: `card-${randomUUID()}`,
          senderUserId: "s",
          channel: "email",
          messageId: "m",
        },
        { source: "//test" },
      );
      const run = await runHandler(
        projector,
        {
          raw: {
            data: message.data,
            attributes: { ...message.attributes, [REDRIVE_FOR_ATTRIBUTE]: redriveFor },
          },
        },
        { firestore: emulators.firestore, consumer: "funnel-projector" },
      );
      expect(run.outcome).toEqual(outcome);
    },
  );

  it("returns the events the handler published, stamped with the cause's correlation and causation", async () => {
    const id = randomUUID();
    const run = await runHandler(
      testEmailSender,
      {
        type: "com.eventline.share.requested",
        id,
        correlationId: "flow-9",
        data: {
          invitationId: "inv-1",
          senderUserId: "u",
          cardId: "c",
          channel: "email",
          recipient: "r@example.com",
        },
      },
      { firestore: emulators.firestore },
    );
    expect(run.outcome.result).toBe("handled");
    expect(run.published).toHaveLength(1);
    expect(run.published[0]!.meta).toMatchObject({
      id: derivedEventId("email-worker", { source: "//eventline/test", id }, 0),
      correlationId: "flow-9",
      causationId: id,
      source: "//eventline/email-worker",
    });
    expect(run.published[0]!.data).toMatchObject({
      invitationId: "inv-1",
      messageId: `smtp-${id}`,
    });
  });

  it("publishes what a crashed earlier run left in the outbox instead of running the handler again", async () => {
    const id = randomUUID();
    const leftover = codec.encode(
      "com.eventline.share.completed",
      { invitationId: "inv-2", cardId: "c", senderUserId: "u" },
      {
        id: derivedEventId("email-worker", { source: "//eventline/test", id }, 0),
        source: "//eventline/email-worker",
      },
    );
    const record = processedRef(emulators.firestore, "email-worker", {
      source: "//eventline/test",
      id,
    });
    await record.create({
      consumer: "email-worker",
      eventId: id,
      eventSource: "//eventline/test",
      type: "com.eventline.share.requested",
      processedAt: Timestamp.now(),
      expireAt: Timestamp.fromMillis(Date.now() + 86_400_000),
      outbox: [
        {
          topic: leftover.topic,
          data: leftover.data,
          attributes: leftover.attributes,
          orderingKey: null,
        },
      ],
    });
    const run = await runHandler(
      testEmailSender,
      {
        type: "com.eventline.share.requested",
        id,
        data: { invitationId: "inv-2", channel: "email", recipient: "r@example.com" },
      },
      { firestore: emulators.firestore, deliveryAttempt: 2 },
    );
    expect(run.outcome.result).toBe("duplicate");
    expect(run.published.map((e) => e.meta.id)).toEqual([leftover.attributes["ce-id"]]);
    expect((await record.get()).data()?.["outbox"]).toBeUndefined();
  });

  const failures: {
    name: string;
    attempt: number;
    expected: { action: string; result: string; reason?: string };
  }[] = [
    {
      name: "nacks an unknown error before the last attempt",
      attempt: 1,
      expected: { action: "nack", result: "retry" },
    },
    {
      name: "dead-letters an unknown error on the last attempt",
      attempt: 5,
      expected: { action: "ack", result: "dead-lettered", reason: "max-delivery-attempts" },
    },
  ];
  it.each(failures)("$name", async ({ attempt, expected }) => {
    const run = await runHandler(
      testEmailSender,
      {
        type: "com.eventline.share.requested",
        data: {
          invitationId: "inv-3",
          channel: "email",
          shareMetadata: { behaviour: "always-fail" },
        },
      },
      { firestore: emulators.firestore, deliveryAttempt: attempt },
    );
    expect(run.outcome).toMatchObject(expected);
    expect(run.deadLetters).toHaveLength(expected.result === "dead-lettered" ? 1 : 0);
  });

  it("nacks a handler that overruns its time limit, as a retryable failure", async () => {
    const run = await runHandler(
      testEmailSender,
      {
        type: "com.eventline.share.requested",
        data: { invitationId: "inv-4", channel: "email", shareMetadata: { delayMs: "300" } },
      },
      { firestore: emulators.firestore, handlerTimeoutMs: 50 },
    );
    expect(run.outcome).toMatchObject({ action: "nack", result: "retry" });
    expect(String((run.outcome as { error: unknown }).error)).toMatch(
      /did not finish within 50 ms/,
    );
  });

  it("dead-letters a message that does not decode, naming the decode reason", async () => {
    const run = await runHandler(
      projector,
      { raw: { data: Buffer.from("{}"), attributes: { "ce-id": "x" } } },
      { firestore: emulators.firestore },
    );
    expect(run.outcome).toMatchObject({
      action: "ack",
      result: "dead-lettered",
      reason: "missing-attribute",
    });
    expect(run.deadLetters[0]!.attributes).toMatchObject({
      "ce-id": "x",
      [DL.reason]: "missing-attribute",
      [DL.consumer]: "funnel-projector",
      [DL.topic]: "viral-funnel",
    });
  });

  it("dead-letters a publish of a type the contract does not emit, even when the types were bypassed", async () => {
    const rogue = defineHandler({
      name: "funnel-projector",
      accepts: ["com.eventline.share.completed"],
      handle(_event, ctx) {
        (ctx.publish as (type: EventType, data: object) => string)("com.eventline.share.failed", {
          invitationId: "x",
        });
      },
    });
    const run = await runHandler(rogue, completed("card-r"), { firestore: emulators.firestore });
    expect(run.outcome).toMatchObject({
      action: "ack",
      result: "dead-lettered",
      reason: "undeclared-emit",
    });
  });
});
