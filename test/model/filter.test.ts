import { describe, it, expect } from "vitest";
import {
  compileFilter,
  filterForTypes,
  FilterSyntaxError,
  matchesFilter,
  MAX_FILTER_BYTES,
  parseFilter,
  type FilterAst,
} from "../../infra/model/filter";

type Attributes = Record<string, string>;

/** Parses `filter` expecting a FilterSyntaxError, and returns it. */
function rejection(filter: string): FilterSyntaxError {
  try {
    parseFilter(filter);
  } catch (error) {
    if (error instanceof FilterSyntaxError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(filter)} to be rejected`);
}

const TAG = "iana.org/language_tag";

// Every filter on https://cloud.google.com/pubsub/docs/subscription-message-filter that the page calls valid,
// with messages the page's explanation says the filter selects (matches) or does not (misses).
const documentedExamples: {
  filter: string;
  selects: string;
  matches: Attributes[];
  misses: Attributes[];
}[] = [
  {
    filter: "attributes:name",
    selects: "messages with the name attribute",
    matches: [{ name: "com" }, { name: "" }, { name: "x", other: "y" }],
    misses: [{}, { other: "name" }, { Name: "com" }],
  },
  {
    filter: "NOT attributes:name",
    selects: "messages without the name attribute",
    matches: [{}, { other: "name" }],
    misses: [{ name: "com" }, { name: "" }],
  },
  {
    filter: 'attributes.name = "com"',
    selects: "messages with the name attribute and the value of com, case-sensitively",
    matches: [{ name: "com" }, { name: "com", other: "x" }],
    misses: [
      {},
      { name: "net" },
      { name: "Com" },
      { name: "com " },
      { Name: "com" },
      { name: "comet" },
    ],
  },
  {
    filter: 'attributes.name != "com"',
    selects:
      "messages without the name attribute and the value of com, including messages without name",
    matches: [{ name: "net" }, {}, { other: "com" }, { name: "" }],
    misses: [{ name: "com" }],
  },
  {
    filter: 'hasPrefix(attributes.name, "co")',
    selects: "messages with the name attribute and a value that starts with co",
    matches: [{ name: "com" }, { name: "co" }, { name: "cow" }],
    misses: [{}, { name: "net" }, { name: "Com" }, { name: "c" }, { other: "com" }],
  },
  {
    filter: 'NOT hasPrefix(attributes.name, "co")',
    selects: "messages without the name attribute and a value that starts with co",
    matches: [{}, { name: "net" }, { name: "c" }],
    misses: [{ name: "com" }, { name: "co" }],
  },
  {
    filter: "attributes:KEY",
    selects: "messages with the KEY attribute (the docs' template)",
    matches: [{ KEY: "" }],
    misses: [{ key: "" }],
  },
  {
    filter: 'attributes.KEY = "VALUE"',
    selects: "messages whose KEY is VALUE (the docs' template)",
    matches: [{ KEY: "VALUE" }],
    misses: [{ KEY: "value" }, {}],
  },
  {
    filter: `attributes."${TAG}" = "en"`,
    selects: "messages whose quoted key iana.org/language_tag is en",
    matches: [{ [TAG]: "en" }],
    misses: [{ [TAG]: "fr" }, {}, { language_tag: "en" }],
  },
  {
    filter: String.raw`attributes:"\u307F\u3093\u306A"`,
    selects: "messages with the attribute みんな, written with Unicode escapes",
    matches: [{ みんな: "" }, { みんな: "x", other: "y" }],
    misses: [{}, { [String.raw`\u307F\u3093\u306A`]: "" }],
  },
  {
    filter: `attributes:"${TAG}" AND NOT attributes.name = "com"`,
    selects:
      "messages with the iana.org/language_tag attribute, but without the name attribute and the com value",
    matches: [{ [TAG]: "en" }, { [TAG]: "en", name: "net" }],
    misses: [{ [TAG]: "en", name: "com" }, { name: "net" }, {}],
  },
  {
    filter: `attributes:"${TAG}" AND (attributes.name = "net" OR attributes.name = "org")`,
    selects: "messages with the language tag whose name is net or org",
    matches: [
      { [TAG]: "en", name: "net" },
      { [TAG]: "", name: "org" },
    ],
    misses: [{ [TAG]: "en", name: "com" }, { [TAG]: "en" }, { name: "net" }],
  },
  {
    filter: `attributes.name = "com" AND -attributes:"${TAG}"`,
    selects: "messages whose name is com and without the language tag (unary minus as NOT)",
    matches: [{ name: "com" }, { name: "com", other: "x" }],
    misses: [{ name: "com", [TAG]: "en" }, { name: "net" }, {}],
  },
  {
    filter: 'hasPrefix(attributes.KEY, "SUBSTRING")',
    selects: "messages whose KEY starts with SUBSTRING (the docs' template)",
    matches: [{ KEY: "SUBSTRING" }, { KEY: "SUBSTRING and more" }],
    misses: [{ KEY: "SUBSTRIN" }, {}],
  },
  {
    filter: 'attributes.author="unknown"',
    selects: "messages whose author is unknown (client library samples, no spaces around =)",
    matches: [{ author: "unknown" }],
    misses: [{ author: "known" }, {}],
  },
  {
    filter: 'attributes.is-even = "false"',
    selects: "messages whose hyphenated bare key is-even is false (C++ sample)",
    matches: [{ "is-even": "false" }],
    misses: [{ "is-even": "true" }, { is: "false" }, {}],
  },
];

describe("Google's documented filter examples", () => {
  it.each(documentedExamples)(
    "$filter parses and selects $selects",
    ({ filter, matches, misses }) => {
      const ast = parseFilter(filter);
      for (const attributes of matches)
        expect(matchesFilter(ast, attributes), JSON.stringify(attributes)).toBe(true);
      for (const attributes of misses)
        expect(matchesFilter(ast, attributes), JSON.stringify(attributes)).toBe(false);
    },
  );

  it.each([
    { filter: '"com" = attributes.name', why: "the left-hand side is a value", position: 0 },
    { filter: "attributes.name = attributes.website", why: "it compares two keys", position: 18 },
    {
      filter: String.raw`attributes:\u307F\u3093\u306A`,
      why: "it escapes outside a string literal",
      position: 11,
    },
    {
      filter: `attributes:"${TAG}" AND attributes.name = "net" OR attributes.name = "org"`,
      why: "it mixes AND and OR without parentheses",
      position: 63,
    },
    {
      filter: 'attributes.name = "com" AND ("net" OR "org")',
      why: "it combines incomplete expressions",
      position: 29,
    },
  ])("rejects $filter because $why, at $position", ({ filter, position }) => {
    expect(rejection(filter).position).toBe(position);
  });
});

describe("malformed filters", () => {
  it.each([
    {
      problem: "an unclosed parenthesis",
      filter: "(attributes:a",
      position: 13,
      message: 'expected ")"',
    },
    {
      problem: "an unclosed nested parenthesis",
      filter: "((attributes:a)",
      position: 15,
      message: 'expected ")"',
    },
    {
      problem: "an unopened parenthesis",
      filter: "attributes:a)",
      position: 12,
      message: 'unbalanced ")"',
    },
    { problem: "empty parentheses", filter: "()", position: 1, message: "expected a condition" },
    {
      problem: "a missing value",
      filter: "attributes.name =",
      position: 17,
      message: 'expected a string literal after "=" at 17',
    },
    {
      problem: "a missing value after !=",
      filter: "attributes.name != ",
      position: 19,
      message: 'after "!="',
    },
    {
      problem: "an unquoted value",
      filter: "attributes.name = com",
      position: 18,
      message: 'found "com"',
    },
    {
      problem: "a single-quoted value",
      filter: "attributes.name = 'com'",
      position: 18,
      message: "double quotes",
    },
    {
      problem: "a single-quoted key",
      filter: "attributes:'name'",
      position: 11,
      message: "attribute key",
    },
    {
      problem: "an unterminated string",
      filter: 'attributes.name = "com',
      position: 18,
      message: "unterminated",
    },
    { problem: "= with no key", filter: '= "com"', position: 0, message: "expected a condition" },
    {
      problem: "= with an empty key",
      filter: 'attributes.= "com"',
      position: 11,
      message: "attribute key",
    },
    {
      problem: "= on attributes itself",
      filter: 'attributes = "com"',
      position: 11,
      message: 'expected ":"',
    },
    {
      problem: "a missing operator",
      filter: "attributes.name",
      position: 15,
      message: '"=" or "!="',
    },
    {
      problem: "== instead of =",
      filter: 'attributes.name == "com"',
      position: 17,
      message: "string literal",
    },
    {
      problem: "an ordering comparison",
      filter: 'attributes.n < "5"',
      position: 13,
      message: '"=" or "!="',
    },
    {
      problem: "a bare key with a dot",
      filter: 'attributes.iana.org = "x"',
      position: 15,
      message: "string literals",
    },
    {
      problem: "a space before the dot",
      filter: 'attributes .name = "x"',
      position: 11,
      message: "no space",
    },
    {
      problem: "an unknown function",
      filter: 'hasSuffix(attributes.name, "om")',
      position: 0,
      message: 'unknown function "hasSuffix"',
    },
    {
      problem: "a lowercase hasPrefix",
      filter: 'hasprefix(attributes.name, "co")',
      position: 0,
      message: "unknown function",
    },
    {
      problem: "hasPrefix with one argument",
      filter: "hasPrefix(attributes.name)",
      position: 25,
      message: 'expected ","',
    },
    {
      problem: "hasPrefix with swapped arguments",
      filter: 'hasPrefix("co", attributes.name)',
      position: 10,
      message: "attributes.KEY",
    },
    {
      problem: "hasPrefix without its closing parenthesis",
      filter: 'hasPrefix(attributes.a, "x"',
      position: 27,
      message: 'expected ")"',
    },
    {
      problem: "AND then OR without parentheses",
      filter: "attributes:a AND attributes:b OR attributes:c",
      position: 30,
      message: "cannot mix AND and OR",
    },
    {
      problem: "OR then AND without parentheses",
      filter: "attributes:a OR attributes:b AND attributes:c",
      position: 29,
      message: "cannot mix AND and OR",
    },
    { problem: "a trailing AND", filter: "attributes:a AND", position: 16, message: 'after "AND"' },
    {
      problem: "a trailing OR with spaces",
      filter: "attributes:a OR  ",
      position: 17,
      message: "found end of filter",
    },
    { problem: "a lone NOT", filter: "NOT", position: 3, message: 'after "NOT"' },
    { problem: "a lone minus", filter: "-", position: 1, message: 'after "-"' },
    {
      problem: "a leading AND",
      filter: "AND attributes:a",
      position: 0,
      message: "expected a condition",
    },
    {
      problem: "a double NOT",
      filter: "NOT NOT attributes:a",
      position: 4,
      message: 'after "NOT"',
    },
    {
      problem: "conditions without an operator",
      filter: "attributes:a attributes:b",
      position: 13,
      message: '"AND", "OR"',
    },
    {
      problem: "two values",
      filter: 'attributes.a = "x" "y"',
      position: 19,
      message: '"AND", "OR"',
    },
    {
      problem: "a lowercase and",
      filter: "attributes:a and attributes:b",
      position: 13,
      message: "uppercase: AND",
    },
    {
      problem: "a lowercase or",
      filter: "attributes:a or attributes:b",
      position: 13,
      message: "uppercase: OR",
    },
    {
      problem: "a lowercase not",
      filter: "not attributes:a",
      position: 0,
      message: "uppercase: NOT",
    },
    {
      problem: "a keyword glued to a word",
      filter: "NOTattributes:a",
      position: 0,
      message: "expected a condition",
    },
    {
      problem: "an invalid escape",
      filter: String.raw`attributes.a = "\q"`,
      position: 16,
      message: String.raw`"\q"`,
    },
    {
      problem: "a short hex escape",
      filter: String.raw`attributes.a = "\x4"`,
      position: 16,
      message: "invalid escape",
    },
    {
      problem: "a short unicode escape",
      filter: String.raw`attributes.a = "\u30"`,
      position: 16,
      message: "invalid escape",
    },
    {
      problem: "an octal escape above \\377",
      filter: String.raw`attributes.a = "\400"`,
      position: 16,
      message: "invalid escape",
    },
    {
      problem: "a two-digit octal escape",
      filter: String.raw`attributes.a = "\18"`,
      position: 16,
      message: "invalid escape",
    },
    {
      problem: "a surrogate unicode escape",
      filter: String.raw`attributes.a = "\uD800"`,
      position: 16,
      message: "Unicode scalar",
    },
    {
      problem: "an escape beyond U+10FFFF",
      filter: String.raw`attributes.a = "\U00110000"`,
      position: 16,
      message: "Unicode scalar",
    },
    {
      problem: "a trailing backslash",
      filter: 'attributes.a = "\\',
      position: 16,
      message: "invalid escape",
    },
    {
      problem: "a raw newline in a string",
      filter: 'attributes.a = "x\ny"',
      position: 17,
      message: "control character",
    },
  ])("rejects $problem at position $position", ({ filter, position, message }) => {
    const error = rejection(filter);
    expect(error.position).toBe(position);
    expect(error.message).toContain(message);
    expect(error.message).toContain(` at ${position}`);
  });

  it("reports errors as FilterSyntaxError carrying the filter, the position and a named message", () => {
    const error = rejection("attributes.name = com");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("FilterSyntaxError");
    expect(error.filter).toBe("attributes.name = com");
    expect(error.message).toBe('expected a string literal after "=" at 18, found "com"');
  });
});

describe("the 256-byte limit", () => {
  // `attributes.k = "` is 16 bytes and the closing quote 1, so a value of N bytes makes a filter of N + 17.
  const withValue = (value: string): string => `attributes.k = "${value}"`;

  it("is 256 bytes", () => {
    expect(MAX_FILTER_BYTES).toBe(256);
  });

  it.each([
    { what: "ASCII", value: "v".repeat(239) },
    { what: "two-byte characters", value: `v${"é".repeat(119)}` },
  ])("accepts a filter of exactly 256 bytes of $what", ({ value }) => {
    const filter = withValue(value);
    expect(Buffer.byteLength(filter)).toBe(256);
    expect(compileFilter(filter)({ k: value })).toBe(true);
  });

  it("rejects a 257-byte filter, naming the limit and the actual size, at the first character past the limit", () => {
    const error = rejection(withValue("v".repeat(240)));
    expect(error.message).toContain("filter is 257 bytes");
    expect(error.message).toContain("256-byte limit");
    expect(error.position).toBe(256);
  });

  it("counts UTF-8 bytes, not characters, and points at the character that straddles the limit", () => {
    const filter = withValue(`v${"é".repeat(120)}`); // 138 characters, 258 bytes
    expect(filter.length).toBeLessThan(MAX_FILTER_BYTES);
    const error = rejection(filter);
    expect(error.message).toContain("258 bytes");
    expect(error.position).toBe(17 + 119); // the 120th "é" occupies bytes 256 and 257 (1-based)
  });
});

