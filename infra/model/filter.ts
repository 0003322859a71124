/**
 * Google Cloud Pub/Sub subscription filters. The Pub/Sub emulator ignores filters, so the local runtime evaluates
 * them here; the system declaration validates them at load time. The language is the one in "Syntax to create a
 * filter" at https://cloud.google.com/pubsub/docs/subscription-message-filter:
 *
 *   filter     := [expression]                     (empty means "match everything")
 *   expression := term { ("AND" | "OR") term }     (one operator per level: mixing needs parentheses)
 *   term       := ["NOT" | "-"] ( "(" expression ")" | condition )
 *   condition  := "attributes" ":" key  |  "attributes." key ("=" | "!=") string
 *               | "hasPrefix" "(" "attributes." key "," string ")"
 *   key        := [A-Za-z0-9_-]+ | string          string := '"' { char | escape } '"'
 *
 * Where the docs are silent this follows AIP-160 (https://google.aip.dev/160), Google's shared filter grammar:
 * whitespace may separate tokens except inside `attributes.KEY`, and a term takes at most one negation.
 */

/** The documented limit: "The maximum length of a filter is 256 bytes." Counted in UTF-8 bytes. */
export const MAX_FILTER_BYTES = 256;

/** A parsed filter. Keys, values and prefixes are already unescaped. */
export type FilterAst =
  | { readonly kind: "matchAll" }
  | { readonly kind: "hasKey"; readonly key: string }
  | { readonly kind: "equals"; readonly key: string; readonly value: string }
  | { readonly kind: "notEquals"; readonly key: string; readonly value: string }
  | { readonly kind: "hasPrefix"; readonly key: string; readonly prefix: string }
  | { readonly kind: "not"; readonly operand: FilterAst }
  | { readonly kind: "and"; readonly operands: readonly FilterAst[] }
  | { readonly kind: "or"; readonly operands: readonly FilterAst[] };

/** Thrown by {@link parseFilter} for any filter the Pub/Sub service would reject. */
export class FilterSyntaxError extends Error {
  override readonly name = "FilterSyntaxError";

  /**
   * @param filter the filter that failed to parse.
   * @param position 0-based character (UTF-16 code unit) offset of the problem in `filter`.
   */
  constructor(
    message: string,
    readonly filter: string,
    readonly position: number,
  ) {
    super(message);
  }
}

const SPACE = /[ \t\r\n]/;
const BARE_KEY_CHAR = /[A-Za-z0-9_-]/;
// What may follow a bare key; anything else means the key needed quoting.
const AFTER_BARE_KEY = /[ \t\r\n=!),]/;
// CEL's one-character escapes; CEL's string syntax is the one Google's expression languages share.
const SIMPLE_ESCAPES = new Map(
  Object.entries({
    a: "\x07",
    b: "\b",
    f: "\f",
    n: "\n",
    r: "\r",
    t: "\t",
    v: "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "?": "?",
    "`": "`",
  }),
);

class Parser {
  private pos = 0;

  constructor(private readonly src: string) {}

  parse(): FilterAst {
    if (this.skipSpace() === this.src.length) return { kind: "matchAll" };
    const ast = this.expression();
    if (this.skipSpace() < this.src.length) {
      this.fail(
        `${this.peek() === ")" ? 'unbalanced ")"; ' : ""}expected "AND", "OR" or end of filter`,
      );
    }
    return ast;
  }

  private expression(): FilterAst {
    const operands = [this.term("a condition")];
    let op: "AND" | "OR" | undefined;
    for (let word = this.word(); word === "AND" || word === "OR"; word = this.word()) {
      // The docs: "To combine the AND and OR operators, use parentheses and complete expressions."
      if (op !== undefined && word !== op)
        this.fail(`cannot mix AND and OR without parentheses; expected "${op}"`);
      op = word;
      this.pos += word.length;
      operands.push(this.term(`a condition after "${word}"`));
    }
    if (op === undefined) return operands[0] as FilterAst;
    return { kind: op === "AND" ? "and" : "or", operands };
  }

  private term(expected: string): FilterAst {
    // "The NOT operator has the highest precedence", so it binds to the next term only.
    const negation = this.eat("-")
      ? "-"
      : this.word() === "NOT" && this.eat("NOT")
        ? "NOT"
        : undefined;
    const open = this.skipSpace();
    let operand: FilterAst;
    if (this.eat("(")) {
      operand = this.expression();
      this.expect(")", `for the "(" at position ${open}, or "AND"/"OR"`);
    } else {
      operand = this.condition(
        negation === undefined ? expected : `a condition after "${negation}"`,
      );
    }
    return negation === undefined ? operand : { kind: "not", operand };
  }

