/**
 * A value's schema errors, as TypeBox's `Errors` gives them (same order, paths and messages), with
 * the work bounded by the schema rather than by the value: an array longer than its `maxItems` is that
 * one error, its elements not visited. A 5 MB body holds a million array elements; checking (and
 * naming, and counting) each of them took seconds of the one event loop. Pure: no I/O.
 */
import { Kind, type TSchema } from "@sinclair/typebox";
import { GetErrorFunction, type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { TypeSystemPolicy } from "@sinclair/typebox/system";
import { Value } from "@sinclair/typebox/value";
import { isCheckedLater } from "../wire/checked-later";

/**
 * Most failing fields a 422 or a rejected change counts in `details.more_fields`: past it counting
 * stops (and so does checking), and `more_fields` is this number, meaning "at least". Well above the
 * 4,980 a change of 5,000 unknown keys is answered (test/sync/push.test.ts), so that the counts of
 * such mistakes stay exact; counting this many costs a few milliseconds.
 */
export const MAX_MORE_FIELDS = 10_000;

type Schema = TSchema & { maxItems?: number; items?: unknown; properties?: Record<string, TSchema>; required?: string[]; additionalProperties?: unknown };

/** A TypeBox error as its own `Errors` makes it. */
function create(type: ValueErrorType, schema: TSchema, path: string, value: unknown): ValueError {
  return { type, schema, path, value, message: GetErrorFunction()({ errorType: type, path, schema, value, errors: [] }), errors: [] };
}

/** A key as a JSON Pointer token (`~` → `~0`, `/` → `~1`), as TypeBox writes it in a path. */
const escapeKey = (key: string): string => key.replace(/~/g, "~0").replace(/\//g, "~1");

/** True for an array of `schema`'s that has more elements than it may: one error, no element checked. */
export const isTooLong = (schema: TSchema, value: unknown): boolean => {
  const max = (schema as Schema).maxItems;
  return schema[Kind] === "Array" && Array.isArray(value) && typeof max === "number" && value.length > max;
};

/**
 * The errors of `value` against `schema` (with its `references`), each path prefixed with `path`: TypeBox's,
 * but an array longer than its `maxItems` (at any depth reached through objects) yields only its
 * `ArrayMaxItems` error, and an array of `CheckedLater` values (src/wire/checked-later.ts) none, its
 * elements unvisited. Objects are walked here as TypeBox walks them (missing required keys, then keys
 * not allowed, then each property); any other kind is TypeBox's own.
 */
export function* boundedErrors(schema: TSchema, references: TSchema[], value: unknown, path = ""): Generator<ValueError> {
  if (isTooLong(schema, value)) {
    yield create(ValueErrorType.ArrayMaxItems, schema, path, value);
    return;
  }
  const s = schema as Schema;
  // An array of values checked later (a push's changes, up to a million of them in 5 MB): no element can fail.
  if (s[Kind] === "Array" && Array.isArray(value) && isCheckedLater(s.items as TSchema) && s.minItems === undefined && s.uniqueItems === undefined && s.contains === undefined) return;
  // Bounds on the number of keys are TypeBox's to say (none of this API's schemas has them).
  if (s[Kind] !== "Object" || !TypeSystemPolicy.IsObjectLike(value) || s.minProperties !== undefined || s.maxProperties !== undefined) {
    for (const e of Value.Errors(schema, references, value)) yield path === "" ? e : { ...e, path: `${path}${e.path}` };
    return;
  }
  const obj = value as Record<string, unknown>;
  const properties = s.properties ?? {};
  const required = Array.isArray(s.required) ? s.required : [];
  const knownKeys = Object.getOwnPropertyNames(properties);
  const valueKeys = Object.getOwnPropertyNames(obj);
  const has = (key: string) => Object.prototype.hasOwnProperty.call(obj, key);
  for (const key of required) {
    if (!has(key)) yield create(ValueErrorType.ObjectRequiredProperty, properties[key], `${path}/${escapeKey(key)}`, undefined);
  }
  const known = new Set(knownKeys);
  if (s.additionalProperties === false) {
    for (const key of valueKeys) {
      if (!known.has(key)) yield create(ValueErrorType.ObjectAdditionalProperties, schema, `${path}/${escapeKey(key)}`, obj[key]);
    }
  }
  if (typeof s.additionalProperties === "object" && s.additionalProperties !== null) {
    for (const key of valueKeys) {
      if (!known.has(key)) yield* boundedErrors(s.additionalProperties as TSchema, references, obj[key], `${path}/${escapeKey(key)}`);
    }
  }
  for (const key of knownKeys) {
    if (required.includes(key) || TypeSystemPolicy.IsExactOptionalProperty(obj, key)) {
      yield* boundedErrors(properties[key], references, obj[key], `${path}/${escapeKey(key)}`);
    }
  }
}
