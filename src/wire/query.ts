/**
 * Query strings: their schema ({@link Query}) and their integers ({@link QueryInteger}). A query's
 * values arrive as text; Elysia's coercing `t.Integer` reads them with `Number()`, so that `1e2`,
 * `0x10`, `1.0` or ` 7` would pass for integers. A {@link QueryInteger} accepts decimal digits only.
 */
import type { TProperties } from "@sinclair/typebox";
import { Kind, type SchemaOptions, type TUnsafe, Type, TypeRegistry } from "@sinclair/typebox";
import { t } from "elysia";

/**
 * The schema of a query string: parameters it does not name are ignored (a cache-buster `_=…`,
 * tracing, a parameter of a newer client), not refused.
 */
export const Query = <P extends TProperties>(props: P) => t.Object(props, { additionalProperties: true });

/** The TypeBox kind of {@link QueryInteger} schemas (registered below with its check). */
const QUERY_INTEGER_KIND = "QueryInteger";

/** The reason given for a query integer that is not written in decimal digits. */
export const QUERY_INTEGER_REASON = "must be an integer";

const DECIMAL = /^-?[0-9]+$/;

TypeRegistry.Set(QUERY_INTEGER_KIND, (_schema, value) => typeof value === "string" && DECIMAL.test(value));

/** The range of a {@link QueryInteger}: documented in the OpenAPI document, and what {@link queryIntegerIn} checks. */
export interface QueryIntegerBounds {
  minimum: number;
  maximum: number;
}

/**
 * An integer query parameter: documented as `integer` with its bounds, accepted only as decimal
 * digits with an optional minus sign. Its value reaches the handler as written (a string):
 * {@link queryIntegerIn} reads it and checks it against these bounds, so that its 422 names them.
 */
export const QueryInteger = (opts: SchemaOptions & QueryIntegerBounds) =>
  Type.Unsafe<string>({ ...opts, [Kind]: QUERY_INTEGER_KIND, type: "integer" }) as TUnsafe<string> & QueryIntegerBounds;

/** True for a {@link QueryInteger} schema. */
export const isQueryInteger = (schema: unknown): boolean => (schema as { [Kind]?: string } | null | undefined)?.[Kind] === QUERY_INTEGER_KIND;

/**
 * The number a {@link QueryInteger} parameter holds (`fallback` when absent; a number passes as it
 * is) when it is a safe integer within the bounds of its `schema`; otherwise the reason to refuse it
 * with (422 naming the parameter), which says those bounds.
 */
export function queryIntegerIn(schema: QueryIntegerBounds, value: string | number | undefined, fallback: number): { value: number } | { reason: string } {
  const n = value === undefined ? fallback : Number(value);
  return Number.isSafeInteger(n) && n >= schema.minimum && n <= schema.maximum ? { value: n } : { reason: integerRangeReason(schema) };
}

/**
 * The reason for an integer out of its bounds, query parameter or body field alike
 * (`must be an integer from 1 to 9007199254740991`).
 */
export function integerRangeReason(bounds: { minimum?: number; maximum?: number }): string {
  const { minimum, maximum } = bounds;
  if (minimum !== undefined && maximum !== undefined) return `must be an integer from ${minimum} to ${maximum}`;
  if (minimum !== undefined) return `must be an integer of at least ${minimum}`;
  if (maximum !== undefined) return `must be an integer of at most ${maximum}`;
  return QUERY_INTEGER_REASON;
}

/**
 * A query string's parameters (`search`: `?a=1&b=2`, or without the `?`) as the server reads them
 * (Elysia's parser): `+` as a space, then percent-decoded as UTF-8, a key or value whose escapes do not
 * decode (`%E9`, no UTF-8; `%zz`) kept as written. The URL standard's parser reads `%E9` as U+FFFD:
 * a list's page links rebuilt with it named another filter than the one the page was read with.
 */
export function queryPairs(search: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of search.replace(/^\?/, "").split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    out.push(eq < 0 ? [readQueryText(part), ""] : [readQueryText(part.slice(0, eq)), readQueryText(part.slice(eq + 1))]);
  }
  return out;
}

/** A key or value of a query string as the server reads it: {@link queryPairs}. */
function readQueryText(s: string): string {
  const spaced = s.replace(/\+/g, " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** The reason given for a query parameter whose percent-escapes do not decode as UTF-8. */
export const NOT_UTF8_REASON = "must be UTF-8 once percent-decoded (an escape such as %FF, or a cut sequence such as %C3 alone, is not)";

/**
 * The first of `declared` whose value in the query string `url` holds percent-escapes that are not
 * UTF-8 (`?search=%FF`, `?cursor=%C3`), or null. Such a value was read as written (the `%FF` itself:
 * a search for those three characters), where the client meant bytes that are no text; it is refused
 * instead (422 naming it), as a body that is not UTF-8 is. A `%` that starts no escape (`100%`,
 * `%zz`) is a character, as the URL standard reads it. Undeclared parameters are ignored, as everywhere.
 */
export function undecodableParameter(url: string, declared: ReadonlySet<string>): string | null {
  const q = url.indexOf("?");
  if (q < 0 || declared.size === 0 || !url.includes("%", q)) return null;
  for (const part of url.slice(q + 1).split("&")) {
    const eq = part.indexOf("=");
    if (eq < 0 || !part.includes("%", eq)) continue;
    const key = readQueryText(part.slice(0, eq));
    if (declared.has(key) && !escapesAreUtf8(part.slice(eq + 1))) return key;
  }
  return null;
}

/** True when the percent-escapes of `text` decode as UTF-8 (a `%` that starts none stands for itself). */
function escapesAreUtf8(text: string): boolean {
  try {
    decodeURIComponent(text.replace(/%(?![0-9a-fA-F]{2})/g, "%25"));
    return true;
  } catch {
    return false;
  }
}

/** The reason given for a query parameter a route declares that the request repeats (`?status=todo&status=done`). */
export const REPEATED_REASON = "must be given once (where a filter takes several values, they go in one parameter, comma-separated, e.g. status=todo,done)";

/**
 * The first of `declared` that the query string `url` holds more than once, or null. A parsed
 * query keeps one value of a repeated key (the last); a client that sends a list as repeated keys
 * would get a silently narrower answer, so such a request is refused instead. Undeclared
 * parameters are ignored, repeated or not, as everywhere.
 */
export function repeatedParameter(url: string, declared: ReadonlySet<string>): string | null {
  const q = url.indexOf("?");
  if (q < 0 || declared.size === 0 || !url.includes("&", q)) return null;
  const seen = new Set<string>();
  for (const key of new URLSearchParams(url.slice(q + 1)).keys()) {
    if (!declared.has(key)) continue;
    if (seen.has(key)) return key;
    seen.add(key);
  }
  return null;
}

/**
 * Said with a date-time query parameter's 422: a `+` in a query string is a space, so a zone offset
 * sent unencoded (`?due_after=2030-01-01T01:00:00+01:00`) arrives as `…01:00:00 01:00` (found by QA).
 */
export const PLUS_HINT = "; a + in a zone offset must be sent as %2B";

