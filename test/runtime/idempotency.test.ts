import { describe, expect, it } from "vitest";
import { derivedEventId, documentIdFor, eventKey } from "../../handlers/runtime/idempotency";

describe("documentIdFor", () => {
  it.each([
    ["a UUID is used as it is", "3f1c0c1e-8a53-4c6e-9a5e-1f0e7c2f9b10", true],
    ["an id with a slash is hashed", "orders/42", false],
    ["'.' is hashed", ".", false],
    ["'..' is hashed", "..", false],
    ["a reserved __name__ is hashed", "__id__", false],
    ["an id over 1 500 bytes is hashed", "x".repeat(1501), false],
  ])("%s", (_name, id, kept) => {
    const docId = documentIdFor(id);
    expect(docId === id).toBe(kept);
    if (!kept) expect(docId).toMatch(/^sha256-[0-9a-f]{64}$/);
  });
});

describe("an event's key, from its source and id", () => {
  it("is the same for the same source and id, readable, and a valid document id", () => {
    expect(eventKey({ source: "//user-service", id: "evt-1" })).toBe(
      eventKey({ source: "//user-service", id: "evt-1" }),
    );
    expect(eventKey({ source: "//user-service", id: "evt-1" })).toBe("%2F%2Fuser-service:evt-1");
  });

  it.each([
    ["the same id from two sources", { source: "//a", id: "1" }, { source: "//b", id: "1" }],
    [
      "a colon moved from the source into the id",
      { source: "a:b", id: "c" },
      { source: "a", id: "b:c" },
    ],
    ["a slash moved between the parts", { source: "/a", id: "b" }, { source: "", id: "/a:b" }],
    ["an id that looks like the other key", { source: "x", id: "y" }, { source: "%78", id: "y" }],
  ])("tells apart %s", (_name, first, second) => {
    expect(eventKey(first)).not.toBe(eventKey(second));
  });

  it("hashes an identity too long for a document id, distinct from any readable key", () => {
    const key = eventKey({ source: "//s", id: "x".repeat(1500) });
    expect(key).toMatch(/^sha256-[0-9a-f]{64}$/);
  });
});

describe("derivedEventId", () => {
  const cause = { source: "//user-service", id: "cause-1" };
  it("is the same for the same consumer, cause and index, and a version-8 UUID", () => {
    const id = derivedEventId("email-worker", cause, 0);
    expect(derivedEventId("email-worker", cause, 0)).toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("differs by consumer, cause (source and id) and index", () => {
    const ids = new Set([
      derivedEventId("a", cause, 0),
      derivedEventId("b", cause, 0),
      derivedEventId("a", { ...cause, id: "d" }, 0),
      derivedEventId("a", { ...cause, source: "//other" }, 0),
      derivedEventId("a", cause, 1),
    ]);
    expect(ids.size).toBe(5);
  });
});
