/**
 * Value rules of the writable fields, applied by the write core to every write (REST bodies are
 * already checked by their `t` models; sync `data` arrives unchecked). Pure: no I/O.
 */
import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { reasonFor, UNKNOWN_FIELD_REASON } from "../wire/reasons";
import { keyAsNamed } from "../wire/text";
import { boundedErrors, MAX_MORE_FIELDS } from "./value-errors";
import { ENTITY_KINDS, type EntityKind, writableFieldSchemas, type WritableField } from "./model";

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|([+-])(\d{2}):(\d{2}))$/;

function daysIn(y: number, m: number): number {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

/**
 * A due date as stored: `YYYY-MM-DD` unchanged, a date-time converted to UTC
 * (`2026-03-01T08:00:00.000Z`), so that stored values sort and compare as text.
 * Null when `s` is not a real calendar date / time (e.g. `2026-02-30`, `25:00`), or when its
 * instant in UTC falls outside the years 0001..9999 that a date may name
 * (`0001-01-01T00:00:00+01:00` is `0000-12-31T23:00Z`): what is stored is always taken back, so
 * that normalizing twice (a push is checked, then written) gives what normalizing once gave.
 */
export function normalizeDueDate(s: string): string | null {
  let m = DATE_ONLY.exec(s);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo) ? s : null;
  }
  m = DATE_TIME.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? "0"].map(Number);
  if (!(y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo))) return null;
  if (h > 23 || mi > 59 || sec > 59) return null;
  if (m[9] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59)) return null;
  const ms = Date.parse(s);
  if (!Number.isFinite(ms)) return null;
  const iso = new Date(ms).toISOString();
  return /^\d{4}-/.test(iso) && !iso.startsWith("0000-") ? iso : null;
}

/** The time of a stored date-time at the start of its day. */
export const MIDNIGHT = "T00:00:00.000Z";

/**
 * A list's due-date bound (`due_before`, `due_after`) as the stored date-time its filter compares
 * with, or null when it is no real date or date-time; a date-only bound names the start of its day,
 * UTC (`2030-01-05` is `2030-01-05T00:00:00.000Z`). Due dates are stored to the millisecond: `after`
 * is the instant cut to its millisecond (after 00:00:00.0001 is after 00:00:00.000); `before` is the
 * last millisecond it lets in, compared with `<=` (before 00:00:00.001 and before 00:00:00.0001 are
 * both at or before 00:00:00.000). Never a millisecond later: the one after 9999's last is
 * `+010000-…`, which sorts before every stored date as text.
 */
export function dueBound(raw: string, side: "before" | "after"): string | null {
  const normalized = normalizeDueDate(raw);
  if (normalized === null) return null;
  const instant = normalized.length === 10 ? `${normalized}${MIDNIGHT}` : normalized;
  if (side === "after") return instant;
  const finer = /\.\d{3}(\d+)/.exec(raw)?.[1];
  return finer !== undefined && /[1-9]/.test(finer) ? instant : new Date(Date.parse(instant) - 1).toISOString();
}

/** Field → reason. Empty when valid. */
export type FieldErrors = Record<string, string>;

/** Each entity's field checks, compiled once from their schemas (src/records/model.ts). */
const CHECKS = Object.fromEntries(
  ENTITY_KINDS.map((kind) => [
    kind,
    Object.fromEntries(Object.entries(writableFieldSchemas(kind)).map(([field, schema]) => [field, TypeCompiler.Compile(schema)])),
  ]),
) as Record<EntityKind, Record<string, TypeCheck<TSchema>>>;

/** A value that passed its field's schema as stored, or the reason it is refused. */
type Normalized = { value: unknown } | { reason: string };
type Normalize = (value: unknown) => Normalized;

/** A field without a rule of its own: a text with an unpaired surrogate as U+FFFD (what UTF-8 storage would make of it anyway). */
const wellFormed: Normalize = (v) => ({ value: typeof v === "string" ? v.toWellFormed() : v });

/**
 * Normalization beyond the schema, per entity kind and field (a field not named here: {@link wellFormed}):
 * a task's due date in storage form ({@link normalizeDueDate}), its tags without duplicates.
 */
