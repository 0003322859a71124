import { describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import {
  DEAD_LETTER_ATTRIBUTES as DL,
  deadLetterMessage,
} from "../../handlers/runtime/dead-letter";
import { DecodeError, PermanentError, RetryableError } from "../../handlers/runtime/errors";
import { decideFailure, MAX_ATTEMPTS_REASON } from "../../handlers/runtime/outcome";

describe("decideFailure", () => {
  const cases: {
    name: string;
    error: unknown;
    attempt: number | undefined;
    expected: ReturnType<typeof decideFailure>;
  }[] = [
    {
      name: "a RetryableError before the last attempt is nacked",
      error: new RetryableError("503"),
      attempt: 1,
      expected: { action: "nack" },
    },
    {
      name: "an unknown error before the last attempt is nacked",
      error: new TypeError("x is undefined"),
      attempt: 4,
      expected: { action: "nack" },
    },
    { name: "a thrown string is nacked", error: "oops", attempt: 2, expected: { action: "nack" } },
    {
      name: "an error with no attempt count is nacked, never dead-lettered by count",
      error: new Error("e"),
      attempt: undefined,
      expected: { action: "nack" },
    },
    {
      name: "a RetryableError on the last attempt is dead-lettered",
      error: new RetryableError("503"),
      attempt: 5,
      expected: {
        action: "dead-letter",
        reason: MAX_ATTEMPTS_REASON,
        error: "RetryableError: 503",
      },
    },
    {
      name: "a PermanentError is dead-lettered at once with its reason",
      error: new PermanentError("recipient-rejected", "no such mailbox"),
      attempt: 1,
      expected: {
        action: "dead-letter",
        reason: "recipient-rejected",
        error: "PermanentError: no such mailbox",
      },
    },
    {
      name: "a DecodeError is dead-lettered at once with its decode reason",
      error: new DecodeError("undecodable-body", "bad bytes"),
      attempt: 1,
      expected: {
        action: "dead-letter",
        reason: "undecodable-body",
        error: "DecodeError: bad bytes",
      },
    },
  ];
  it.each(cases)("$name", ({ error, attempt, expected }) => {
    expect(decideFailure(error, attempt, 5)).toEqual(expected);
  });
});

describe("deadLetterMessage", () => {
  const consumer = eventTypesFor("local").system.consumers.find(
    (c) => c.name === "funnel-projector",
  )!;

  it("keeps the original data and attributes and adds why, from where and when", () => {
    const message = deadLetterMessage(
      consumer,
      {
        messageId: "42",
        data: Buffer.from("body"),
        attributes: { "ce-id": "e1", "ce-type": "t" },
        deliveryAttempt: 5,
        orderingKey: "inv-1",
      },
      "max-delivery-attempts",
      "Error: boom",
      new Date("2026-01-02T03:04:05.000Z"),
    );
    expect(message.topic).toBe("funnel-projector-dlq");
    expect(message.data.toString()).toBe("body");
    expect(message.orderingKey).toBeUndefined();
    expect(message.attributes).toEqual({
      "ce-id": "e1",
      "ce-type": "t",
      [DL.reason]: "max-delivery-attempts",
      [DL.error]: "Error: boom",
      [DL.consumer]: "funnel-projector",
      [DL.topic]: "viral-funnel",
      [DL.attempt]: "5",
      [DL.messageId]: "42",
      [DL.orderingKey]: "inv-1",
      [DL.at]: "2026-01-02T03:04:05.000Z",
    });
  });

  it("cuts a long error to Pub/Sub's attribute limit and says unknown for an uncounted attempt", () => {
    const message = deadLetterMessage(
      consumer,
      { messageId: "1", data: Buffer.alloc(0), attributes: {}, deliveryAttempt: undefined },
      "r",
      "é".repeat(2000),
    );
    expect(Buffer.byteLength(message.attributes[DL.error]!)).toBeLessThanOrEqual(1024);
    expect(message.attributes[DL.attempt]).toBe("unknown");
  });
});
