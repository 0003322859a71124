/**
 * The one JSON parser for everything the system takes from outside: gateway bodies, structured
 * CloudEvents, share requests, JSON-encoded topic bodies and push bodies. It accepts exactly
 * RFC 8259 JSON and refuses what `JSON.parse` lets through silently:
 *   - a key twice in one object (JSON.parse keeps the last), refused with the key's path;
 *   - `__proto__` as a key: kept as an ordinary own property, never a prototype (callers that
 *     check fields then refuse it as the unknown field it is);
 *   - strings with unpaired surrogates (`"\ud800"`), which no UTF-8 message can carry;
 *   - numbers too large for a double (`1e400`, which JSON.parse turns into Infinity);
 *   - nesting deeper than {@link MAX_JSON_DEPTH} (a recursion bomb), and invalid UTF-8.
 * It never throws anything but a {@link JsonError}, which names the path and the position.
 */

/** A parsed JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Where a value is in a document: object keys and array indexes from the root. */
export type JsonPath = readonly (string | number)[];

/** Objects and arrays nested deeper than this are refused; no message the catalog declares comes near. */
export const MAX_JSON_DEPTH = 64;

/** What is wrong with a JSON text. */
export type JsonErrorKind = "syntax" | "duplicate-key" | "too-deep" | "encoding";

/** A JSON text the parser refuses: the kind, the path of the value at fault and the position. */
export class JsonError extends Error {
  override readonly name = "JsonError";
  constructor(
    readonly kind: JsonErrorKind,
    message: string,
    /** The path of the value at fault, as {@link formatJsonPath} writes it ("" for the root). */
    readonly path: string,
    /** The character offset in the text, when the text decoded. */
    readonly position?: number,
  ) {
    super(message);
  }
}

