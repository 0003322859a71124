import { describe, expect, it } from "vitest";
import {
  formatJsonPath,
  JsonError,
  MAX_JSON_DEPTH,
  parseStrictJson,
  parseStrictJsonBytes,
} from "../../handlers/runtime/strict-json";

function refusal(text: string): JsonError {
  try {
    parseStrictJson(text);
  } catch (err) {
    expect(err).toBeInstanceOf(JsonError);
    return err as JsonError;
  }
  throw new Error(`${text} was accepted`);
}

describe("the strict JSON parser", () => {
  it.each([
    ['{"a":1,"b":[true,false,null,"x"],"c":{"d":-1.5e3}}'],
    ['"\\u00e9\\ud83d\\ude00 \\n\\t\\"\\\\\\/"'],
    ["[]"],
    ["{}"],
    ["0"],
    ['  {"a" : [ 1 , 2 ] }  '],
    ['{"text":"' + "x".repeat(100_000) + '"}'],
  ])("reads %s as JSON.parse does", (text) => {
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
  });

  it.each([
    ['{"a":1,"a":2}', "a"],
    ['{"share":{"metadata":{"foo":1,"foo":2}}}', "share.metadata.foo"],
    ['{"items":[{"id":1},{"id":2,"id":3}]}', "items[1].id"],
    ['{"a b":{"x":1,"x":2}}', '["a b"].x'],
    ['{"__proto__":1,"__proto__":2}', "__proto__"],
  ])("refuses the duplicate key in %s, naming its path %s", (text, path) => {
    const err = refusal(text);
    expect(err.kind).toBe("duplicate-key");
    expect(err.path).toBe(path);
    expect(err.message).toContain(`a duplicate key at ${path}`);
  });

  it("keeps __proto__, constructor and prototype as ordinary keys, never touching a prototype", () => {
    const value = parseStrictJson(
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    ) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["__proto__", "constructor"]);
    expect(Object.getOwnPropertyDescriptor(value, "__proto__")?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it.each([
    ["", "syntax", /empty/],
    ["{", "syntax", /expected a key/],
    ['{"a":}', "syntax", /where a value belongs/],
    ['{"a":1,}', "syntax", /expected a key/],
    ["[1,]", "syntax", /where a value belongs/],
    ["[1 2]", "syntax", /expected , or \]/],
    ["{'a':1}", "syntax", /double quotes/],
    ["01", "syntax", /after the JSON value/],
    ["1.", "syntax", /malformed number/],
    ["-", "syntax", /malformed number/],
    ["1e400", "syntax", /out of range/],
    ["NaN", "syntax", /where a value belongs/],
    ['"a\u0001b"', "syntax", /control character/],
    ['"\\x41"', "syntax", /unknown escape/],
    ['"\\u12"', "syntax", /malformed \\u escape/],
    ['"\\ud800"', "syntax", /unpaired surrogate/],
    ['"\\udc00\\ud800"', "syntax", /unpaired surrogate/],
    ['"abc', "syntax", /unterminated/],
    ["tru", "syntax", /where a value belongs/],
    ["{} {}", "syntax", /after the JSON value/],
    ["[".repeat(MAX_JSON_DEPTH + 1) + "]".repeat(MAX_JSON_DEPTH + 1), "too-deep", /deeper than 64/],
  ])("refuses %j (%s)", (text, kind, message) => {
    const err = refusal(text);
    expect(err.kind).toBe(kind);
    expect(err.message).toMatch(message);
  });

  it("takes nesting up to its limit", () => {
    const text = "[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH);
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
  });

  it("refuses bytes that are not UTF-8", () => {
    expect(() => parseStrictJsonBytes(Buffer.from([0x22, 0xff, 0x22]))).toThrow(
      expect.objectContaining({ kind: "encoding" }),
    );
  });

  it("reports each number as it was written, with its path", () => {
    const seen: [string, string][] = [];
    parseStrictJson('{"seq":3,"f":3.0,"e":3e0,"n":{"x":[1]}}', {
      onNumber: (path, text) => seen.push([formatJsonPath(path), text]),
    });
    expect(seen).toEqual([
      ["seq", "3"],
      ["f", "3.0"],
      ["e", "3e0"],
      ["n.x[0]", "1"],
    ]);
  });
});