  private condition(expected: string): FilterAst {
    const start = this.pos;
    const word = this.word();
    this.pos += word.length;
    if (word === "attributes" && this.peek() !== ".") {
      // AIP-160 makes `attributes.KEY` one member token, but `:` is a comparator like `=`.
      this.expect(":", 'after "attributes" (or "." with no space before it)');
      this.skipSpace();
      return { kind: "hasKey", key: this.key() };
    }
    if (word === "attributes") {
      this.pos++;
      const key = this.key();
      const op = this.eat("!=") ? "!=" : this.eat("=") ? "=" : undefined;
      if (op === undefined)
        this.fail('expected "=" or "!=" after the key (attributes:KEY tests presence)');
      const value = this.string(`a string literal after "${op}"`);
      return op === "=" ? { kind: "equals", key, value } : { kind: "notEquals", key, value };
    }
    if (word === "hasPrefix") {
      this.expect("(", 'after "hasPrefix"');
      if (!this.eat("attributes.")) this.fail("expected attributes.KEY in hasPrefix");
      const key = this.key();
      this.expect(",", "after the key in hasPrefix");
      const prefix = this.string("a string literal as the prefix in hasPrefix");
      this.expect(")", "to close hasPrefix");
      return { kind: "hasPrefix", key, prefix };
    }
    const isCall = word !== "" && this.eat("(");
    this.pos = start;
    if (isCall)
      this.fail(
        `unknown function "${word}"; hasPrefix is the only supported function`,
        this.skipSpace(),
      );
    // The docs: "An expression with an equality operator must begin with a key", so `"com" = ...` lands here.
    const forms =
      'attributes:KEY, attributes.KEY = "V", attributes.KEY != "V" or hasPrefix(attributes.KEY, "P")';
    this.fail(`expected ${expected} (${forms})`, this.skipSpace());
  }

  private key(): string {
    if (this.peek() === '"') return this.string("an attribute key");
    const start = this.pos;
    while (BARE_KEY_CHAR.test(this.peek())) this.pos++;
    if (this.pos === start)
      this.fail("expected an attribute key (letters, digits, - and _, or a string literal)");
    // The docs: "If a key contains characters other than hyphens, underscores, or alphanumeric characters, use
    // a string literal."
    if (this.pos < this.src.length && !AFTER_BARE_KEY.test(this.peek())) {
      this.fail(
        "unexpected character in attribute key; keys with other characters must be string literals",
      );
    }
    return this.src.slice(start, this.pos);
  }

  private string(expected: string): string {
    const open = this.skipSpace();
    if (!this.eat('"'))
      this.fail(`expected ${expected}${this.peek() === "'" ? " (strings use double quotes)" : ""}`);
    let out = "";
    while (this.peek() !== '"') out += this.char(open);
    this.pos++;
    return out;
  }

  // The docs allow "Unicode, hexadecimal, and octal escape sequences" without spelling them out; these are
  // CEL's: \xHH, \uHHHH, \UHHHHHHHH and \OOO (first digit 0-3), each denoting a code point.
  private char(open: number): string {
    const at = this.pos;
    const c = this.peek();
    if (c === "") this.fail("unterminated string literal", open);
    // The docs: non-printing characters are written as escapes "within a string literal".
    if (c < " " || c === "\x7f") this.fail("unescaped control character in string literal");
    const simple = c === "\\" ? SIMPLE_ESCAPES.get(this.src[at + 1] ?? "") : c;
    if (simple !== undefined) {
      this.pos = at + (c === "\\" ? 2 : 1);
      return simple;
    }
    const e = this.src[at + 1] ?? "";
    const codePoint = (skip: number, count: number, digits: RegExp, radix: number): string => {
      const text = this.src.slice(at + skip, at + skip + count);
      const escape = this.src.slice(at, at + skip + count);
      if (!digits.test(text) || text.length !== count)
        this.fail(`invalid escape sequence "${escape}"`, at);
      const code = parseInt(text, radix);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        this.fail("escape is not a Unicode scalar value", at);
      this.pos = at + skip + count;
      return String.fromCodePoint(code);
    };
    if (e === "x" || e === "X") return codePoint(2, 2, /^[0-9A-Fa-f]+$/, 16);
    if (e === "u" || e === "U") return codePoint(2, e === "u" ? 4 : 8, /^[0-9A-Fa-f]+$/, 16);
    if (/[0-3]/.test(e)) return codePoint(1, 3, /^[0-7]+$/, 8);
    return this.fail(`invalid escape sequence "\\${e}"`, at);
  }

  // Returns the position so callers can remember where a token starts.
  private skipSpace(): number {
    while (SPACE.test(this.peek())) this.pos++;
    return this.pos;
  }

  private peek(): string {
    return this.src[this.pos] ?? "";
  }

  // Whole words only, so that `NOTE` is not `NOT` and `ANDROID` is not `AND`.
  private word(): string {
    return /^[A-Za-z0-9_]*/.exec(this.src.slice(this.skipSpace()))?.[0] ?? "";
  }

