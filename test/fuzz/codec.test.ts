/**
 * Property-based fuzzing of the codec (fast-check, seeded: the same cases on every run).
 * Whatever attributes and body a message has, `decode` returns a DecodedEvent or throws a
 * DecodeError with a reason: never another exception.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec, type IncomingMessage } from "../../handlers/runtime/codec";
import { DECODE_REASONS, DecodeError } from "../../handlers/runtime/errors";
import { parseStrictJson } from "../../handlers/runtime/strict-json";
import { samplePayloads } from "../../tools/samples/events";
import type { EventType } from "../../handlers/runtime/event-types";

const SEED = 20_261_207;
const eventTypes = eventTypesFor("local");
const codec = new EventCodec(eventTypes);
const types = Object.keys(samplePayloads) as EventType[];
const valid = types.map((type) =>
  codec.encode(type, samplePayloads[type], { source: "//fuzz", id: `fuzz-${type}` }),
);

const attributeKeys = fc.oneof(
  fc.constantFrom(
    "ce-id",
    "ce-source",
    "ce-type",
    "ce-specversion",
    "ce-time",
    "content-type",
    "ce-subject",
    "ce-correlationid",
    "ce-causationid",
    "ce-traceparent",
    "ce-dataschema",
    "ce-schemaurl",
    "ce-datacontentencoding",
    "ce-datacontenttype",
    "ce-data",
    "ce-channel",
    "ce-",
    "__proto__",
    "constructor",
    "ce-__proto__",
    "ce-constructor",
    "eventline-redrive-for",
  ),
  fc.string({ maxLength: 30 }).map((s) => `ce-${s}`),
  fc.string({ unit: "binary", maxLength: 300 }),
);

const attributeValues = fc.oneof(
  fc.constantFrom(
    "",
    "1.0",
    "0.3",
    "application/protobuf",
    "application/json",
    "application/json; charset=utf-8",
    "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00+25:00",
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "//fuzz",
    "https://schemas.example.com/x",
    "\u0000",
    "\ud800",
    "com.eventline.share.teleported",
    "x".repeat(1100),
    ...types,
  ),
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ maxLength: 1100 }),
);

/** Attribute maps: a valid event's, changed in a few places, or made up. */
const attributeMaps = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...valid),
      fc.array(fc.tuple(attributeKeys, fc.option(attributeValues)), { maxLength: 4 }),
    )
    .map(([message, changes]) => {
      const attributes: Record<string, string> = { ...message.attributes };
      for (const [key, value] of changes)
        if (value === null) delete attributes[key];
        else
          Object.defineProperty(attributes, key, {
            value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
      return attributes;
    }),
  fc.dictionary(attributeKeys, attributeValues, { maxKeys: 12 }),
  fc.dictionary(attributeKeys, attributeValues, { minKeys: 85, maxKeys: 120 }),
);

/** Bodies: a valid one, changed bytes of one, random bytes, or JSON with hostile keys. */
const hostileKeys = fc.constantFrom(
  "__proto__",
  "constructor",
  "prototype",
  "documentIngested",
  "documentId",
  "scores",
  "toString",
  "hasOwnProperty",
);
const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.jsonValue(),
    fc.dictionary(fc.oneof(hostileKeys, fc.string({ maxLength: 8 })), tie("value"), {
      maxKeys: 5,
    }),
    fc.array(tie("value"), { maxLength: 4 }),
  ),
}));
const bodies = fc.oneof(
  fc.constantFrom(...valid.map((m) => m.data)),
  fc
    .tuple(
      fc.constantFrom(...valid.map((m) => m.data)),
      fc.array(fc.nat(), { maxLength: 5 }),
      fc.nat(255),
    )
    .map(([data, positions, byte]) => {
      const copy = Buffer.from(data);
      for (const at of positions) if (copy.length > 0) copy[at % copy.length] = byte;
      return copy;
    }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  hostileJson.value.map((value) => Buffer.from(JSON.stringify(value) ?? "null")),
  hostileJson.value.map((value) =>
    Buffer.from(JSON.stringify({ documentIngested: value }) ?? "null"),
  ),
  fc
    .tuple(fc.constantFrom("documentIngested", "documentClassified"), hostileKeys, fc.jsonValue())
    .map(([member, key, value]) =>
      Buffer.from(`{"${member}":{"documentId":"d","${key}":${JSON.stringify(value) ?? "1"}}}`),
    ),
  fc
    .tuple(hostileKeys, fc.jsonValue(), fc.jsonValue())
    .map(([key, a, b]) =>
      Buffer.from(
        `{"documentIngested":{"${key}":${JSON.stringify(a)},"${key}":${JSON.stringify(b)}}}`,
      ),
    ),
);

/** A documents event (the JSON topic) with a hostile body: nested, duplicate and unknown keys. */
const documentEvents = valid.filter((m) => m.attributes["content-type"] === "application/json");
const jsonBodies = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("documentIngested", "documentClassified", "documentRouted"),
      fc.dictionary(fc.oneof(hostileKeys, fc.string({ maxLength: 6 })), hostileJson.value, {
        maxKeys: 4,
      }),
    )
    .map(([member, fields]) => Buffer.from(JSON.stringify({ [member]: fields }))),
  fc
    .tuple(fc.constantFrom(...documentEvents.map((m) => m.data.toString())), fc.nat(), hostileKeys)
    .map(([text, at, key]) => {
      // A key inserted into the first object after `at`: an unknown field, or a duplicate.
      const brace = text.indexOf("{", at % text.length);
      const cut = brace < 0 ? text.indexOf("{") : brace;
      return Buffer.from(`${text.slice(0, cut + 1)}"${key}":1,${text.slice(cut + 1)}`);
    }),
);
const messages = fc.oneof(
  fc.tuple(attributeMaps, bodies).map(([attributes, data]) => ({ attributes, data })),
  fc
    .tuple(fc.constantFrom(...valid), bodies)
    .map(([m, data]) => ({ attributes: m.attributes, data })),
  fc.tuple(fc.constantFrom(...documentEvents), jsonBodies).map(([m, data]) => ({
    attributes: m.attributes,
    data,
  })),
  fc.constantFrom(...valid).map((m) => ({ attributes: m.attributes, data: m.data })),
);

