/**
 * Field-by-field three-way merge of CONCURRENT changes (contract: api-contract.md,
 * "Automatic merge rules"). Pure module: no I/O, no imports from the rest of the app.
 *
 * Every rule is symmetric in (local, remote), so merging A's changes onto B's state and
 * B's changes onto A's state give the same values and the same conflict fields whenever
 * the base is known. Conflicting fields keep the remote (server) value.
 */
import { diff3Merge } from "node-diff3";

/** The synced entity kinds. */
export type EntityKind = "task" | "project" | "comment";

/** A record's writable fields (no id/version/vector_clock/timestamps). */
export type Fields = Record<string, unknown>;

/** Result of {@link mergeRecord}: the full field set to store and the fields left in conflict. */
export interface MergeResult {
  merged: Fields;
  /** Sorted names of fields that could not be merged; `merged` keeps the remote value for them. */
  conflicts: string[];
}

/** Priority order: the higher rank wins when both sides changed `priority`. */
export const PRIORITY_RANK: Readonly<Record<string, number>> = Object.freeze({
  low: 0,
  medium: 1,
  high: 2,
  urgent: 3,
});

/** Status precedence: done > cancelled > blocked > in_progress > todo; the higher wins. */
export const STATUS_PRECEDENCE: Readonly<Record<string, number>> = Object.freeze({
  todo: 0,
  in_progress: 1,
  blocked: 2,
  cancelled: 3,
  done: 4,
});

/** Texts whose merge would involve more tokens than this are treated as a conflict. */
export const MAX_TEXT_MERGE_TOKENS = 50_000;

/** Decides a field both sides changed to different values: the merged value, or CONFLICT. */
type Rule = (base: unknown, local: unknown, remote: unknown) => unknown;
const CONFLICT = Symbol("conflict");

const textRule: Rule = (base, local, remote) => {
  if (typeof base !== "string" || typeof local !== "string" || typeof remote !== "string") return CONFLICT;
  const result = mergeText(base, local, remote);
  return result.ok ? result.text : CONFLICT;
};

const RULES: Record<EntityKind, Record<string, Rule>> = {
  task: {
    title: textRule,
    description: textRule,
    priority: (_b, l, r) => higher(PRIORITY_RANK, l, r),
    status: (_b, l, r) => higher(STATUS_PRECEDENCE, l, r),
    tags: (b, l, r) => (isStringArray(l) && isStringArray(r) ? mergeTags(isStringArray(b) ? b : null, l, r) : CONFLICT),
    due_date: earlierDate,
  },
  project: { name: textRule, description: textRule },
  comment: { body: textRule },
};

/**
 * Merges the pushing device's changed fields (`local`, a partial record) into the server's
 * current fields (`remote`) against `base` (the record at base_version, or null if unknown).
 * A field only one side changed takes that side's value; a field both changed differently is
 * decided by the entity's rule for it, or is a conflict. With a null base every field in
 * `local` that differs from `remote` is a conflict (no guessing without the base).
 */
export function mergeRecord(base: Fields | null, local: Fields, remote: Fields, entity: EntityKind): MergeResult {
  const merged: Fields = { ...remote };
  const conflicts: string[] = [];
  for (const field of Object.keys(local)) {
    const l = own(local, field);
    const r = own(remote, field);
    if (deepEqual(l, r)) continue;
    if (base === null) {
      conflicts.push(field);
      continue;
    }
    const b = own(base, field);
    if (deepEqual(l, b)) continue; // only remote changed
    const rule = own(RULES[entity], field);
    const decided = deepEqual(r, b) ? l : rule ? rule(b, l, r) : CONFLICT;
    if (decided === CONFLICT) conflicts.push(field);
    else Object.defineProperty(merged, field, { value: decided, enumerable: true, writable: true, configurable: true });
  }
  return { merged, conflicts: conflicts.sort() };
}

/** Result of {@link mergeText}. */
export type TextMerge = { ok: true; text: string } | { ok: false };

/**
 * Three-way text merge with diff3, symmetric in (local, remote): line-level first; regions
 * where lines conflict are retried word by word. Edits to different lines or words both
 * survive; edits that overlap (or touch adjacent tokens) are a conflict (`ok: false`).
 */
