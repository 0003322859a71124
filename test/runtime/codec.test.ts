import { describe, expect, it, vi } from "vitest";
import * as protobuf from "protobufjs";
import { eventline } from "../../proto/gen";
import { type EventType } from "../../handlers/runtime/event-types";
import { eventTypesFor } from "../../handlers/declared";
import {
  CONTENT_TYPES,
  EventCodec,
  MAX_EVENT_ATTRIBUTES,
  PUBSUB_MESSAGE_LIMITS,
  causedBy,
  type EventOptions,
  type IncomingMessage,
} from "../../handlers/runtime/codec";
import { parseStrictJson } from "../../handlers/runtime/strict-json";
import { fromEnvelope, toEnvelope } from "../../handlers/runtime/envelope";
import {
  DecodeError,
  EncodeError,
  PermanentError,
  type DecodeReason,
} from "../../handlers/runtime/errors";
import { samplePayloads } from "../../tools/samples/events";

const eventTypes = eventTypesFor("local");
const codec = new EventCodec(eventTypes);
const allTypes = Object.keys(samplePayloads) as EventType[];

/** A plain-object view of a decoded payload, for deep comparison with the sample. */
function plain(type: EventType, data: object): Record<string, unknown> {
  return eventTypes.get(type).message.toObject(data, { defaults: false });
}

describe("the codec round-trips every declared event", () => {
  it("covers every event type the declaration has", () => {
    expect(allTypes.sort()).toEqual(
      eventTypes
        .all()
        .map((entry) => entry.type)
        .sort(),
    );
  });

  it.each(allTypes)(
    "%s survives encode → decode → envelope → decode with ids, correlation and causation intact",
    (type) => {
      const message = codec.encode(type, samplePayloads[type], {
        id: `evt-${type}`,
        source: "//eventline/test",
        time: "2026-11-23T10:00:00.123Z",
        correlationId: "corr-1",
        causationId: "cause-1",
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      });
      expect(message.topic).toBe(eventTypes.get(type).topic);
      expect(message.attributes).toMatchObject({
        "ce-id": `evt-${type}`,
        "ce-type": type,
        "ce-source": "//eventline/test",
        "ce-specversion": "1.0",
        "ce-time": "2026-11-23T10:00:00.123Z",
        "ce-correlationid": "corr-1",
        "ce-causationid": "cause-1",
        "ce-traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "content-type": CONTENT_TYPES[eventTypes.get(type).encoding],
      });

      const decoded = codec.decode(message, message.topic);
      expect(decoded.type).toBe(type);
      expect(decoded.meta).toMatchObject({
        id: `evt-${type}`,
        correlationId: "corr-1",
        causationId: "cause-1",
        time: "2026-11-23T10:00:00.123Z",
      });
      const original = plain(
        type,
        eventTypes.get(type).message.fromObject(samplePayloads[type] as Record<string, unknown>),
      );
      expect(plain(type, decoded.data)).toEqual(original);

      const stored = eventline.v1.EventEnvelope.decode(
        eventline.v1.EventEnvelope.encode(toEnvelope(decoded, eventTypes)).finish(),
      );
      expect(stored.eventId).toBe(`evt-${type}`);
      expect(stored.eventType).toBe(type);
      expect(stored.correlationId).toBe("corr-1");
      expect(stored.causationId).toBe("cause-1");
      const restored = fromEnvelope(stored, eventTypes);
      expect(restored.meta).toEqual(decoded.meta);
      expect(plain(type, restored.data)).toEqual(original);
    },
  );

  it("starts a new flow when no correlation is given: the correlation id is the event's own id", () => {
    const decoded = codec.decode(
      codec.encode("com.skillancer.user.created", samplePayloads["com.skillancer.user.created"], {
        source: "//user-service",
      }),
    );
    expect(decoded.meta.correlationId).toBe(decoded.meta.id);
    expect(decoded.meta.causationId).toBeUndefined();
  });

  it("gives a derived event its cause's correlation id and the cause's id as causation id", () => {
    const cause = codec.decode(
      codec.encode("com.dip.document.ingested", samplePayloads["com.dip.document.ingested"], {
        source: "/services/ingestion",
        correlationId: "flow-7",
      }),
    );
    const child = codec.decode(
      codec.encode("com.dip.document.classified", samplePayloads["com.dip.document.classified"], {
        source: "/services/classification",
        ...causedBy(cause.meta),
      }),
    );
    expect(child.meta.correlationId).toBe("flow-7");
    expect(child.meta.causationId).toBe(cause.meta.id);
  });

  it("publishes routing attributes, the subject and the ordering key from the payload", () => {
    const share = codec.encode(
      "com.eventline.share.requested",
      samplePayloads["com.eventline.share.requested"],
      { source: "//gateway" },
    );
    expect(share.attributes["ce-channel"]).toBe("email");
    expect(share.attributes["ce-subject"]).toBe("inv-1");
    const performance = codec.encode(
      "com.eventline.campaign.performance_reported",
      samplePayloads["com.eventline.campaign.performance_reported"],
      { source: "//gateway" },
    );
    expect(performance.orderingKey).toBe("cmp-1");
  });

  it("writes JSON topics as proto3 JSON of the topic's wrapper message", () => {
    const message = codec.encode(
      "com.dip.document.ingested",
      samplePayloads["com.dip.document.ingested"],
      { source: "/services/ingestion" },
    );
    expect(JSON.parse(message.data.toString("utf8"))).toEqual({
      documentIngested: {
        documentId: "doc-123",
        contentType: "application/pdf",
        size: "1024000",
        filename: "invoice.pdf",
        text: "Invoice 42: amount due",
      },
    });
  });
});

