import { describe, expect, it } from "vitest";
import { derivedEventId, documentIdFor } from "../../handlers/runtime/idempotency";

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

describe("derivedEventId", () => {
  it("is the same for the same consumer, cause and index, and a version-8 UUID", () => {
    const id = derivedEventId("email-worker", "cause-1", 0);
    expect(derivedEventId("email-worker", "cause-1", 0)).toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("differs by consumer, cause and index", () => {
    const ids = new Set([
      derivedEventId("a", "c", 0),
      derivedEventId("b", "c", 0),
      derivedEventId("a", "d", 0),
      derivedEventId("a", "c", 1),
    ]);
    expect(ids.size).toBe(4);
  });
});