describe("empty filters", () => {
  it.each(["", " ", "\n\t  \r\n"])("treats %j as matching every message", (filter) => {
    expect(parseFilter(filter)).toEqual({ kind: "matchAll" });
    const matches = compileFilter(filter);
    expect(matches({})).toBe(true);
    expect(matches({ anything: "at all" })).toBe(true);
  });
});

describe("string literals", () => {
  it.each([
    { literal: String.raw`\"`, decoded: '"' },
    { literal: String.raw`\\`, decoded: "\\" },
    { literal: String.raw`\n\r\t`, decoded: "\n\r\t" },
    { literal: String.raw`\a\b\f\v`, decoded: "\x07\b\f\v" },
    { literal: String.raw`\'\?\``, decoded: "'?`" },
    { literal: String.raw`\x41\X42`, decoded: "AB" },
    { literal: String.raw`\101\000\377`, decoded: "A\0ÿ" },
    { literal: String.raw`\u00e9\u00E9`, decoded: "éé" },
    { literal: String.raw`\U0001F600`, decoded: "😀" },
    { literal: String.raw`\u307F\u3093\u306A`, decoded: "みんな" },
    { literal: "raw みんな 😀 and spaces  ", decoded: "raw みんな 😀 and spaces  " },
    { literal: "", decoded: "" },
  ])("decodes $literal", ({ literal, decoded }) => {
    const filter = `attributes.k = "${literal}"`;
    expect(parseFilter(filter)).toEqual({ kind: "equals", key: "k", value: decoded });
    expect(compileFilter(filter)({ k: decoded })).toBe(true);
    expect(compileFilter(filter)({ k: `${decoded}x` })).toBe(false);
  });
});