/** Decodes, and says what came of it; fails the property on anything but a DecodeError. */
function outcome(message: IncomingMessage, topic?: string): string {
  try {
    codec.decode(message, topic);
    return "decoded";
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    expect(DECODE_REASONS).toContain(err.decodeReason);
    expect(err.message.length).toBeGreaterThan(0);
    return err.decodeReason;
  }
}

describe("fuzzing the codec", () => {
  it("decodes any message to an event or a DecodeError with a reason, never another exception", () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(
        messages,
        fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 4 },
          { arbitrary: fc.constantFrom(...eventTypes.system.topics.map((t) => t.name)), weight: 1 },
        ),
        ({ attributes, data }, topic) => {
          const result = outcome({ data, attributes }, topic);
          seen.set(result, (seen.get(result) ?? 0) + 1);
        },
      ),
      { seed: SEED, numRuns: 4000 },
    );
    if (process.env["FUZZ_REPORT"] !== undefined)
      console.log(JSON.stringify(Object.fromEntries([...seen].sort())));
    // The cases reach deep: most reasons, and some events that decode.
    expect(seen.get("decoded") ?? 0).toBeGreaterThan(0);
    expect(seen.size).toBeGreaterThanOrEqual(10);
  });

  it("takes attribute values of any type without throwing anything but a DecodeError", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.dictionary(attributeKeys, fc.anything(), { maxKeys: 3 }),
        (message, junk) => {
          outcome({
            data: message.data,
            attributes: { ...message.attributes, ...junk } as Record<string, string>,
          });
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("round-trips every valid extension a producer can send", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.dictionary(
          fc
            .stringMatching(/^[a-z0-9]{1,20}$/)
            .filter(
              (name) =>
                !["id", "type", "source", "specversion", "time", "subject", "data"].includes(
                  name,
                ) &&
                ![
                  "correlationid",
                  "causationid",
                  "traceparent",
                  "datacontenttype",
                  "dataschema",
                ].includes(name) &&
                !["schemaurl", "datacontentencoding"].includes(name),
            ),
          fc
            .string({ minLength: 1, maxLength: 40 })
            // eslint-disable-next-line no-control-regex -- CloudEvents strings hold none
            .filter((s) => !/[\u0000-\u001f\u007f]/.test(s)),
          { maxKeys: 10 },
        ),
        (type, extensions) => {
          const routing = Object.keys(eventTypes.get(type).routingAttributes);
          const own = Object.fromEntries(
            Object.entries(extensions).filter(([name]) => !routing.includes(name)),
          );
          const message = codec.encode(type, samplePayloads[type], {
            source: "//fuzz",
            extensions: own,
          });
          expect(codec.decode(message, message.topic).meta.extensions).toMatchObject(own);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("parses hostile JSON without touching a prototype", () => {
    fc.assert(
      fc.property(hostileJson.value, (value) => {
        const text = JSON.stringify(value) ?? "null";
        try {
          parseStrictJson(text);
        } catch (err) {
          expect((err as Error).name).toBe("JsonError");
        }
        expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
        expect(Object.getPrototypeOf({})).toBe(Object.prototype);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});
