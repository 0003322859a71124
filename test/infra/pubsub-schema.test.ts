import * as protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { renderPubsubSchema, SchemaRenderError } from "../../infra/gcp/pubsub-schema";
import { reflectedType } from "../../infra/model/proto";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { samplePayloads } from "../../tools/samples/events";

const topics = resolveSystem(system, "dev").topics;

/** The top-level types of a parsed file: what sits directly in its package (or root). */
function topLevelTypes(parsed: protobuf.IParserResult): protobuf.ReflectionObject[] {
  const scope = parsed.package ? parsed.root.lookup(parsed.package) : parsed.root;
  return (scope as protobuf.Namespace).nestedArray.filter(
    (item) => item instanceof protobuf.Type || item instanceof protobuf.Enum,
  );
}

describe("Pub/Sub schema definitions rendered from the proto sources", () => {
  it.each(topics.map((topic) => [topic.name, topic] as const))(
    "%s: one self-contained proto file with exactly one top-level message, its wrapper",
    (_name, topic) => {
      const definition = renderPubsubSchema(reflectedType(topic.schema), topic.encoding);
      expect(definition).not.toMatch(/^\s*import\s/m);
      const parsed = protobuf.parse(definition);
      const types = topLevelTypes(parsed);
      expect(types.map((type) => type.fullName)).toEqual([`.${topic.schemaName}`]);
      // Every reference resolves inside the file itself: nothing is left for an import to supply.
      expect(() => parsed.root.resolveAll()).not.toThrow();
      const wrapper = types[0] as protobuf.Type;
      expect(wrapper.oneofsArray.map((oneof) => oneof.name)).toEqual(["event"]);
      expect(wrapper.oneofsArray[0]!.fieldsArray.map((field) => [field.name, field.id])).toEqual(
        reflectedType(topic.schema).oneofsArray[0]!.fieldsArray.map((field) => [
          field.name,
          field.id,
        ]),
      );
    },
  );

  const events = topics.flatMap((topic) =>
    topic.events.map((event) => [event.type, topic, event] as const),
  );
  it.each(events)(
    "%s: bytes from the generated code decode to the same event with the rendered schema",
    (type, topic, event) => {
      const payload = samplePayloads[type as keyof typeof samplePayloads] as Record<
        string,
        unknown
      >;
      const bytes = topic.schema
        .encode(topic.schema.fromObject({ [event.oneofField]: payload }))
        .finish();
      const rendered = protobuf
        .parse(renderPubsubSchema(reflectedType(topic.schema), topic.encoding))
        .root.lookupType(topic.schemaName);
      const options = { longs: Number, enums: Number, defaults: false };
      expect(rendered.toObject(rendered.decode(bytes), options)).toEqual(
        topic.schema.toObject(topic.schema.decode(bytes), options),
      );
    },
  );

  it("inlines google.protobuf.Timestamp as a nested message with the same field numbers", () => {
    const attribution = topics.find((topic) => topic.name === "attribution")!;
    const definition = renderPubsubSchema(reflectedType(attribution.schema), "protobuf");
    expect(definition).toContain("Timestamp timestamp = 4;");
    expect(definition).toMatch(/message Timestamp \{\s+int64 seconds = 1;\s+int32 nanos = 2;\s+\}/);
  });

  it("refuses a JSON topic whose messages reach google.protobuf types, naming the message and the fix", () => {
    const attribution = topics.find((topic) => topic.name === "attribution")!;
    expect(() => renderPubsubSchema(reflectedType(attribution.schema), "json")).toThrow(
      SchemaRenderError,
    );
    expect(() => renderPubsubSchema(reflectedType(attribution.schema), "json")).toThrow(
      /marketing\.v1\.AttributionTopic reaches google\.protobuf\.Timestamp.*encode the topic as protobuf/,
    );
  });

  it("gives types that two packages both declare distinct names inside the wrapper", () => {
    const root = protobuf.parse(`
      syntax = "proto3";
      package a.v1;
      message Wrapper { oneof event { Item first = 1; b.v1.Item second = 2; } }
      message Item { string id = 1; }
    `).root;
    protobuf.parse(`syntax = "proto3"; package b.v1; message Item { int32 count = 1; }`, root);
    root.resolveAll();
    const definition = renderPubsubSchema(root.lookupType("a.v1.Wrapper"), "protobuf");
    const wrapper = protobuf.parse(definition).root.lookupType("a.v1.Wrapper");
    expect(wrapper.nestedArray.map((type) => type.name).sort()).toEqual(["a_v1_Item", "b_v1_Item"]);
  });

  it("refuses enums whose values would clash once they share the wrapper's scope", () => {
    const root = protobuf.parse(`
      syntax = "proto3";
      package c.v1;
      enum Color { UNSPECIFIED = 0; RED = 1; }
      enum Size { UNSPECIFIED = 0; LARGE = 1; }
      message Wrapper { oneof event { Color color = 1; Size size = 2; } }
    `).root;
    root.resolveAll();
    expect(() => renderPubsubSchema(root.lookupType("c.v1.Wrapper"), "protobuf")).toThrow(
      /UNSPECIFIED is declared by both c\.v1\.Color and c\.v1\.Size/,
    );
  });
});