describe("decoding a bad message gives a typed reason, never a bare error", () => {
  const good = codec.encode(
    "com.eventline.share.requested",
    samplePayloads["com.eventline.share.requested"],
    { source: "//gateway" },
  );
  const json = codec.encode(
    "com.dip.document.ingested",
    samplePayloads["com.dip.document.ingested"],
    { source: "/ingestion" },
  );
  const withAttributes = (
    changes: Record<string, string | undefined>,
    base: IncomingMessage = good,
  ): IncomingMessage => {
    const attributes: Record<string, string> = { ...base.attributes };
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) delete attributes[key];
      else attributes[key] = value;
    }
    return { data: base.data, attributes };
  };
  const funnelBody = codec.encode(
    "com.eventline.invitation.opened",
    samplePayloads["com.eventline.invitation.opened"],
    { source: "//gateway" },
  ).data;
  const manyAttributes = Object.fromEntries(
    Array.from({ length: PUBSUB_MESSAGE_LIMITS.attributes + 1 }, (_, i) => [`x-${i}`, "v"]),
  );

  const cases: Array<[string, DecodeReason, IncomingMessage, RegExp, string?]> = [
    ["a missing ce-id", "missing-attribute", withAttributes({ "ce-id": undefined }), /ce-id/],
    ["an empty ce-id", "missing-attribute", withAttributes({ "ce-id": "" }), /ce-id/],
    [
      "a missing ce-source",
      "missing-attribute",
      withAttributes({ "ce-source": undefined }),
      /ce-source/,
    ],
    ["a missing ce-type", "missing-attribute", withAttributes({ "ce-type": undefined }), /ce-type/],
    [
      "a missing ce-specversion",
      "missing-attribute",
      withAttributes({ "ce-specversion": undefined }),
      /ce-specversion/,
    ],
    ["a missing ce-time", "missing-attribute", withAttributes({ "ce-time": undefined }), /ce-time/],
    [
      "a missing content-type",
      "missing-attribute",
      withAttributes({ "content-type": undefined }),
      /content-type/,
    ],
    [
      "a ce-time that is not RFC 3339",
      "malformed-attribute",
      withAttributes({ "ce-time": "yesterday" }),
      /time/,
    ],
    [
      "an unsupported ce-specversion",
      "malformed-attribute",
      withAttributes({ "ce-specversion": "0.3" }),
      /0\.3/,
    ],
    [
      "an extension name CloudEvents forbids",
      "malformed-attribute",
      withAttributes({ "ce-Channel_Name": "x" }),
      /extension name/,
    ],
    [
      "an unknown ce-type",
      "unknown-type",
      withAttributes({ "ce-type": "com.eventline.share.teleported" }),
      /teleported/,
    ],
    [
      "a content-type that does not match the topic's encoding",
      "unsupported-content-type",
      withAttributes({ "content-type": "application/json" }),
      /protobuf/,
    ],
    [
      "a protobuf body that does not decode",
      "undecodable-body",
      { data: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), attributes: good.attributes },
      /ViralSharesTopic/,
    ],
    [
      "a JSON body that does not parse",
      "undecodable-body",
      { data: Buffer.from("{not json"), attributes: json.attributes },
      /json/,
    ],
    [
      "a JSON body that is not valid UTF-8",
      "undecodable-body",
      { data: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), attributes: json.attributes },
      /json/,
    ],
    [
      "a JSON body whose fields have the wrong types",
      "undecodable-body",
      { data: Buffer.from('{"documentIngested":{"size":"lots"}}'), attributes: json.attributes },
      /size/,
    ],
    [
      "a body from another topic (its oneof member is unknown here)",
      "type-mismatch",
      { data: funnelBody, attributes: { ...good.attributes } },
      /no event/,
    ],
    [
      "an empty body",
      "type-mismatch",
      { data: Buffer.alloc(0), attributes: good.attributes },
      /no event/,
    ],
    [
      "more attributes than Pub/Sub allows",
      "too-many-attributes",
      withAttributes(manyAttributes),
      /attributes/,
    ],
    [
      "more attributes than an event may carry, though under Pub/Sub's 100",
      "too-many-attributes",
      withAttributes(
        Object.fromEntries(
          Array.from({ length: MAX_EVENT_ATTRIBUTES }, (_, i) => [`ce-x${i}`, "v"]),
        ),
      ),
      /over the 89 an event may carry/,
    ],
    [
      "a ce-__proto__ attribute",
      "malformed-attribute",
      {
        data: good.data,
        attributes: Object.fromEntries([...Object.entries(good.attributes), ["ce-__proto__", "x"]]),
      },
      /extension name "__proto__"/,
    ],
    [
      "a CloudEvents 0.3 ce-schemaurl",
      "malformed-attribute",
      withAttributes({ "ce-schemaurl": "https://schemas.example.com/user" }),
      /ce-schemaurl is a CloudEvents 0.3 attribute.*dataschema/,
    ],
    [
      "a ce-dataschema that is not a URI",
      "malformed-attribute",
      withAttributes({ "ce-dataschema": "not a uri" }),
      /ce-dataschema is not an absolute RFC 3986 URI/,
    ],
    [
      "a ce-time with the offset +25:00",
      "malformed-attribute",
      withAttributes({ "ce-time": "2026-01-01T00:00:00+25:00" }),
      /offset \+25:00/,
    ],
    [
      "a ce-time in month 13",
      "malformed-attribute",
      withAttributes({ "ce-time": "2026-13-01T00:00:00Z" }),
      /month 13/,
    ],
    [
      "a ce-time on the 30th of February",
      "malformed-attribute",
      withAttributes({ "ce-time": "2026-02-30T00:00:00Z" }),
      /day 30/,
    ],
    [
      "a ce-source that is not a URI-reference",
      "malformed-attribute",
      withAttributes({ "ce-source": "a source with spaces" }),
      /ce-source is not an RFC 3986 URI-reference/,
    ],
    [
      "a ce-traceparent with an all-zero trace id",
      "malformed-attribute",
      withAttributes({
        "ce-traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      }),
      /all-zero trace id/,
    ],
    [
      "a ce-traceparent of another version",
      "malformed-attribute",
      withAttributes({
        "ce-traceparent": "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      }),
      /W3C traceparent/,
    ],
    [
      "an optional attribute given empty",
      "malformed-attribute",
      withAttributes({ "ce-subject": "" }),
      /ce-subject is given but empty/,
    ],
    [
      "an extension value with a control character",
      "malformed-attribute",
      withAttributes({ "ce-note": "a\u0000b" }),
      /control character/,
    ],
    [
      "a content-type that is not a media type",
      "malformed-attribute",
      withAttributes({ "content-type": "protobuf" }),
      /content-type is not an RFC 2046 media type/,
    ],
    [
      "a ce-datacontenttype (the binding says content-type)",
      "malformed-attribute",
      withAttributes({ "ce-datacontenttype": "application/protobuf" }),
      /content-type/,
    ],
    [
      "an attribute whose value is not a string",
      "malformed-attribute",
      { data: good.data, attributes: { ...good.attributes, "ce-seq": 3 as unknown as string } },
      /ce-seq is a number/,
    ],
    [
      "a nested __proto__ key in a JSON body",
      "unknown-field",
      {
        data: Buffer.from('{"documentIngested":{"documentId":"d","__proto__":{"x":1}}}'),
        attributes: json.attributes,
      },
      /unknown field documentIngested\.__proto__/,
    ],
    [
      "a duplicate key in a JSON body",
      "duplicate-key",
      {
        data: Buffer.from('{"documentIngested":{"documentId":"d","documentId":"e"}}'),
        attributes: json.attributes,
      },
      /duplicate key at documentIngested\.documentId/,
    ],
    [
      "a duplicate map key in a JSON body",
      "duplicate-key",
      {
        data: Buffer.from('{"documentClassified":{"documentId":"d","scores":{"a":0.1,"a":0.9}}}'),
        attributes: { ...json.attributes, "ce-type": "com.dip.document.classified" },
      },
      /duplicate key at documentClassified\.scores\.a/,
    ],
    [
      "a JSON body nested deeper than the parser takes",
      "undecodable-body",
      {
        data: Buffer.from(`{"documentIngested":${"[".repeat(100)}${"]".repeat(100)}}`),
        attributes: json.attributes,
      },
      /nested deeper than 64/,
    ],
    ["a type received from another topic", "wrong-topic", good, /viral-shares/, "campaigns"],
  ];

  it.each(cases)("%s → %s", (_name, reason, message, detail, fromTopic) => {
    let caught: unknown;
    try {
      codec.decode(message, fromTopic);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DecodeError);
    expect(caught).toBeInstanceOf(PermanentError);
    expect((caught as DecodeError).decodeReason).toBe(reason);
    expect((caught as DecodeError).message).toMatch(detail);
  });

  it("reports a body whose oneof holds another event than ce-type as a type mismatch", () => {
    const completed = codec.encode(
      "com.eventline.share.completed",
      samplePayloads["com.eventline.share.completed"],
      { source: "//worker" },
    );
    const relabelled = {
      data: completed.data,
      attributes: { ...completed.attributes, "ce-type": "com.eventline.invitation.opened" },
    };
    expect(() => codec.decode(relabelled)).toThrow(
      expect.objectContaining({
        decodeReason: "type-mismatch",
        message: expect.stringMatching(/shareCompleted/),
      }),
    );
  });

  it("throws only DecodeError for arbitrary bytes and attributes", () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const keys = [
      "ce-id",
      "ce-source",
      "ce-type",
      "ce-specversion",
      "ce-time",
      "content-type",
      "ce-subject",
      "ce-x",
    ];
    const values = [
      "",
      "1",
      "1.0",
      "com.eventline.share.requested",
      "com.dip.document.ingested",
      "application/json",
      "application/protobuf",
      "2026-01-01T00:00:00Z",
      "\u0000",
    ];
    for (let i = 0; i < 500; i++) {
      const attributes = Object.fromEntries(
        keys.filter(() => random(3) > 0).map((key) => [key, values[random(values.length)]!]),
      );
      const data = Buffer.from(Array.from({ length: random(40) }, () => random(256)));
      try {
        codec.decode({ data, attributes });
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
      }
    }
  });
});