  private eat(text: string): boolean {
    if (!this.src.startsWith(text, this.skipSpace())) return false;
    this.pos += text.length;
    return true;
  }

  private expect(text: string, where: string): void {
    if (!this.eat(text)) this.fail(`expected "${text}" ${where}`);
  }

  private fail(expected: string, at = this.pos): never {
    const word = /^[A-Za-z0-9_]+/.exec(this.src.slice(at))?.[0];
    const upper = word?.toUpperCase() ?? "";
    // A lowercase operator is the likely slip: "The operators must be in uppercase letters."
    const hint =
      upper !== word && ["AND", "OR", "NOT"].includes(upper)
        ? ` (operators are uppercase: ${upper})`
        : "";
    const found =
      at >= this.src.length ? "end of filter" : JSON.stringify(word ?? this.src[at]) + hint;
    throw new FilterSyntaxError(`${expected} at ${at}, found ${found}`, this.src, at);
  }
}

/**
 * Parses a Pub/Sub subscription filter. An empty or whitespace-only filter parses to `{ kind: "matchAll" }`.
 * @throws FilterSyntaxError for anything the Pub/Sub service rejects, including filters over
 *   {@link MAX_FILTER_BYTES} UTF-8 bytes (positioned at the first character past the limit).
 */
export function parseFilter(filter: string): FilterAst {
  const bytes = Buffer.byteLength(filter, "utf8");
  if (bytes > MAX_FILTER_BYTES) {
    let [at, used] = [0, 0];
    for (const ch of filter) {
      if ((used += Buffer.byteLength(ch, "utf8")) > MAX_FILTER_BYTES) break;
      at += ch.length;
    }
    const message = `filter is ${bytes} bytes, over the ${MAX_FILTER_BYTES}-byte limit (UTF-8) at ${at}`;
    throw new FilterSyntaxError(message, filter, at);
  }
  return new Parser(filter).parse();
}

/** Evaluates a parsed filter against a message's attributes, as the Pub/Sub service does. */
export function matchesFilter(
  ast: FilterAst,
  attributes: Readonly<Record<string, string>>,
): boolean {
  // Own properties only, so that a key such as "constructor" does not find Object.prototype.
  const value = (key: string): string | undefined =>
    Object.hasOwn(attributes, key) ? attributes[key] : undefined;
  switch (ast.kind) {
    case "matchAll":
      return true;
    case "hasKey":
      return Object.hasOwn(attributes, ast.key);
    case "equals":
      return value(ast.key) === ast.value;
    // The docs' table: `attributes.name != "com"` selects "Messages without the name attribute and the value of
    // com", i.e. the negation of `=`, so a message without the key matches. Google's own fake,
    // cloud.google.com/go/pubsub/pstest, implements `!=` the same way.
    case "notEquals":
      return value(ast.key) !== ast.value;
    case "hasPrefix":
      return value(ast.key)?.startsWith(ast.prefix) ?? false;
    case "not":
      return !matchesFilter(ast.operand, attributes);
    case "and":
      return ast.operands.every((operand) => matchesFilter(operand, attributes));
    case "or":
      return ast.operands.some((operand) => matchesFilter(operand, attributes));
  }
}

/**
 * Parses `filter` once and returns a predicate over message attributes. "" or whitespace-only matches every
 * message, as the API documents for Subscription.filter: "If empty, then no messages are filtered out."
 * @throws FilterSyntaxError when the filter is invalid.
 */
export function compileFilter(
  filter: string,
): (attributes: Readonly<Record<string, string>>) => boolean {
  const ast = parseFilter(filter);
  return (attributes) => matchesFilter(ast, attributes);
}

/** Writes `text` as a string literal that decodes back to exactly `text`. */
function quote(text: string): string {
  // Matching control characters is the point: the docs require them escaped in literals.
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/[\\"\x00-\x1f\x7f-\x9f]/g, (c) =>
    c === "\\" || c === '"' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return `"${escaped}"`;
}

/**
 * Builds the filter matching exactly the given event types, e.g.
 * `attributes.ce-type = "a" OR attributes.ce-type = "b"` (duplicates dropped, order kept).
 * @param attribute the attribute holding the type; defaults to "ce-type", the CloudEvents Pub/Sub binding's.
 * @throws RangeError when `types` is empty, since no Pub/Sub filter can match nothing.
 * @throws FilterSyntaxError when the result exceeds {@link MAX_FILTER_BYTES}.
 */
export function filterForTypes(types: readonly string[], attribute = "ce-type"): string {
  if (types.length === 0) throw new RangeError("filterForTypes needs at least one type");
  const key = /^[A-Za-z0-9_-]+$/.test(attribute) ? attribute : quote(attribute);
  const filter = [...new Set(types)]
    .map((type) => `attributes.${key} = ${quote(type)}`)
    .join(" OR ");
  parseFilter(filter); // Fail at load time rather than when the subscription is created.
  return filter;
}
