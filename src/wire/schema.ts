/** Schema helpers shared by every feature's wire models (`t` schemas). */
import { t, type TSchema } from "elysia";
import { UUID_PATTERN } from "../ids";

/** A UUID in canonical form, either letter case (ids are lower-cased before validation, src/ids.ts). */
export const Uuid = t.String({ pattern: UUID_PATTERN, description: "UUID" });

/** An instant as the server writes it: ISO-8601 in UTC (`2026-06-01T10:00:00.000Z`), `format: date-time` in the OpenAPI document. */
export const Timestamp = (description = "ISO-8601 UTC") => t.String({ format: "date-time", description });

/** `T | null`. */
export const Nullable = <T extends TSchema>(s: T) => t.Union([s, t.Null()]);

/**
 * One of `values`: `t.UnionEnum` without the `default` Elysia gives it (its first value), which
 * Elysia fills in when the field is missing — a required choice silently made for the client.
 */
export const OneOf = <const V extends readonly [string, ...string[]]>(values: V): ReturnType<typeof t.UnionEnum<V>> => {
  const { default: _first, ...schema } = t.UnionEnum(values);
  return schema as ReturnType<typeof t.UnionEnum<V>>;
};
