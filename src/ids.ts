/**
 * Ids: new ones, what a UUID looks like, and the one letter case they are kept in.
 *
 * UUIDs are case-insensitive (RFC 9562) but stored, compared and indexed as text. Every id a request
 * carries is therefore lower-cased before validation (src/app.ts; the CLI likewise): path
 * parameters, query parameters and JSON fields named `id` or ending in `_id` (at any depth: a
 * pushed change's `entity_id` and the `project_id` of its `data` alike), and the keys of every
 * `vector_clock`. `ABC…` and `abc…` then name one record, one device, one change. Only values
 * shaped like a UUID change; anything else is left for validation to refuse. Ids are answered in
 * lower case (as RFC 9562 asks of output).
 */
import { isClockCounter } from "./records/clock";

/** A UUID in canonical 8-4-4-4-12 form, either letter case: the `pattern` of id schemas. */
export const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const UUID = new RegExp(UUID_PATTERN);

/**
 * A new id for a row the server creates (records created over REST, users, devices, sessions,
 * conflicts, history entries, sync log rows, job runs): a UUIDv7 (RFC 9562), its first 48 bits the
 * time in milliseconds, the rest random (62 bits at least). Ids made later sort later, so each
 * table's id index grows at its end instead of taking new keys at random pages, and the retention
 * jobs' deletes of the oldest rows empty pages at its start instead of a few entries from every page
 * (docs/performance.md, "Server ids in time order"). Not for secrets: a refresh token's secret is
 * random bytes of its own (src/auth/tokens.ts).
 */
export const newId = (): string => Bun.randomUUIDv7();

/** True for a UUID string in canonical 8-4-4-4-12 form. */
export const isUuid = (s: unknown): s is string => typeof s === "string" && UUID.test(s);

/** True for the names of fields that hold ids. */
const isIdField = (key: string): boolean => key === "id" || key.endsWith("_id");

/** `value` in lower case when it is a UUID, as it is. */
const lowerId = <T>(value: T): T => (isUuid(value) ? (value.toLowerCase() as T) : value);

/** Lower-cases, in place, the ids of an object of parameters (`params` or `query`). */
export function lowerParamIds(params: Record<string, unknown> | undefined): void {
  if (!params) return;
  for (const key of Object.keys(params)) if (isIdField(key)) params[key] = lowerId(params[key]);
}

/** Lower-cases, in place, the ids of a parsed JSON body ({@link lowerParamIds} for its fields, at every depth). */
export function lowerBodyIds(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) lowerBodyIds(item);
    return;
  }
  if (value === null || typeof value !== "object") return;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (isIdField(key)) obj[key] = lowerId(v);
    else if (key === "vector_clock" && v !== null && typeof v === "object" && !Array.isArray(v)) obj[key] = lowerKeys(v as Record<string, unknown>);
    else if (typeof v === "object") lowerBodyIds(v);
  }
}

/**
 * A copy of `clock` whose UUID keys are in lower case (one device written in two cases keeps the larger
 * counter). A counter that is not a positive integer is kept whichever spelling carries it, so that
 * validation refuses the clock as it would without the other spelling.
 */
function lowerKeys(clock: Record<string, unknown>): Record<string, unknown> {
  if (!Object.keys(clock).some((key) => isUuid(key) && key !== key.toLowerCase())) return clock;
  const out: Record<string, unknown> = Object.create(null); // "__proto__" stays an ordinary key, for validation to name
  for (const [key, v] of Object.entries(clock)) {
    const k = isUuid(key) ? key.toLowerCase() : key;
    const seen = out[k];
    if (!(k in out)) out[k] = v;
    else if (isClockCounter(seen)) out[k] = isClockCounter(v) ? Math.max(seen, v) : v;
    // else the spelling seen first carries a bad counter: kept.
  }
  return out;
}