export function mergeText(base: string, local: string, remote: string): TextMerge {
  if (local === remote || remote === base) return { ok: true, text: local };
  if (local === base) return { ok: true, text: remote };
  const out: string[] = [];
  for (const region of diff3Tokens(lines(local), lines(base), lines(remote))) {
    if (region.ok) {
      out.push(...region.ok);
      continue;
    }
    const { a, o, b } = region.conflict!;
    const words = diff3Tokens(wordTokens(a.join("")), wordTokens(o.join("")), wordTokens(b.join("")));
    if (words.some((w) => !w.ok)) return { ok: false };
    for (const w of words) out.push(...w.ok!);
  }
  return { ok: true, text: out.join("") };
}

/**
 * Three-way set merge of tag arrays: base ∪ added by either − removed by either
 * (so a removal never comes back). Sorted and de-duplicated for determinism.
 */
export function mergeTags(base: readonly string[] | null, local: readonly string[], remote: readonly string[]): string[] {
  const b = new Set(base ?? []);
  const l = new Set(local);
  const r = new Set(remote);
  const kept = [...new Set([...b, ...l, ...r])].filter((tag) =>
    b.has(tag) ? l.has(tag) && r.has(tag) : l.has(tag) || r.has(tag),
  );
  return kept.sort();
}

/** Fields whose value differs (deep equality) between two versions of a record, with old and new values (missing = null; a null `before` lists every field of `after`). */
export function changedFields(before: Fields | null, after: Fields | null): Record<string, { old: unknown; new: unknown }> {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const changes: [string, { old: unknown; new: unknown }][] = [];
  for (const key of [...keys].sort()) {
    const o = before ? own(before, key) ?? null : null;
    const n = after ? own(after, key) ?? null : null;
    if (before === null || after === null || !deepEqual(o, n)) changes.push([key, { old: o, new: n }]);
  }
  return Object.fromEntries(changes);
}

/** Structural equality of JSON-like values (key order ignored; `undefined` properties count as absent). */
export function deepEqual(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) return false;
  if (Array.isArray(x) !== Array.isArray(y)) return false;
  if (Array.isArray(x) && Array.isArray(y)) {
    return x.length === y.length && x.every((v, i) => deepEqual(v, y[i]));
  }
  const xo = x as Record<string, unknown>;
  const yo = y as Record<string, unknown>;
  const xKeys = Object.keys(xo).filter((k) => xo[k] !== undefined);
  const yKeys = Object.keys(yo).filter((k) => yo[k] !== undefined);
  if (xKeys.length !== yKeys.length) return false;
  return xKeys.every((k) => Object.prototype.hasOwnProperty.call(yo, k) && deepEqual(xo[k], yo[k]));
}

// ---- rules and helpers ----------------------------------------------------

/** The value with the higher rank; unknown values cannot be ranked → conflict. */
function higher(rank: Readonly<Record<string, number>>, l: unknown, r: unknown): unknown {
  const rl = typeof l === "string" && Object.prototype.hasOwnProperty.call(rank, l) ? rank[l] : undefined;
  const rr = typeof r === "string" && Object.prototype.hasOwnProperty.call(rank, r) ? rank[r] : undefined;
  if (rl === undefined || rr === undefined) return CONFLICT;
  return rl >= rr ? l : r;
}

/** The earlier due date; one side cleared (null) while the other set a date → conflict. */
function earlierDate(_base: unknown, l: unknown, r: unknown): unknown {
  if (typeof l !== "string" || typeof r !== "string") return CONFLICT;
  const tl = Date.parse(l);
  const tr = Date.parse(r);
  if (Number.isNaN(tl) || Number.isNaN(tr)) return CONFLICT;
  if (tl !== tr) return tl < tr ? l : r;
  return l < r ? l : r; // same instant spelled differently: pick one deterministically
}

type Region = { ok?: string[]; conflict?: { a: string[]; o: string[]; b: string[] } };

/** diff3 over token arrays (symmetric in a/b); oversized inputs are one conflict region. */
function diff3Tokens(a: string[], o: string[], b: string[]): Region[] {
  if (a.length + o.length + b.length > MAX_TEXT_MERGE_TOKENS) return [{ conflict: { a, o, b } }];
  return diff3Merge<string>(a, o, b, { excludeFalseConflicts: true });
}

/** Lines and line breaks as separate tokens, so a changed line never touches its neighbours. */
function lines(text: string): string[] {
  return text.split(/(\n)/).filter((t) => t !== "");
}

/** Words and whitespace runs as separate tokens; joining them gives the text back. */
function wordTokens(text: string): string[] {
  return text.split(/(\s+)/).filter((t) => t !== "");
}

/** Own-property read, so field names like `__proto__` or `constructor` never reach the prototype. */
function own<T>(obj: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}
