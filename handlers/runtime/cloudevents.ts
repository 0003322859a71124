/**
 * Our own CloudEvents 1.0 validator, attribute by attribute (the spec's "Context Attributes",
 * its type system, and the JSON format's type mapping). The codec checks every event it encodes
 * or decodes with it, and the gateway every event it takes in structured mode. It never throws:
 * each check returns the problem, and the caller raises its own refusal (DecodeError,
 * EncodeError, an HTTP 400) with the reason code.
 *
 * Decisions the spec leaves open, taken here:
 * - `schemaurl` and `datacontentencoding` are CloudEvents 0.3 names (1.0 renamed the first to
 *   `dataschema` and dropped the second). An event that carries one is refused as malformed,
 *   saying so, rather than taken as an extension that happens to share the name.
 * - Extension names must be 1-20 lowercase letters or digits: the spec's naming rule, with its
 *   recommended length made a limit (the declaration's routing attributes follow the same rule).
 * - `time` (and the JSON format's timestamps) must be RFC 3339 `date-time` with seconds in
 *   00-59 and at most 9 fractional digits: what a protobuf Timestamp holds exactly.
 */

/** The only version this system speaks. */
export const SPECVERSION = "1.0";

/** Why a context is refused; each is a DecodeReason and an EncodeReason too. */
export type ContextReason = "missing-attribute" | "malformed-attribute";

export interface ContextProblem {
  reason: ContextReason;
  /** The CloudEvents attribute name at fault (without `ce-`). */
  attribute: string;
  message: string;
}

/** CloudEvents 0.3 attributes 1.0 renamed or dropped, with what 1.0 has instead. */
export const CLOUDEVENTS_03_ATTRIBUTES: Readonly<Record<string, string>> = {
  schemaurl: "1.0 calls it dataschema (a URI)",
  datacontentencoding: "1.0 dropped it; binary data travels as data_base64 or in binary mode",
};

/** Names that are never attributes: the data member and its base64 form in the JSON format. */
const NOT_ATTRIBUTES = new Set(["data", "data_base64"]);

/** The context attributes the spec defines, by their type in its type system. */
const SPEC_ATTRIBUTES = {
  id: "string",
  source: "uri-reference",
  specversion: "string",
  type: "string",
  datacontenttype: "media-type",
  dataschema: "uri",
  subject: "string",
  time: "timestamp",
} as const;

/**
 * Extension attributes this system gives a type (README, "The event contract"); any other
 * extension is a string.
 */
const KNOWN_EXTENSIONS: Readonly<Partial<Record<string, "string" | "traceparent">>> = {
  correlationid: "string",
  causationid: "string",
  traceparent: "traceparent",
};

const attributeName = /^[a-z0-9]{1,20}$/;

/** Why `name` cannot be an attribute name, or undefined. */
export function attributeNameProblem(name: string): string | undefined {
  if (NOT_ATTRIBUTES.has(name)) return `${name} is the event's data, not an attribute`;
  if (!attributeName.test(name))
    return `the extension name ${JSON.stringify(name.slice(0, 40))} is not 1-20 lowercase letters or digits (CloudEvents naming)`;
  return undefined;
}

// Control characters, noncharacters and unpaired surrogates are not CloudEvents String characters.
const notStringCharacter =
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
  /[\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]|[\uD83F\uD87F\uD8BF\uD8FF\uD93F\uD97F\uD9BF\uD9FF\uDA3F\uDA7F\uDABF\uDAFF\uDB3F\uDB7F\uDBBF\uDBFF][\uDFFE\uDFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A CloudEvents String: no control characters, noncharacters or unpaired surrogates. */
export function isCloudEventsString(value: string): boolean {
  return !notStringCharacter.test(value);
}

const rfc3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Why `value` is not an RFC 3339 date-time we take, or undefined. */
export function timestampProblem(value: string): string | undefined {
  const m = rfc3339.exec(value);
  if (m === null)
    return "is not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm), at most 9 fractional digits)";
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1) return "has year 0000, before what a timestamp holds";
  if (month < 1 || month > 12) return `has month ${m[2]}`;
  if (day < 1 || day > daysIn(year, month)) return `has day ${m[3]} in month ${m[2]}`;
  if (hour > 23) return `has hour ${m[4]}`;
  if (minute > 59) return `has minute ${m[5]}`;
  if (second > 59) return `has second ${m[6]} (leap seconds are not taken)`;
  if (m[8] !== undefined) {
    if (Number(m[9]) > 23 || Number(m[10]) > 59)
      return `has the offset ${m[8]}${m[9]}:${m[10]}, outside -23:59..+23:59`;
  }
  return undefined;
}