describe("attribute keys", () => {
  it.each([
    { filter: 'attributes.ce-type = "x"', key: "ce-type" },
    { filter: "attributes:ce-type", key: "ce-type" },
    { filter: "attributes:_9-a_B", key: "_9-a_B" },
    { filter: "attributes:123", key: "123" },
    { filter: 'attributes."my key" = "x"', key: "my key" },
    { filter: String.raw`attributes."say \"hi\"" = "x"`, key: 'say "hi"' },
    { filter: 'hasPrefix(attributes."a.b", "x")', key: "a.b" },
    { filter: 'attributes : "spaced colon"', key: "spaced colon" },
  ])("reads the key $key from $filter", ({ filter, key }) => {
    const ast = parseFilter(filter);
    expect("key" in ast && ast.key).toBe(key);
    expect(matchesFilter(ast, { [key]: "x" })).toBe(true);
    expect(matchesFilter(ast, { [`${key}!`]: "x" })).toBe(false);
  });

  it("reads a hyphenated key after a minus NOT without confusing the two", () => {
    expect(parseFilter("-attributes:ce-type")).toEqual({
      kind: "not",
      operand: { kind: "hasKey", key: "ce-type" },
    });
  });

  it.each([
    { filter: "attributes:constructor", attributes: {}, expected: false },
    { filter: 'attributes.toString != "x"', attributes: {}, expected: true },
    { filter: 'hasPrefix(attributes.__proto__, "")', attributes: {}, expected: false },
    {
      filter: "attributes:k",
      attributes: Object.assign(Object.create(null) as Attributes, { k: "v" }),
      expected: true,
    },
  ])("only sees the message's own attributes for $filter", ({ filter, attributes, expected }) => {
    expect(compileFilter(filter)(attributes)).toBe(expected);
  });
});

