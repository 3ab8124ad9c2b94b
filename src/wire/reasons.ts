/**
 * Why a value fails its schema, in the client's terms (`must be one of "todo", "done"`, `must be a
 * UUID or null`, `must not contain the NUL character (U+0000)`) rather than TypeBox's messages: for
 * request validation (src/http/errors.ts) and for pushed data (src/records/validate.ts) alike.
 */
import { integerRangeReason, isQueryInteger, QUERY_INTEGER_REASON } from "./query";
import { hasNul, isText, NUL_REASON, type TextOptions, textProblem } from "./text";

/** The parts of a JSON schema a reason is built from. */
export type SchemaLike = {
  anyOf?: SchemaLike[];
  enum?: unknown[];
  const?: unknown;
  type?: string;
  format?: string;
  description?: string;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  [REASON]?: string;
};

/**
 * The annotation that gives a schema's reason in words (an OpenAPI extension, documented as such):
 * for a string checked by a regular expression, which a client should never be shown.
 */
export const REASON = "x-reason";

/** What one member of a union accepts: `"todo"`, `null`, `a UUID`, `an integer`, `a boolean`. */
function kindOf(s: SchemaLike): string {
  if ("const" in s) return JSON.stringify(s.const);
  if (s.type === "null") return "null";
  if (s.format === "uuid" || s.description === "UUID") return "a UUID";
  const kind = s.format ?? s.type ?? "value";
  return /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}

/**
 * The reason for a value that matches no member of a union or enum, in the client's terms (`must be one of
 * "todo", "done"`, `must be a UUID or null`, `must be an integer`) rather than TypeBox's
 * `should be one of: 'string', 'string'`; undefined for other schemas.
 */
function unionReason(schema: SchemaLike | undefined, value: unknown): string | undefined {
  if (Array.isArray(schema?.enum) && schema.enum.length > 0) return `must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  const members = schema?.anyOf;
  if (!Array.isArray(members) || members.length === 0) return undefined;
  // A string where a described string is expected (`due_date: "tomorrow"`): what that string must look like.
  const described = typeof value === "string" ? members.find((m) => m.type === "string" && m.description !== undefined && kindOf(m) === "a string") : undefined;
  if (described) return `must be in the form: ${described.description}${members.some((m) => m.type === "null") ? " (or null)" : ""}`;
  const kinds = [...new Set(members.map(kindOf))];
  return members.every((m) => "const" in m) ? `must be one of ${kinds.join(", ")}` : `must be ${kinds.join(" or ")}`;
}

/** The reason for a field a body or a change must carry and does not. */
export const REQUIRED_REASON = "is required";

/** The reason for a key a body or a pushed record may not carry: no such field, or one the server sets (`id`, `version`, `created_by`…). */
export const UNKNOWN_FIELD_REASON = "unknown or read-only field";

/** Whether `value` is of the JSON Schema `type` (undefined for a type not named here). */
function ofJsonType(type: string, value: unknown): boolean | undefined {
  switch (type) {
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "boolean":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number";
    case "integer":
      return Number.isInteger(value);
    default:
      return undefined;
  }
}

/** The reason for `value` failing `schema`, or undefined when TypeBox's own message says it as well. */
export function reasonFor(schema: SchemaLike | undefined, value: unknown): string | undefined {
  if (value === undefined) return REQUIRED_REASON;
  if (hasNul(value)) return NUL_REASON;
  if (typeof schema?.[REASON] === "string") return schema[REASON];
  // A value of another JSON type (`"tags": "a"`): said as the other reasons are, not TypeBox's `Expected array`
  // (an enumerated one names its values, below).
  if (schema?.type !== undefined && schema.enum === undefined && ofJsonType(schema.type, value) === false) return `must be ${kindOf(schema)}`;
  if (schema?.type === "string" && kindOf(schema) === "a UUID") return "must be a UUID";
  if (isText(schema)) return textProblem(schema, value) ?? undefined;
  if (isQueryInteger(schema)) return QUERY_INTEGER_REASON;
  if (schema?.type === "integer") return integerRangeReason(schema);
  if (Array.isArray(value) && schema?.maxItems !== undefined && value.length > schema.maxItems) return `must have at most ${schema.maxItems} items`;
  // A string where text or null is expected: what is wrong with the text.
  const text = typeof value === "string" ? schema?.anyOf?.find(isText) : undefined;
  const problem = text ? textProblem(text as TextOptions, value) : null;
  return problem ?? unionReason(schema, value);
}
