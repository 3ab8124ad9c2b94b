/**
 * Field-by-field three-way merge of CONCURRENT changes (contract: api-contract.md,
 * "Automatic merge rules"). Pure module: no I/O; from the rest of the app it imports only the
 * record model (src/records/model.ts: the entity kinds, the statuses and the priority ranks), the
 * JSON equality (src/records/json.ts) and the text merge of text fields (src/sync/text-merge.ts).
 *
 * Every rule is symmetric in (local, remote), so merging A's changes onto B's state and
 * B's changes onto A's state give the same values and the same conflict fields whenever
 * the base is known. Conflicting fields keep the remote (server) value.
 */

import { jsonEqual } from "../records/json";
import { ENTITY_KINDS, type EntityKind, PRIORITY_RANK, type TaskStatus, type WritableField } from "../records/model";
import { type MergeBudget, mergeText } from "./text-merge";

/** A record's writable fields (no id/version/vector_clock/timestamps). */
export type Fields = Record<string, unknown>;

/** Result of {@link mergeRecord}: the full field set to store and the fields left in conflict. */
export interface MergeResult {
  merged: Fields;
  /** Sorted names of fields that could not be merged; `merged` keeps the remote value for them. */
  conflicts: string[];
}

/** Status precedence: done > cancelled > blocked > in_progress > todo; the higher wins. */
export const STATUS_PRECEDENCE: Readonly<Record<TaskStatus, number>> = Object.freeze({
  todo: 0,
  in_progress: 1,
  blocked: 2,
  cancelled: 3,
  done: 4,
});

/** Decides a field both sides changed to different values: the merged value, or CONFLICT. */
type Decide = (base: unknown, local: unknown, remote: unknown, budget: MergeBudget) => unknown;
/**
 * A field's rule: its decision, what it says in words (the push route's description, {@link rulesInWords}),
 * and whether the field's value is a set (a {@link setRule}'s: {@link SET_FIELDS}).
 */
type Rule = Decide & { readonly says: string; readonly isSet?: true };
const rule = (says: string, decide: Decide): Rule => Object.assign(decide, { says });
const CONFLICT = Symbol("conflict");

/** The values of a ranking, the one that wins a merge first (`urgent > high > medium > low`). */
const winnersFirst = (rank: Readonly<Record<string, number>>) => Object.keys(rank).sort((a, b) => rank[b]! - rank[a]!).join(" > ");

const textRule = rule("texts three-way", (base, local, remote, budget) => {
  if (typeof base !== "string" || typeof local !== "string" || typeof remote !== "string") return CONFLICT;
  const result = mergeText(base, local, remote, budget);
  return result.ok ? result.text : CONFLICT;
});

/**
 * The rule of a field whose value is a set of strings (`tags`): three-way set merge ({@link mergeTags}).
 * The fields with it are {@link SET_FIELDS}, whose order carries no meaning.
 */
const setRule = (field: string): Rule =>
  Object.assign(
    rule(`${field} as a set`, (b, l, r) => (isStringArray(l) && isStringArray(r) ? mergeTags(isStringArray(b) ? b : null, l, r) : CONFLICT)),
    { isSet: true as const },
  );

/** A field without a rule: two concurrent changes to different values are always a conflict. */
const NO_RULE = "conflict";

/**
 * Every writable field of every entity, with its rule or {@link NO_RULE}: a field added to the model
 * does not compile until its concurrent changes are decided (merged by a rule, or a conflict). In the
 * order {@link rulesInWords} says them (the text merges last).
 */
const RULES: { [K in EntityKind]: Record<WritableField<K>, Rule | typeof NO_RULE> } = {
  task: {
    priority: rule(`the higher priority (${winnersFirst(PRIORITY_RANK)})`, (_b, l, r) => higher(PRIORITY_RANK, l, r)),
    status: rule(`status by precedence (${winnersFirst(STATUS_PRECEDENCE)})`, (_b, l, r) => higher(STATUS_PRECEDENCE, l, r)),
    tags: setRule("tags"),
    due_date: rule("the earlier due_date", (b, l, r) => earlierDate(b, l, r)),
    title: textRule,
    description: textRule,
    project_id: NO_RULE,
    assignee_id: NO_RULE,
  },
  project: { name: textRule, description: textRule, color: NO_RULE, archived: NO_RULE },
  comment: { body: textRule, task_id: NO_RULE, parent_id: NO_RULE },
};