describe("boolean structure", () => {
  const a = { kind: "hasKey", key: "a" } as const;
  const b = { kind: "hasKey", key: "b" } as const;
  const c = { kind: "hasKey", key: "c" } as const;

  it.each<{ filter: string; ast: FilterAst }>([
    {
      filter: "NOT attributes:a AND attributes:b",
      ast: { kind: "and", operands: [{ kind: "not", operand: a }, b] },
    },
    {
      filter: "attributes:a OR attributes:b OR attributes:c",
      ast: { kind: "or", operands: [a, b, c] },
    },
    {
      filter: "(attributes:a AND attributes:b) OR attributes:c",
      ast: { kind: "or", operands: [{ kind: "and", operands: [a, b] }, c] },
    },
    {
      filter: "NOT (attributes:a OR attributes:b)",
      ast: { kind: "not", operand: { kind: "or", operands: [a, b] } },
    },
    {
      filter: "NOT (NOT attributes:a)",
      ast: { kind: "not", operand: { kind: "not", operand: a } },
    },
    { filter: "((attributes:a))", ast: a },
    {
      filter: "\tattributes:a\nAND\r\n- attributes:b ",
      ast: { kind: "and", operands: [a, { kind: "not", operand: b }] },
    },
    {
      filter: 'hasPrefix( attributes.a ,"x" )AND(attributes:b)',
      ast: { kind: "and", operands: [{ kind: "hasPrefix", key: "a", prefix: "x" }, b] },
    },
  ])("groups $filter by its parentheses, with NOT binding tightest", ({ filter, ast }) => {
    expect(parseFilter(filter)).toEqual(ast);
  });

  it.each<{ attributes: Attributes; expected: boolean }>([
    { attributes: { a: "", b: "" }, expected: false },
    { attributes: { b: "" }, expected: true },
    { attributes: { c: "" }, expected: true },
    { attributes: { a: "", c: "" }, expected: true },
    { attributes: {}, expected: false },
  ])("evaluates (NOT a AND b) OR c as $expected for $attributes", ({ attributes, expected }) => {
    const matches = compileFilter("(NOT attributes:a AND attributes:b) OR attributes:c");
    expect(matches(attributes)).toBe(expected);
  });
});