describe("a message from a producer on a newer compatible definition of the topic's schema", () => {
  const json = codec.encode(
    "com.dip.document.ingested",
    samplePayloads["com.dip.document.ingested"],
    { source: "/ingestion" },
  );
  const withBody = (body: string): IncomingMessage => ({
    data: Buffer.from(body),
    attributes: json.attributes,
  });

  it.each([
    ["a field added to the event", '{"documentIngested":{"documentId":"d","pageCount":3}}'],
    [
      "a field named like a prototype property",
      '{"documentIngested":{"documentId":"d","constructor":{}}}',
    ],
    ["a field added to the wrapper", '{"documentIngested":{"documentId":"d"},"revision":2}'],
  ])("decodes a JSON body with %s, skipping it, as protobuf binary does", (_, body) => {
    const decoded = codec.decode(withBody(body));
    expect(decoded.data).toMatchObject({ documentId: "d" });
    expect(Object.keys(decoded.data)).not.toContain("pageCount");
    expect(Object.getPrototypeOf(decoded.data)).not.toBeNull();
  });

  it("decodes a protobuf body with a field number this code does not know", () => {
    const good = codec.encode(
      "com.eventline.share.requested",
      samplePayloads["com.eventline.share.requested"],
      { source: "//gateway" },
    );
    // Field 999 of the wrapper, a length-delimited string: what a newer revision could add.
    const extra = protobuf.Writer.create()
      .uint32((999 << 3) | 2)
      .string("newer")
      .finish();
    const decoded = codec.decode({
      data: Buffer.concat([good.data, extra]),
      attributes: good.attributes,
    });
    expect(decoded.data).toMatchObject(samplePayloads["com.eventline.share.requested"]);
  });

  it("still refuses a __proto__ key, and an unknown field in what the gateway takes", () => {
    expect(() =>
      codec.decode(withBody('{"documentIngested":{"documentId":"d","__proto__":{"x":1}}}')),
    ).toThrow(/unknown field documentIngested\.__proto__/);
    expect(() =>
      codec.payloadFromJson("com.dip.document.ingested", { documentId: "d", pageCount: 3 }),
    ).toThrow(/unknown field pageCount/);
  });
});