/** The rule of a field of an entity; undefined for a field without one ({@link NO_RULE}) and for any other key. */
const ruleOf = (entity: EntityKind, field: string): Rule | undefined => {
  const rule = own<Rule | typeof NO_RULE>(RULES[entity], field);
  return rule === NO_RULE ? undefined : rule;
};

/** The fields of an entity that both sides may change and still merge: those with a rule ({@link RULES}); any other is a conflict. */
export const fieldsWithRule = (entity: EntityKind): string[] => Object.keys(RULES[entity]).filter((field) => ruleOf(entity, field) !== undefined);

/** The merge rules in words, each once, in {@link RULES}' order: "the higher priority (urgent > …), …, texts three-way". */
export const rulesInWords = (): string =>
  [...new Set(Object.values(RULES).flatMap((fields) => Object.values(fields).flatMap((r: Rule | typeof NO_RULE) => (r === NO_RULE ? [] : [r.says]))))].join(", ");

/** Whether a field is merged as text, three-way ({@link mergeText}). */
export const isMergedAsText = (entity: EntityKind, field: string): boolean => ruleOf(entity, field) === textRule;

/**
 * Merges the pushing device's changed fields (`local`, a partial record) into the server's
 * current fields (`remote`) against `base` (the record at base_version, or null if unknown).
 * A field only one side changed takes that side's value; a field both changed differently is
 * decided by the entity's rule for it, or is a conflict. With a null base every field in
 * `local` that differs from `remote` is a conflict (no guessing without the base). Text merges
 * spend `budget` (shared by the merges of one push: `pushMergeBudget` in src/sync/text-merge.ts).
 */
export function mergeRecord(base: Fields | null, local: Fields, remote: Fields, entity: EntityKind, budget: MergeBudget = { work: Infinity }): MergeResult {
  base = base && canonicalSets(entity, base);
  local = canonicalSets(entity, local);
  remote = canonicalSets(entity, remote);
  const merged: Fields = { ...remote };
  const conflicts: string[] = [];
  // In name order: the fields spend a shared budget in the same order whichever side is local.
  for (const field of Object.keys(local).sort()) {
    const l = own(local, field);
    const r = own(remote, field);
    if (jsonEqual(l, r)) continue;
    if (base === null) {
      conflicts.push(field);
      continue;
    }
    const b = own(base, field);
    if (jsonEqual(l, b)) continue; // only remote changed
    const rule = ruleOf(entity, field);
    const decided = jsonEqual(r, b) ? l : rule ? rule(b, l, r, budget) : CONFLICT;
    if (decided === CONFLICT) conflicts.push(field);
    // Defined, not assigned: a field named `__proto__` becomes a field, never `merged`'s prototype.
    else Object.defineProperty(merged, field, { value: decided, enumerable: true, writable: true, configurable: true });
  }
  return { merged, conflicts: conflicts.sort() };
}

/** Fields whose value is a set (`tags`): their order carries no meaning. Those whose rule is a {@link setRule}, so that the two cannot disagree. */
const SET_FIELDS: ReadonlyMap<EntityKind, readonly string[]> = new Map(ENTITY_KINDS.map((kind) => [kind, setFields(RULES[kind])]));

/** The fields of one kind's rules that hold sets. */
function setFields(rules: Readonly<Record<string, Rule | typeof NO_RULE>>): string[] {
  return Object.entries(rules).flatMap(([field, r]) => (r !== NO_RULE && r.isSet ? [field] : []));
}

/**
 * `fields` with each set field as a sorted array without duplicates (the form {@link mergeTags}
 * answers): a reordering is then no change, and merging is idempotent and order-independent for
 * sets as for every other field (test/sync/merge.test.ts, properties).
 */
function canonicalSets(entity: EntityKind, fields: Fields): Fields {
  let out = fields;
  for (const field of SET_FIELDS.get(entity)!) {
    const value = own(fields, field);
    if (!isStringArray(value)) continue;
    if (out === fields) out = { ...fields };
    out[field] = [...new Set(value)].sort();
  }
  return out;
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

/** Own-property read, so field names like `__proto__` or `constructor` never reach the prototype. */
function own<T>(obj: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}
