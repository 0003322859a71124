import { describe, expect, it } from "vitest";
import {
  attributeValueFromJson,
  contextProblem,
  isAbsoluteUri,
  isMediaType,
  isUriReference,
  timestampProblem,
  traceparentProblem,
} from "../../handlers/runtime/cloudevents";

const valid = {
  id: "evt-1",
  source: "//user-service",
  specversion: "1.0",
  type: "com.skillancer.user.created",
};

describe("the CloudEvents 1.0 validator", () => {
  it("takes a minimal context and one with every optional attribute", () => {
    expect(contextProblem(valid)).toBeUndefined();
    expect(
      contextProblem({
        ...valid,
        time: "2026-11-23T10:00:00.123456789+05:30",
        datacontenttype: 'application/json; charset="utf-8"',
        dataschema: "https://schemas.example.com/user/v1",
        subject: "usr_123",
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        correlationid: "flow-7",
        channel: "email",
        seq: "3",
      }),
    ).toBeUndefined();
  });

  it.each([
    ["id", "missing-attribute", /the id attribute is missing/],
    ["source", "missing-attribute", /the source attribute is missing/],
    ["specversion", "missing-attribute", /the specversion attribute is missing/],
    ["type", "missing-attribute", /the type attribute is missing/],
  ])("refuses a context without %s", (name, reason, message) => {
    const context: Record<string, string> = { ...valid };
    delete context[name];
    expect(contextProblem(context)).toMatchObject({ reason, attribute: name });
    expect(contextProblem(context)?.message).toMatch(message);
    expect(contextProblem({ ...valid, [name]: "" })).toMatchObject({
      reason: "missing-attribute",
      message: expect.stringContaining("is empty"),
    });
  });

  it("requires what the caller requires besides the spec's four", () => {
    expect(contextProblem(valid, ["time"])).toMatchObject({
      reason: "missing-attribute",
      attribute: "time",
    });
  });

  it.each([
    ["specversion", "0.3", /not supported \(only 1\.0\)/],
    ["schemaurl", "https://x.example/s", /CloudEvents 0\.3 attribute.*dataschema/],
    ["datacontentencoding", "base64", /CloudEvents 0\.3 attribute/],
    ["subject", "", /given but empty/],
    ["channel", "", /given but empty/],
    ["source", "not a uri", /URI-reference/],
    ["dataschema", "/relative/schema", /absolute RFC 3986 URI/],
    ["datacontenttype", "json", /RFC 2046 media type/],
    ["time", "2026-01-01T00:00:00+25:00", /offset \+25:00/],
    ["traceparent", "garbage", /W3C traceparent/],
    ["Channel", "x", /not 1-20 lowercase letters or digits/],
    ["channel_name", "x", /not 1-20 lowercase letters or digits/],
    ["abcdefghijklmnopqrstu", "x", /not 1-20 lowercase letters or digits/],
    ["data", "x", /the event's data, not an attribute/],
    ["id", "a\u0007b", /control character/],
    ["subject", "\ud800", /unpaired surrogate/],
    ["subject", "\ufffe", /noncharacter/],
  ])("refuses %s=%j as malformed", (name, value, message) => {
    const problem = contextProblem({ ...valid, [name]: value });
    expect(problem).toMatchObject({ reason: "malformed-attribute" });
    expect(problem?.message).toMatch(message);
  });

  it("names attributes as the caller writes them", () => {
    expect(contextProblem({ ...valid, schemaurl: "x" }, [], (n) => `ce-${n}`)?.message).toMatch(
      /^ce-schemaurl /,
    );
  });
});

describe("RFC 3339 timestamps", () => {
  it.each([
    "2026-11-23T10:00:00Z",
    "2026-11-23t10:00:00z",
    "2026-11-23T10:00:00.1Z",
    "2026-11-23T10:00:00.123456789Z",
    "2024-02-29T23:59:59-23:59",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59Z",
  ])("takes %s", (value) => expect(timestampProblem(value)).toBeUndefined());

  it.each([
    ["2026-01-01T00:00:00+25:00", /offset/],
    ["2026-01-01T00:00:00+05:60", /offset/],
    ["2026-13-01T00:00:00Z", /month 13/],
    ["2026-00-01T00:00:00Z", /month 00/],
    ["2026-02-29T00:00:00Z", /day 29/],
    ["2026-04-31T00:00:00Z", /day 31/],
    ["2026-01-01T24:00:00Z", /hour 24/],
    ["2026-01-01T00:60:00Z", /minute 60/],
    ["2026-01-01T00:00:60Z", /second 60/],
    ["0000-01-01T00:00:00Z", /year 0000/],
    ["2026-01-01T00:00:00.1234567890Z", /not an RFC 3339/],
    ["2026-01-01 00:00:00Z", /not an RFC 3339/],
    ["2026-01-01T00:00:00", /not an RFC 3339/],
    ["yesterday", /not an RFC 3339/],
  ])("refuses %s", (value, message) => expect(timestampProblem(value)).toMatch(message));
});

describe("URIs and media types", () => {
  it.each([
    "//user-service",
    "/services/ingestion",
    "https://example.com/a/b?c=d#e",
    "urn:uuid:123e4567-e89b-12d3-a456-426614174000",
    "mailto:ana@example.com",
    "https://[2001:db8::1]:8080/x",
    "relative/path",
    "a%20b",
    "//user@host:1/p",
  ])("takes %s as a URI-reference", (value) => expect(isUriReference(value)).toBe(true));

  it.each([
    "with space",
    "bad%zz",
    "1http://x",
    "https://exa mple.com",
    "a#b#c",
    "é",
    "http://[::1",
    "a:b:c with space",
  ])("refuses %j as a URI-reference", (value) => expect(isUriReference(value)).toBe(false));

  it("takes only URIs with a scheme as absolute", () => {
    expect(isAbsoluteUri("https://schemas.example.com/x")).toBe(true);
    expect(isAbsoluteUri("urn:schema:1")).toBe(true);
    expect(isAbsoluteUri("//no-scheme")).toBe(false);
    expect(isAbsoluteUri("/path")).toBe(false);
  });

  it.each([
    ["application/json", true],
    ["application/cloudevents+json; charset=utf-8", true],
    ['text/plain;charset="us-ascii"', true],
    ["application/vnd.apache.thrift.binary", true],
    ["json", false],
    ["application/", false],
    ["application/json; charset", false],
    ["app lication/json", false],
    ["application/json;", false],
  ])("media type %j is %s", (value, ok) => expect(isMediaType(value)).toBe(ok));
});

describe("W3C traceparent", () => {
  it.each([
    ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", undefined],
    ["00-00000000000000000000000000000000-00f067aa0ba902b7-01", /all-zero trace id/],
    ["00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /all-zero parent id/],
    ["01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /W3C traceparent/],
    ["00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /W3C traceparent/],
    ["00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", /W3C traceparent/],
    ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", /W3C traceparent/],
  ])("%s", (value, problem) => {
    const found = traceparentProblem(value);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

describe("attribute values in the JSON format", () => {
  it.each([
    ["a string", "x", undefined, "x"],
    ["an integer", 3, "3", "3"],
    ["a negative integer", -42, "-42", "-42"],
    ["the largest integer", 2_147_483_647, "2147483647", "2147483647"],
    ["true", true, undefined, "true"],
    ["false", false, undefined, "false"],
    ["a URI (a string)", "https://x.example", undefined, "https://x.example"],
    ["binary (base64, a string)", "AAEC", undefined, "AAEC"],
  ])("carries %s as its string form", (_name, value, text, expected) => {
    expect(attributeValueFromJson(value, text)).toEqual({ value: expected });
  });

  it("treats null as absent", () => {
    expect(attributeValueFromJson(null)).toBeUndefined();
  });

  it.each([
    ["a fraction", 3.5, "3.5", /whole digits/],
    ["an integer written with a fraction", 3, "3.0", /whole digits/],
    ["an integer written with an exponent", 3, "3e0", /whole digits/],
    ["a number past 32 bits", 2_147_483_648, "2147483648", /32 bits/],
    ["an object", { a: 1 }, undefined, /an object/],
    ["an array", [1], undefined, /an array/],
  ])("refuses %s", (_name, value, text, problem) => {
    const result = attributeValueFromJson(value, text);
    expect(result).toEqual({ problem: expect.stringMatching(problem) });
  });
});
