/**
 * Text on the wire: every free-text field and filter is declared with {@link Text}, a string whose
 * length is counted in characters (Unicode code points, as JSON Schema counts them: an emoji is one,
 * not two UTF-16 units as `t.String`'s `maxLength` would count it) and which holds no NUL character
 * (U+0000). JSON can carry a NUL (`\u0000`) and SQLite would store it, but a Postgres `text` cannot:
 * both dialects refuse it alike, before any storage — 422 naming the field for a request, `rejected`
 * for a pushed change (the rest of its batch still applied). Required human text (a project's name, a
 * task's title, a comment's body, a device's name) is also refused when it is only whitespace. Records'
 * text is never trimmed, so what a client sent is stored exactly or not at all (a device's name is
 * trimmed by the devices service, as it always was).
 */
import { Kind, type SchemaOptions, Type, TypeRegistry } from "@sinclair/typebox";

/** Most characters in the name of an organization, a user or a device. */
export const MAX_NAME = 200;

/**
 * The name of an organization, a user or a device as stored and answered: trimmed, an unpaired
 * surrogate (which a JSON escape can carry) as U+FFFD, what UTF-8 storage makes of it anyway, so
 * the answer to a create is what a later read gives.
 */
export const storedName = (name: string): string => name.trim().toWellFormed();

/** The reason given for a value holding a NUL character. */
export const NUL_REASON = "must not contain the NUL character (U+0000)";

/** True when `value` is a string holding a NUL character. */
export const hasNul = (value: unknown): boolean => typeof value === "string" && value.includes("\u0000");

/** The reason given for required text made only of whitespace. */
export const BLANK_REASON = "must not be blank (only whitespace)";

/**
 * The `pattern` of a {@link Text} made with `nonBlank`: a character other than whitespace (JSON
 * Schema's way to document it; `\s` is the whitespace `String.prototype.trim` removes).
 */
const NON_BLANK_PATTERN = "\\S";

/** The options of a {@link Text}: lengths in characters; `nonBlank` refuses text made only of whitespace. */
export interface TextOptions extends SchemaOptions {
  minLength?: number;
  maxLength?: number;
  nonBlank?: boolean;
}

/** The TypeBox kind of {@link Text} schemas (registered below with its check). */
const TEXT_KIND = "Text";

/** Characters (code points) in `s`: its UTF-16 length less one per surrogate pair. */
export function characters(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** Why `value` is not valid text for `schema` (the options of a {@link Text}, or the schema it made), or null when it is. */
export function textProblem(schema: TextOptions, value: unknown): string | null {
  if (typeof value !== "string") return "must be a string";
  if (hasNul(value)) return NUL_REASON;
  const { minLength, maxLength } = schema;
  // A string's characters never outnumber its UTF-16 units: count them only when the units say nothing.
  const chars = (minLength !== undefined && value.length >= minLength && value.length < 2 * minLength) || (maxLength !== undefined && value.length > maxLength) ? characters(value) : value.length;
  if (minLength !== undefined && chars < minLength) return minLength === 1 ? "must not be empty" : `must be at least ${minLength} characters`;
  if (maxLength !== undefined && chars > maxLength) return `must be at most ${maxLength} characters`;
  if ((schema.nonBlank === true || schema.pattern === NON_BLANK_PATTERN) && value.trim() === "") return BLANK_REASON;
  return null;
}

TypeRegistry.Set<TextOptions>(TEXT_KIND, (schema, value) => textProblem(schema, value) === null);

/** A text field: `{type: "string", minLength?, maxLength?, pattern?}` in documents, checked by {@link textProblem}. */
export const Text = ({ nonBlank, ...opts }: TextOptions = {}) =>
  Type.Unsafe<string>({ ...opts, ...(nonBlank ? { pattern: NON_BLANK_PATTERN } : {}), [Kind]: TEXT_KIND, type: "string" });

/** True for a {@link Text} schema. */
export const isText = (schema: unknown): schema is TextOptions => (schema as { [Kind]?: string } | null | undefined)?.[Kind] === TEXT_KIND;

/** Characters of a client's key (an unknown field's name) an answer repeats at most; a longer one is cut and ends with "…". */
const MAX_NAMED_KEY = 64;

/**
 * A client's key as an error answer names it: at most {@link MAX_NAMED_KEY} characters, never half
 * a surrogate pair, and well-formed (an unpaired surrogate, which a JSON escape can carry, as U+FFFD),
 * so that a strict client can read the answer.
 */
export function keyAsNamed(key: string): string {
  if (key.length <= MAX_NAMED_KEY) return key.toWellFormed();
  const cut = key.slice(0, MAX_NAMED_KEY);
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`.toWellFormed();
}