export interface StrictJsonOptions {
  /** Default {@link MAX_JSON_DEPTH}. */
  maxDepth?: number;
  /** Called with each number's path and its text as written (e.g. to tell `3` from `3.0`). */
  onNumber?: (path: JsonPath, text: string) => void;
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A path as the refusals write it: `share.metadata["a b"].items[2]`; "" for the root. */
export function formatJsonPath(path: JsonPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (identifier.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

// eslint-disable-next-line no-control-regex -- JSON strings may not hold raw control characters
const needsCare = /[\\\u0000-\u001f]/;
const unpairedSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const escapes: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class Parser {
  private pos = 0;
  private readonly path: (string | number)[] = [];
  private readonly maxDepth: number;

  constructor(
    private readonly text: string,
    private readonly options: StrictJsonOptions,
  ) {
    this.maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  }

  parseDocument(): JsonValue {
    this.skipWhitespace();
    if (this.pos >= this.text.length) this.fail("syntax", "the text is empty");
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos < this.text.length)
      this.fail("syntax", `unexpected ${this.describe()} after the JSON value`);
    return value;
  }

  private fail(kind: JsonErrorKind, problem: string): never {
    const where = formatJsonPath(this.path);
    throw new JsonError(
      kind,
      `${problem} at ${where === "" ? "" : `${where}, `}position ${this.pos}`,
      where,
      this.pos,
    );
  }

  private describe(): string {
    if (this.pos >= this.text.length) return "end of text";
    return JSON.stringify(this.text.slice(this.pos, this.pos + 12));
  }

  private skipWhitespace(): void {
    const { text } = this;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  private parseValue(depth: number): JsonValue {
    const c = this.text[this.pos];
    switch (c) {
      case "{":
        return this.parseObject(depth + 1);
      case "[":
        return this.parseArray(depth + 1);
      case '"':
        return this.parseString();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      default:
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.parseNumber();
        return this.fail("syntax", `unexpected ${this.describe()} where a value belongs`);
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos))
      this.fail("syntax", `unexpected ${this.describe()} where a value belongs`);
    this.pos += word.length;
    return value;
  }

  private parseNumber(): number {
    const { text } = this;
    const start = this.pos;
    let i = start;
    const digitAt = (at: number): boolean => {
      const c = text.charCodeAt(at);
      return c >= 0x30 && c <= 0x39;
    };
    if (text.charCodeAt(i) === 0x2d) i++; // -
    if (text.charCodeAt(i) === 0x30) i++;
    else if (digitAt(i)) while (digitAt(i)) i++;
    else this.fail("syntax", "a malformed number");
    if (text.charCodeAt(i) === 0x2e) {
      i++;
      if (!digitAt(i)) this.fail("syntax", "a malformed number");
      while (digitAt(i)) i++;
    }
    const e = text.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const sign = text.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      if (!digitAt(i)) this.fail("syntax", "a malformed number");
      while (digitAt(i)) i++;
    }
    const token = text.slice(start, i);
    const value = Number(token);
    if (!Number.isFinite(value)) this.fail("syntax", `the number ${token} is out of range`);
    this.options.onNumber?.([...this.path], token);
    this.pos = i;
    return value;
  }

  private parseString(): string {
    const { text } = this;
    this.pos++; // the opening quote
    // Most strings hold no escape and no control character: two native scans find those.
    const close = text.indexOf('"', this.pos);
    if (close >= 0) {
      const plain = text.slice(this.pos, close);
      if (!needsCare.test(plain)) {
        this.pos = close + 1;
        return plain;
      }
    }
    let out = "";
    let escaped = false;
    for (;;) {
      const start = this.pos;
      let i = start;
      let c = text.charCodeAt(i);
      // Runs of plain characters, up to a quote, a backslash, a control character or the end.
      while (c !== 0x22 && c !== 0x5c && c >= 0x20) c = text.charCodeAt(++i);
      if (i > start) out += text.slice(start, i);
      this.pos = i;
      if (c === 0x22) {
        this.pos++;
        if (escaped && unpairedSurrogate.test(out))
          this.fail("syntax", "a string with an unpaired surrogate (\\ud800-\\udfff)");
        return out;
      }
      if (Number.isNaN(c)) return this.fail("syntax", "an unterminated string");
      if (c !== 0x5c) return this.fail("syntax", "a control character inside a string");
      escaped = true;
      const e = text[this.pos + 1];
      if (e === "u") {
        const hex = text.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("syntax", "a malformed \\u escape");
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else if (e !== undefined && Object.hasOwn(escapes, e)) {
        out += escapes[e];
        this.pos += 2;
      } else {
        this.fail("syntax", "an unknown escape in a string");
      }
    }
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth)
      this.fail("too-deep", `objects and arrays nested deeper than ${this.maxDepth}`);
    this.pos++; // the opening bracket
    this.skipWhitespace();
  }

  private parseArray(depth: number): JsonValue[] {
    this.enter(depth);
    const out: JsonValue[] = [];
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.path.push(out.length);
      this.skipWhitespace();
      out.push(this.parseValue(depth));
      this.path.pop();
      this.skipWhitespace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === "]") return out;
      if (c !== ",") {
        this.pos--;
        this.fail("syntax", `expected , or ] but found ${this.describe()}`);
      }
    }
  }

  private parseObject(depth: number): JsonObject {
    this.enter(depth);
    const out: JsonObject = {};
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"')
        this.fail("syntax", `expected a key in double quotes but found ${this.describe()}`);
      const key = this.parseString();
      this.path.push(key);
      if (Object.hasOwn(out, key)) this.fail("duplicate-key", "a duplicate key");
      this.skipWhitespace();
      if (this.text[this.pos] !== ":")
        this.fail("syntax", `expected : after the key but found ${this.describe()}`);
      this.pos++;
      this.skipWhitespace();
      const value = this.parseValue(depth);
      // Assigning "__proto__" would set the prototype; defining it makes an ordinary own property.
      if (key === "__proto__")
        Object.defineProperty(out, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else out[key] = value;
      this.path.pop();
      this.skipWhitespace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === "}") return out;
      if (c !== ",") {
        this.pos--;
        this.fail("syntax", `expected , or } but found ${this.describe()}`);
      }
    }
  }
}

/**
 * Parses JSON text strictly (see the file comment).
 * @throws JsonError naming what is wrong, where; never anything else.
 */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): JsonValue {
  try {
    return new Parser(text, options).parseDocument();
  } catch (err) {
    if (err instanceof JsonError) throw err;
    // Not expected (a RangeError from an exhausted stack, say); still a refusal, never a crash.
    throw new JsonError("syntax", `the JSON could not be parsed: ${String(err)}`, "");
  }
}

// Fatal: bytes that are not UTF-8 are refused, not read with U+FFFD where they were.
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses UTF-8 JSON bytes strictly.
 * @throws JsonError, of kind "encoding" when the bytes are not UTF-8.
 */
export function parseStrictJsonBytes(
  bytes: Uint8Array,
  options: StrictJsonOptions = {},
): JsonValue {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new JsonError("encoding", "the bytes are not valid UTF-8", "");
  }
  return parseStrictJson(text, options);
}

/** True for a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
