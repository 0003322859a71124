import { describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import {
  DEAD_LETTER_ATTRIBUTES as DL,
  deadLetterMessage,
  REDRIVE_FOR_ATTRIBUTE,
} from "../../handlers/runtime/dead-letter";
import {
  ATTRIBUTES_RESERVED_FOR_THE_PLATFORM,
  MAX_EVENT_ATTRIBUTES,
  PUBSUB_MESSAGE_LIMITS,
} from "../../handlers/runtime/limits";
import { REDRIVE_COUNT_ATTRIBUTE } from "../../tools/local/dead-letters";
import { DecodeError, PermanentError, RetryableError } from "../../handlers/runtime/errors";
import {
  decideFailure,
  MAX_ATTEMPTS_REASON,
  redeliveryDelaySeconds,
} from "../../handlers/runtime/outcome";

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

describe("a dead letter always fits Pub/Sub's limits", () => {
  const consumer = eventTypesFor("local").system.consumers.find(
    (c) => c.name === "funnel-projector",
  )!;
  const letter = (attributes: Record<string, string>, data = Buffer.from("body")) =>
    deadLetterMessage(
      consumer,
      { messageId: "m1", data, attributes, deliveryAttempt: 1, orderingKey: "k" },
      "malformed-attribute",
      "DecodeError: x",
    );
  const withinLimits = (message: { data: Buffer; attributes: Record<string, string> }) => {
    const entries = Object.entries(message.attributes);
    expect(entries.length).toBeLessThanOrEqual(PUBSUB_MESSAGE_LIMITS.attributes);
    for (const [key, value] of entries) {
      expect(Buffer.byteLength(key)).toBeLessThanOrEqual(PUBSUB_MESSAGE_LIMITS.keyBytes);
      expect(Buffer.byteLength(value)).toBeLessThanOrEqual(PUBSUB_MESSAGE_LIMITS.valueBytes);
    }
    const total = entries.reduce(
      (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v),
      message.data.length,
    );
    expect(total).toBeLessThanOrEqual(PUBSUB_MESSAGE_LIMITS.totalBytes);
  };
  const many = (n: number, prefix = "ce-x") =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, "v"]));

  it("keeps every attribute of an event at the most an event may carry, redriven or not", () => {
    const event = { "ce-id": "e1", ...many(MAX_EVENT_ATTRIBUTES - 1) };
    const redriven = {
      ...event,
      "eventline-redrive-for": "funnel-projector",
      "eventline-redrive-count": "1",
    };
    for (const attributes of [event, redriven]) {
      const message = letter(attributes);
      withinLimits(message);
      expect(message.attributes).toMatchObject(attributes);
      expect(message.attributes[DL.dropped]).toBeUndefined();
    }
  });

  it("reserves room for every attribute a dead letter and a redrive add", () => {
    expect(ATTRIBUTES_RESERVED_FOR_THE_PLATFORM).toBe(
      Object.keys(DL).length + [REDRIVE_FOR_ATTRIBUTE, REDRIVE_COUNT_ATTRIBUTE].length,
    );
    expect(MAX_EVENT_ATTRIBUTES).toBe(89);
  });

  it.each([
    ["107 attributes (100 extensions the old gateway took, and the context)", many(107), 107],
    ["an attribute key over 256 bytes", { "ce-id": "e1", ["k".repeat(300)]: "v" }, 1],
    ["an attribute value over 1 024 bytes", { "ce-id": "e1", "ce-x": "v".repeat(2000) }, 1],
  ])("drops what does not fit of %s, and says what it dropped", (_name, attributes, count) => {
    const message = letter({ "ce-id": "e1", "ce-type": "t", ...attributes });
    withinLimits(message);
    expect(message.attributes).toMatchObject({
      "ce-id": "e1",
      "ce-type": "t",
      [DL.reason]: "malformed-attribute",
      [DL.consumer]: "funnel-projector",
    });
    expect(message.attributes[DL.dropped]).toMatch(/attributes over Pub\/Sub's limits/);
    if (count === 1) expect(message.attributes[DL.dropped]).toMatch(/^1 attributes/);
  });

  it("cuts data that would take the whole past 10 MB, and says so", () => {
    const message = letter(many(50), Buffer.alloc(PUBSUB_MESSAGE_LIMITS.totalBytes, 1));
    withinLimits(message);
    expect(message.attributes[DL.dropped]).toMatch(/data cut from 10000000 to \d+ bytes/);
  });

  it("keeps an original __proto__ attribute as an ordinary attribute", () => {
    const attributes = Object.fromEntries([
      ["__proto__", "x"],
      ["ce-id", "e1"],
    ]);
    const message = letter(attributes);
    expect(Object.getPrototypeOf(message.attributes)).toBe(Object.prototype);
    expect(Object.keys(message.attributes)).toContain("__proto__");
  });
});

describe("the redelivery delay Pub/Sub applies", () => {
  it("starts at the minimum backoff, doubles with each attempt and stops at the maximum", () => {
    const retry = { minBackoffSeconds: 10, maxBackoffSeconds: 600 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((a) => redeliveryDelaySeconds(retry, a))).toEqual([
      10, 20, 40, 80, 160, 320, 600, 600,
    ]);
    expect(redeliveryDelaySeconds(retry, undefined)).toBe(10);
    expect(redeliveryDelaySeconds({ minBackoffSeconds: 0, maxBackoffSeconds: 0 }, 3)).toBe(0);
    expect(redeliveryDelaySeconds(retry, 10_000)).toBe(600);
  });
});