describe("encoding refuses what cannot be published", () => {
  it.each([
    [
      "an unknown type",
      "unknown-type",
      () => codec.encode("com.eventline.share.teleported" as EventType, {}, { source: "//x" }),
    ],
    [
      "a payload field of the wrong type",
      "invalid-payload",
      () =>
        codec.encode("com.eventline.share.requested", { invitationId: 42 } as never, {
          source: "//x",
        }),
    ],
    [
      "a payload over Pub/Sub's size limit",
      "oversize",
      () =>
        codec.encode(
          "com.dip.document.ingested",
          { documentId: "d", text: "x".repeat(PUBSUB_MESSAGE_LIMITS.totalBytes) },
          { source: "//x" },
        ),
    ],
    [
      "a time that is not RFC 3339",
      "malformed-attribute",
      () =>
        codec.encode(
          "com.dip.document.ingested",
          { documentId: "d" },
          { source: "//x", time: "not a time" },
        ),
    ],
  ] as const)("rejects %s with EncodeError(%s)", (_name, reason, encode) => {
    expect(encode).toThrow(expect.objectContaining({ name: "EncodeError", reason }));
    expect(encode).toThrow(EncodeError);
  });
});

describe("payloads from proto3 JSON (the gateway's input)", () => {
  it("accepts int64 as strings, enums by name and RFC 3339 timestamps", () => {
    const created = codec.payloadFromJson("com.eventline.campaign.created", {
      campaignId: "c",
      platform: "PLATFORM_META",
      budget: { dailyBudget: 10, pacing: "PACING_STANDARD" },
    });
    expect(created.platform).toBe(2);
    expect(created.budget?.pacing).toBe(1);
    const touch = codec.payloadFromJson("com.eventline.attribution.touchpoint_recorded", {
      userId: "u",
      touchpoint: { channel: "search", timestamp: "2026-01-02T03:04:05.123456Z" },
    });
    expect(touch.touchpoint?.timestamp).toEqual(
      expect.objectContaining({ seconds: 1_767_323_045, nanos: 123_456_000 }),
    );
    const doc = codec.payloadFromJson("com.dip.document.ingested", {
      documentId: "d",
      size: "1024",
    });
    expect(doc.size).toBe(1024);
  });

  it.each([
    ["an unknown field", { campaignId: "c", campaign_name: "x" }, /no field campaign_name/],
    ["a field of the wrong type", { campaignId: 7 }, /campaignId: string expected/],
    [
      "an enum name that does not exist",
      { platform: "PLATFORM_MARS" },
      /platform: "PLATFORM_MARS" is not one of PLATFORM_UNSPECIFIED, PLATFORM_GOOGLE, /,
    ],
    ["data that is not an object", ["c"], /JSON object/],
  ])("rejects %s, naming it", (_name, json, message) => {
    expect(() => codec.payloadFromJson("com.eventline.campaign.created", json)).toThrow(message);
  });
});