export function isRfc3339(value: string): boolean {
  return timestampProblem(value) === undefined;
}

// RFC 3986, collected: percent-encodings, and the characters each part may hold.
const pct = "%[0-9A-Fa-f]{2}";
const unreserved = "A-Za-z0-9\\-._~";
const subDelims = "!$&'()*+,;=";
const pchar = `(?:[${unreserved}${subDelims}:@]|${pct})`;
const scheme = /^[A-Za-z][A-Za-z0-9+\-.]*$/;
const userinfo = new RegExp(`^(?:[${unreserved}${subDelims}:]|${pct})*$`);
const regName = new RegExp(`^(?:[${unreserved}${subDelims}]|${pct})*$`);
const ipLiteral = new RegExp(
  `^\\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\\.[${unreserved}${subDelims}:]+)\\]$`,
);
const path = new RegExp(`^(?:${pchar}|/)*$`);
const queryOrFragment = new RegExp(`^(?:${pchar}|[/?])*$`);
// RFC 3986, appendix B: scheme, authority, path, query, fragment.
const uriParts = /^(?:([^:/?#]+):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/;

function authorityValid(authority: string): boolean {
  const at = authority.lastIndexOf("@");
  if (at >= 0 && !userinfo.test(authority.slice(0, at))) return false;
  const hostPort = authority.slice(at + 1);
  const port = /:(\d*)$/.exec(hostPort);
  const host = port === null ? hostPort : hostPort.slice(0, port.index);
  return host.startsWith("[") ? ipLiteral.test(host) : regName.test(host);
}

/** An RFC 3986 URI-reference: a URI, or a relative reference. */
export function isUriReference(value: string): boolean {
  const m = uriParts.exec(value);
  if (m === null) return false;
  const [, schemePart, authority, pathPart, query, fragment] = m;
  if (schemePart !== undefined && !scheme.test(schemePart)) return false;
  if (authority !== undefined && !authorityValid(authority)) return false;
  // Without an authority a path cannot start with "//"; without a scheme its first segment has no ":".
  if (authority === undefined && pathPart!.startsWith("//")) return false;
  if (!path.test(pathPart!)) return false;
  if (query !== undefined && !queryOrFragment.test(query)) return false;
  if (fragment !== undefined && !queryOrFragment.test(fragment)) return false;
  return true;
}

/** An RFC 3986 URI: a URI-reference with a scheme. */
export function isAbsoluteUri(value: string): boolean {
  const colon = value.indexOf(":");
  return colon > 0 && scheme.test(value.slice(0, colon)) && isUriReference(value);
}

// RFC 2045 token: US-ASCII printable characters but tspecials.
const token = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const quoted = '"(?:[^"\\\\\\u0000-\\u001f\\u007f]|\\\\[\\u0020-\\u007e])*"';
const mediaTypePattern = new RegExp(
  `^${token}/${token}(?:[ \\t]*;[ \\t]*${token}=(?:${token}|${quoted}))*$`,
);

/** An RFC 2046 media type, `type/subtype` with optional `; name=value` parameters. */
export function isMediaType(value: string): boolean {
  return mediaTypePattern.test(value);
}

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** A W3C trace-context `traceparent` header of version 00, with non-zero trace and parent ids. */
export function traceparentProblem(value: string): string | undefined {
  const m = traceparentPattern.exec(value);
  if (m === null)
    return "is not a W3C traceparent (00-<32 lowercase hex trace id>-<16 lowercase hex parent id>-<2 hex flags>)";
  if (/^0+$/.test(m[1]!)) return "has an all-zero trace id";
  if (/^0+$/.test(m[2]!)) return "has an all-zero parent id";
  return undefined;
}

/** Why the value of attribute `name` is malformed, or undefined. `value` is non-empty. */
function valueProblem(name: string, value: string): string | undefined {
  if (!isCloudEventsString(value))
    return "holds a control character, a noncharacter or an unpaired surrogate";
  const kind: string = Object.hasOwn(SPEC_ATTRIBUTES, name)
    ? SPEC_ATTRIBUTES[name as keyof typeof SPEC_ATTRIBUTES]
    : Object.hasOwn(KNOWN_EXTENSIONS, name)
      ? KNOWN_EXTENSIONS[name]!
      : "string";
  switch (kind) {
    case "uri-reference":
      return isUriReference(value) ? undefined : "is not an RFC 3986 URI-reference";
    case "uri":
      return isAbsoluteUri(value) ? undefined : "is not an absolute RFC 3986 URI";
    case "media-type":
      return isMediaType(value) ? undefined : "is not an RFC 2046 media type (type/subtype)";
    case "timestamp":
      return timestampProblem(value);
    case "traceparent":
      return traceparentProblem(value);
    default:
      return undefined;
  }
}

/**
 * The first problem with an event's context, or undefined when it is valid CloudEvents 1.0.
 * @param context attribute values by CloudEvents name (`id`, `datacontenttype`, extensions…).
 * @param required the attributes that must be present and non-empty; the spec's four
 *   (id, source, specversion, type) are always required.
 * @param label how to name an attribute in the message (`ce-id`, `id`, …).
 */
export function contextProblem(
  context: Readonly<Record<string, string>>,
  required: readonly string[] = [],
  label: (name: string) => string = (name) => name,
): ContextProblem | undefined {
  for (const name of new Set(["id", "source", "specversion", "type", ...required])) {
    if (!Object.hasOwn(context, name) || context[name] === "")
      return {
        reason: "missing-attribute",
        attribute: name,
        message: `the ${label(name)} attribute is ${Object.hasOwn(context, name) ? "empty" : "missing"}`,
      };
  }
  if (context["specversion"] !== SPECVERSION)
    return {
      reason: "malformed-attribute",
      attribute: "specversion",
      message: `${label("specversion")} ${JSON.stringify(context["specversion"]!.slice(0, 20))} is not supported (only ${SPECVERSION})`,
    };
  for (const name of Object.keys(context).sort()) {
    const value = context[name]!;
    const malformed = (problem: string): ContextProblem => ({
      reason: "malformed-attribute",
      attribute: name,
      message: `${label(name)} ${problem}`,
    });
    if (Object.hasOwn(CLOUDEVENTS_03_ATTRIBUTES, name))
      return malformed(
        `is a CloudEvents 0.3 attribute, not 1.0: ${CLOUDEVENTS_03_ATTRIBUTES[name]}`,
      );
    const nameProblem = attributeNameProblem(name);
    if (nameProblem !== undefined)
      return { reason: "malformed-attribute", attribute: name, message: nameProblem };
    if (value === "") return malformed("is given but empty; leave it out instead");
    const problem = valueProblem(name, value);
    if (problem !== undefined) return malformed(problem);
  }
  return undefined;
}

/** The CloudEvents Integer range: a signed 32-bit integer. */
const INTEGER_RANGE = { min: -2_147_483_648, max: 2_147_483_647 };

/**
 * The string form of an attribute value in the JSON format: strings as they are (String,
 * URI, URI-reference, Timestamp and Binary are all JSON strings), an Integer as its decimal
 * digits, a Boolean as "true" or "false". `null` means absent (undefined).
 * @param numberText how the number was written: the JSON format allows only an integer
 *   component, optionally signed (`3`, not `3.0` or `3e0`).
 * @returns the string, undefined for null, or a problem.
 */
export function attributeValueFromJson(
  value: unknown,
  numberText?: string,
): { value: string } | { problem: string } | undefined {
  if (value === null) return undefined;
  if (typeof value === "string") return { value };
  if (typeof value === "boolean") return { value: value ? "true" : "false" };
  if (typeof value === "number") {
    const written = numberText ?? String(value);
    if (!/^-?(?:0|[1-9]\d*)$/.test(written))
      return {
        problem: `is the number ${written}; a CloudEvents Integer is written as whole digits`,
      };
    if (value < INTEGER_RANGE.min || value > INTEGER_RANGE.max)
      return { problem: `is ${written}, outside the CloudEvents Integer range (32 bits)` };
    return { value: String(value === 0 ? 0 : value) };
  }
  return {
    problem: `is ${Array.isArray(value) ? "an array" : "an object"}; attributes are strings, integers or booleans`,
  };
}
