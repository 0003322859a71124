import { describe, expect, it } from "vitest";
import { eventline } from "../../proto/gen";
import { type EventType } from "../../handlers/runtime/event-types";
import { eventTypesFor } from "../../handlers/declared";
import {
  CONTENT_TYPES,
  EventCodec,
  PUBSUB_MESSAGE_LIMITS,
  causedBy,
  type IncomingMessage,
} from "../../handlers/runtime/codec";
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
      "oversize",
      withAttributes(manyAttributes),
      /attributes/,
    ],
    [
      "an attribute value over 1024 bytes",
      "oversize",
      withAttributes({ "ce-subject": "x".repeat(1025) }),
      /ce-subject/,
    ],
    [
      "a message over 10 MB",
      "oversize",
      { data: Buffer.alloc(PUBSUB_MESSAGE_LIMITS.totalBytes + 1), attributes: good.attributes },
      /bytes/,
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
      /platform: enum value expected/,
    ],
    ["data that is not an object", ["c"], /JSON object/],
  ])("rejects %s, naming it", (_name, json, message) => {
    expect(() => codec.payloadFromJson("com.eventline.campaign.created", json)).toThrow(message);
  });
});