describe("proto3 JSON payloads are checked at every depth", () => {
  const refusal = (type: EventType, json: unknown): EncodeError => {
    try {
      codec.payloadFromJson(type, json);
    } catch (err) {
      return err as EncodeError;
    }
    throw new Error("the payload was accepted");
  };

  it.each([
    [
      "an unknown nested field, with its path",
      "com.eventline.campaign.created",
      '{"campaignId":"c","budget":{"dailyBudget":1,"foo":2}}',
      "unknown-field",
      /unknown field budget\.foo: marketing\.v1\.BudgetConfig has no field foo/,
    ],
    [
      "a nested constructor key, as an unknown field",
      "com.eventline.campaign.created",
      '{"campaignId":"c","budget":{"constructor":{"prototype":1}}}',
      "unknown-field",
      /unknown field budget\.constructor/,
    ],
    [
      "a nested __proto__ key, as an unknown field",
      "com.eventline.campaign.created",
      '{"campaignId":"c","budget":{"__proto__":{"polluted":true}}}',
      "unknown-field",
      /unknown field budget\.__proto__/,
    ],
    [
      "a prototype key, as an unknown field",
      "com.eventline.campaign.created",
      '{"prototype":{}}',
      "unknown-field",
      /unknown field prototype/,
    ],
    [
      "__proto__ as a map key, which a JS object would lose",
      "com.eventline.share.requested",
      '{"invitationId":"i","shareMetadata":{"__proto__":"x"}}',
      "invalid-payload",
      /shareMetadata\.__proto__: __proto__ cannot be a map key/,
    ],
    [
      "a timestamp on the 30th of February",
      "com.eventline.attribution.touchpoint_recorded",
      '{"userId":"u","touchpoint":{"timestamp":"2026-02-30T00:00:00Z"}}',
      "invalid-payload",
      /touchpoint\.timestamp: "2026-02-30T00:00:00Z" has day 30/,
    ],
    [
      "a timestamp with the offset +25:00",
      "com.eventline.attribution.touchpoint_recorded",
      '{"userId":"u","touchpoint":{"timestamp":"2026-01-01T00:00:00+25:00"}}',
      "invalid-payload",
      /offset \+25:00/,
    ],
    [
      "an int64 beyond 2^53, which would lose digits",
      "com.dip.document.ingested",
      '{"documentId":"d","size":"9007199254740993"}',
      "invalid-payload",
      /size: 9007199254740993 is beyond ±2\^53/,
    ],
  ] as const)("refuses %s", (_name, type, text, reason, message) => {
    const err = refusal(type, parseStrictJson(text));
    expect(err).toBeInstanceOf(EncodeError);
    expect(err.reason).toBe(reason);
    expect(err.message).toMatch(message);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("takes any key in a map field, however it is named", () => {
    const payload = codec.payloadFromJson(
      "com.eventline.share.requested",
      parseStrictJson(
        '{"invitationId":"i","shareMetadata":{"constructor":"a","hasOwnProperty":"b","with space":"c","prototype":"d"}}',
      ),
    );
    expect({ ...payload.shareMetadata }).toEqual({
      constructor: "a",
      hasOwnProperty: "b",
      "with space": "c",
      prototype: "d",
    });
  });
});

describe("encoding checks the context it writes", () => {
  const encodeWith = (options: Partial<EventOptions>) => () =>
    codec.encode(
      "com.skillancer.user.created",
      { userId: "u" },
      {
        source: "//user-service",
        ...options,
      },
    );

  it.each([
    ["an empty id", { id: "" }, "missing-attribute", /id attribute is empty/],
    [
      "a source that is not a URI-reference",
      { source: "no spaces" },
      "malformed-attribute",
      /source/,
    ],
    [
      "an extension named like a context attribute",
      { extensions: { subject: "x" } },
      "malformed-attribute",
      /the extension subject is a context attribute/,
    ],
    [
      "the CloudEvents 0.3 schemaurl",
      { extensions: { schemaurl: "https://x.example/s" } },
      "malformed-attribute",
      /0\.3/,
    ],
    [
      "an extension named data",
      { extensions: { data: "x" } },
      "malformed-attribute",
      /data is the event's data/,
    ],
    [
      "a bad traceparent",
      { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01" },
      "malformed-attribute",
      /all-zero parent id/,
    ],
    [
      "more extensions than leave room for its dead letter",
      {
        extensions: Object.fromEntries(
          Array.from({ length: MAX_EVENT_ATTRIBUTES }, (_, i) => [`x${i}`, "v"]),
        ),
      },
      "too-many-attributes",
      /over the 89 an event may carry/,
    ],
  ] as const)("refuses %s", (_name, options, reason, message) => {
    expect(encodeWith(options)).toThrow(expect.objectContaining({ reason }));
    expect(encodeWith(options)).toThrow(message);
  });

  it("carries exactly as many attributes as an event may have, and no more", () => {
    const base = encodeWith({})().attributes;
    const room = MAX_EVENT_ATTRIBUTES - Object.keys(base).length;
    const extensions = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`x${i}`, "v"]));
    expect(Object.keys(encodeWith({ extensions: extensions(room) })().attributes)).toHaveLength(
      MAX_EVENT_ATTRIBUTES,
    );
    expect(encodeWith({ extensions: extensions(room + 1) })).toThrow(
      expect.objectContaining({ reason: "too-many-attributes" }),
    );
  });
});