describe("filterForTypes", () => {
  it.each([
    { types: ["a"], attribute: undefined, filter: 'attributes.ce-type = "a"' },
    {
      types: ["a", "b"],
      attribute: undefined,
      filter: 'attributes.ce-type = "a" OR attributes.ce-type = "b"',
    },
    {
      types: ["a", "b", "a"],
      attribute: undefined,
      filter: 'attributes.ce-type = "a" OR attributes.ce-type = "b"',
    },
    { types: ["a"], attribute: "type", filter: 'attributes.type = "a"' },
    { types: ["a"], attribute: "event type", filter: 'attributes."event type" = "a"' },
    {
      types: ['say "hi"'],
      attribute: undefined,
      filter: String.raw`attributes.ce-type = "say \"hi\""`,
    },
    {
      types: ["C:\\dir\\"],
      attribute: undefined,
      filter: String.raw`attributes.ce-type = "C:\\dir\\"`,
    },
    {
      types: ["tab\there"],
      attribute: undefined,
      filter: String.raw`attributes.ce-type = "tab\u0009here"`,
    },
  ])("writes $filter for the types $types", ({ types, attribute, filter }) => {
    expect(filterForTypes(types, attribute)).toBe(filter);
  });

  it.each([
    { types: ["com.example.order.created.v1", "com.example.order.cancelled.v1"] },
    { types: ['quote"d', "back\\slash", '\\"', 'both\\"end\\'] },
    { types: ["new\nline", "nul\0", "みんな", "😀", ""] },
    { types: ["x".repeat(100)] },
  ])("round-trips $types through compileFilter, matching exactly those types", ({ types }) => {
    const matches = compileFilter(filterForTypes(types));
    for (const type of types) expect(matches({ "ce-type": type }), JSON.stringify(type)).toBe(true);
    for (const other of [
      "other",
      ...types.map((type) => `${type}x`),
      ...types.map((type) => `x${type}`),
    ]) {
      if (!types.includes(other))
        expect(matches({ "ce-type": other }), JSON.stringify(other)).toBe(false);
    }
    expect(matches({})).toBe(false);
    expect(matches({ type: types[0] ?? "" })).toBe(false);
  });

  it("matches on a custom attribute, quoted when it needs quoting", () => {
    const matches = compileFilter(filterForTypes(["a"], "my.type"));
    expect(matches({ "my.type": "a" })).toBe(true);
    expect(matches({ "ce-type": "a" })).toBe(false);
  });

  it("refuses an empty list of types, since no filter matches nothing", () => {
    expect(() => filterForTypes([])).toThrow(RangeError);
  });

  it("refuses to build a filter over the byte limit", () => {
    expect(() => filterForTypes(["a".repeat(100), "b".repeat(100), "c".repeat(100)])).toThrow(
      FilterSyntaxError,
    );
  });
});