const NORMALIZE: { [K in EntityKind]: Partial<Record<WritableField<K>, Normalize>> } = {
  project: {},
  task: {
    due_date: (v) => {
      if (typeof v !== "string") return wellFormed(v);
      const due = normalizeDueDate(v);
      return due === null ? { reason: "not a real date or date-time" } : { value: due };
    },
    tags: (v) => (Array.isArray(v) ? { value: [...new Set((v as string[]).map((tag) => tag.toWellFormed()))] } : wellFormed(v)),
  },
  comment: {},
};

/** The same value, or arrays of the same elements. */
const sameValue = (a: unknown, b: unknown): boolean =>
  a === b || (Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]));

/**
 * Failing fields an answer names at most: a change with thousands of unknown keys is answered (and
 * remembered for exactly-once replay) with these and a count of the others, not an echo of them all.
 */
export const MAX_FIELD_ERRORS = 20;

/** The failures of {@link checkFields}: at most {@link MAX_FIELD_ERRORS} named, and how many more failed. */
export interface FieldFailures {
  ok: false;
  errors: FieldErrors;
  /** Failing keys left unnamed: at most {@link MAX_MORE_FIELDS}, which means "at least that many" (counting stops there). */
  more: number;
}

/** The `details` of a {@link FieldFailures} answer: `fields`, and `more_fields` when some were left unnamed. */
export const failureDetails = (f: Pick<FieldFailures, "errors" | "more">): Record<string, unknown> =>
  f.more > 0 ? { fields: f.errors, more_fields: f.more } : { fields: f.errors };

/** "invalid a, b" — or "invalid a, b and 3 more fields" when some were left unnamed; `where` ("body: ") goes before the names. */
export const failureMessage = (f: Pick<FieldFailures, "errors" | "more">, where = ""): string =>
  `invalid ${where}${Object.keys(f.errors).join(", ")}${f.more > 0 ? ` and ${f.more} more field${f.more === 1 ? "" : "s"}` : ""}`;

/**
 * Checks the values of `data` (a partial field set) against the entity's field rules and
 * returns them normalized ({@link NORMALIZE}), or the
 * failing fields. Keys that are not writable fields of the entity fail as read-only/unknown.
 * The work is bounded as a REST body's is (src/records/value-errors.ts): an array longer than its
 * `maxItems` fails as too long, its elements unchecked, and checking stops once
 * {@link MAX_MORE_FIELDS} failures beyond the named ones are counted.
 */
export function checkFields(kind: EntityKind, data: Record<string, unknown>): { ok: true; data: Record<string, unknown>; normalized: boolean } | FieldFailures {
  // No prototype: a key named `__proto__` or `constructor` is named like any other.
  const errors: FieldErrors = Object.create(null);
  let count = 0;
  let more = 0;
  const fail = (key: string, reason: string) => {
    const name = keyAsNamed(key);
    // Two long keys that begin alike are one name: the second is counted, not named.
    if (count < MAX_FIELD_ERRORS && !(name in errors)) {
      errors[name] = reason;
      count++;
    } else if (more < MAX_MORE_FIELDS) more++;
  };
  const out: Record<string, unknown> = {};
  let normalized = false;
  const checks = CHECKS[kind];
  const normalizers: Readonly<Record<string, Normalize>> = NORMALIZE[kind];
  for (const key of Object.keys(data)) {
    if (more >= MAX_MORE_FIELDS) break;
    const check = Object.prototype.hasOwnProperty.call(checks, key) ? checks[key] : undefined;
    if (!check) {
      fail(key, UNKNOWN_FIELD_REASON);
      continue;
    }
    const value = data[key];
    if (!check.Check(value)) {
      // Each failing part named as a REST body's are (src/http/errors.ts): an element by its path, `tags.1`.
      const named = new Set<string>();
      for (const e of boundedErrors(check.Schema(), check.References(), value)) {
        if (more >= MAX_MORE_FIELDS) break;
        const name = `${key}${e.path.replace(/\//g, ".")}`;
        if (named.has(name)) continue;
        named.add(name);
        fail(name, reasonFor(e.schema, e.value) ?? e.message);
      }
      if (named.size === 0) fail(key, "invalid value");
      continue;
    }
    const r = (normalizers[key] ?? wellFormed)(value);
    if ("reason" in r) {
      fail(key, r.reason);
      continue;
    }
    out[key] = r.value;
    normalized ||= !sameValue(r.value, value);
  }
  return count > 0 ? { ok: false, errors, more } : { ok: true, data: out, normalized };
}