describe("extensions and dataschema survive into the event store", () => {
  it("keeps an integer extension, a boolean one and a dataschema in the stored envelope", () => {
    const message = codec.encode(
      "com.skillancer.user.created",
      { userId: "u" },
      {
        source: "//user-service",
        extensions: { seq: "3", replayable: "true", dataschema: "https://schemas.example/user" },
      },
    );
    const decoded = codec.decode(message, "users");
    expect(decoded.meta.extensions).toMatchObject({
      seq: "3",
      replayable: "true",
      dataschema: "https://schemas.example/user",
    });
    const stored = eventline.v1.EventEnvelope.decode(
      eventline.v1.EventEnvelope.encode(toEnvelope(decoded, eventTypes)).finish(),
    );
    expect(stored.metadata).toMatchObject({
      seq: "3",
      replayable: "true",
      dataschema: "https://schemas.example/user",
    });
    expect(fromEnvelope(stored, eventTypes).meta.extensions).toEqual(decoded.meta.extensions);
  });
});

describe("decoding never throws anything but a DecodeError", () => {
  it("turns a failure nobody foresaw into DecodeError(decode-failed)", () => {
    const broken = new EventCodec(eventTypes);
    const message = codec.encode("com.skillancer.user.created", { userId: "u" }, { source: "//x" });
    vi.spyOn(broken as unknown as { decodeBody(): object }, "decodeBody").mockImplementation(() => {
      throw new TypeError("Cannot read properties of undefined (reading 'x')");
    });
    expect(() => broken.decode(message)).toThrow(
      expect.objectContaining({
        name: "DecodeError",
        decodeReason: "decode-failed",
        message: expect.stringContaining("TypeError: Cannot read properties of undefined"),
      }),
    );
  });

  it.each([
    ["attributes that are not a map", { data: Buffer.alloc(0), attributes: null }],
    ["data that is not bytes", { data: "text", attributes: {} }],
  ])("refuses %s with a DecodeError", (_name, message) => {
    expect(() => codec.decode(message as unknown as IncomingMessage)).toThrow(DecodeError);
  });
});
