/**
 * Per-entity definitions of the synced records: table, columns, row ↔ record mapping,
 * writable fields, defaults and the owner field. Everything generic in src/records
 * (repos, history, feed, writeRecord) is driven by these.
 */
import type { ColumnType } from "../db/bulk";
import type { Executor, SqlValue, Tx } from "../db/types";
import type { TSchema } from "@sinclair/typebox";
import { ENTITY_KINDS, type EntityKind, PRIORITY_RANK, type RecordOf, type TaskPriority, writableFields, writableFieldSchemas, type WritableField } from "./model";
import { purgeTaskTags, queueTaskTags } from "./task-tags";

/** How one entity kind is stored: its table and columns, the row ↔ record mapping, and its writable, required and tracked fields. */
export interface EntityDef<K extends EntityKind = EntityKind> {
  kind: K;
  table: EntityTable;
  /** Fields a client may set (REST bodies, sync `data`). */
  fields: readonly string[];
  /** Fields that must be present when the record is created. */
  required: readonly string[];
  /** Values of the writable fields a create leaves out: the declared ones, and null for every other nullable field not required. */
  defaults: Readonly<Record<string, unknown>>;
  /** The read-only field holding the creating user (`created_by`, `author_id`). */
  owner: string;
  /** Fields diffed into history `changes` (writable + owner + deletion marks). */
  tracked: readonly string[];
  /** Table columns (besides org_id), in INSERT order. */
  columns: readonly string[];
  /** The same columns with their SQL types in multi-row statements (Postgres casts a bulk write's values to them). */
  typedColumns: readonly (readonly [column: string, type: ColumnType])[];
  fromRow(row: Record<string, unknown>): RecordOf[K];
  /** Column values in `columns` order. */
  toRow(r: RecordOf[K]): SqlValue[];
  /** Side tables kept in step with the record: queues their rows in the write's transaction (`tx.enqueue`). */
  afterWrite?(tx: Tx, orgId: string, before: RecordOf[K] | null, after: RecordOf[K]): void;
  /**
   * Side tables of the records the tombstone purge hard-deletes (src/jobs/cleanup-tombstones.ts), in its
   * transaction: the columns the purge's DELETE returns besides `id` and `org_id`, and what deletes the
   * side rows of the records so returned.
   */
  afterPurge?: { returning: readonly string[]; run(exec: Executor, purged: readonly PurgedRow[]): Promise<void> };
  /**
   * The kind's own rules for an update (not a create or delete): `fields` are the record's writable
   * fields after it; answers the refused fields with their reasons (422), or null. `reattachTo`: see
   * `WriteInput.reattachTo`.
   */
  checkUpdate?(before: RecordOf[K], fields: Readonly<Record<string, unknown>>, reattachTo: string | undefined): Record<string, string> | null;
}

/** The tables of the synced records, one per entity kind. */
export type EntityTable = "projects" | "tasks" | "comments";

/** A record hard-deleted by the tombstone purge, as its DELETE returns it (`afterPurge`'s `returning` columns besides). */
export interface PurgedRow {
  id: string;
  org_id: string;
  [column: string]: unknown;
}

const META = ["version", "vector_clock", "created_at", "updated_at", "deleted_at", "deleted_by"] as const;

type StoredAs = "json" | "boolean" | "integer";

/**
 * How a writable field is stored, read from its schema (src/records/model.ts): arrays and objects as
 * JSON texts, booleans as 0/1, integers as integers; undefined for text. A nullable field is stored
 * as its other member is, its null as SQL NULL. Any other schema (`t.Number()`, `t.Unknown()`) is
 * refused when the module loads: stored as text it would fail Postgres's casts of multi-row writes.
 */
export function storedAsOf(schema: TSchema): StoredAs | undefined {
  const s = schema as TSchema & { anyOf?: TSchema[]; type?: unknown };
  if (Array.isArray(s.anyOf)) {
    if (s.anyOf.some((m) => (m as { format?: unknown }).format === "integer" || (m as { format?: unknown }).format === "numeric"))
      throw new Error(`a record field's number is TypeBox's Type.Integer (as in src/records/model.ts), not Elysia's t.Integer/t.Numeric, which also take a numeric string: ${JSON.stringify(schema)}`);
    const kinds = new Set(s.anyOf.filter((m) => (m as { type?: unknown }).type !== "null").map(storedAsOf));
    if (kinds.size !== 1) throw new Error(`a record field's union must store as one kind: ${JSON.stringify(schema)}`);
    return [...kinds][0];
  }
  if (s.type === "array" || s.type === "object") return "json";
  if (s.type === "boolean") return "boolean";
  if (s.type === "integer") return "integer";
  if (s.type === "string") return undefined;
  throw new Error(`a record field is text, an integer, a boolean, an array or an object (or one of them or null), not ${JSON.stringify(schema)}`);
}

/**
 * How the record columns that are not plain text are stored: JSON texts, booleans as 0/1, integers.
 * It is also each column's SQL type in multi-row statements ({@link columnType}): Postgres casts a
 * bulk write's values to it (`pgRowBatches`), so a column left out would be written as text. The
 * writable fields' entries are derived from their schemas; the server's own columns are listed (a
 * derived column's type is declared with it: `EntitySpec.derived`).
 * Keyed by column name for every entity: a name stored two ways by two entities is refused at load.
 */
const STORED_AS: Readonly<Record<string, StoredAs>> = {
  vector_clock: "json",
  version: "integer",
  ...storageOfFields(Object.fromEntries(ENTITY_KINDS.map((kind) => [kind, writableFieldSchemas(kind)]))),
};

/** The storage of every non-text writable field of `entities` (field schemas by entity), by name; throws on a name stored two ways. */
export function storageOfFields(entities: Readonly<Record<string, Readonly<Record<string, TSchema>>>>): Record<string, StoredAs> {
  const out: Record<string, StoredAs> = {};
  const seen = new Map<string, StoredAs | "text">();
  for (const [kind, fields] of Object.entries(entities)) {
    for (const [field, schema] of Object.entries(fields)) {
      const stored = storedAsOf(schema) ?? "text";
      const before = seen.get(field);
      if (before !== undefined && before !== stored) throw new Error(`the record field ${field} is stored as ${before} by one entity and as ${stored} by ${kind}: give it another name`);
      seen.set(field, stored);
      if (stored !== "text") out[field] = stored;
    }
  }
  return out;
}

/** A stored column's SQL type (multi-row statements) from {@link STORED_AS}: not a derived column's, which its entity declares. */
const storedType = (c: string): ColumnType => (STORED_AS[c] === "boolean" || STORED_AS[c] === "integer" ? "integer" : "text");

/**
 * A record's row mapping over `columns`. A null (a nullable field's) is SQL NULL whatever the
 * column's storage, and NULL reads back as null: a nullable boolean does not become false.
 * `storedAs` is {@link STORED_AS} (a parameter for the tests).
 */
export function mapper<K extends EntityKind>(
  columns: readonly string[],
  derived: Record<string, (r: RecordOf[K]) => SqlValue> = {},
  storedAs: (column: string) => StoredAs | undefined = (c) => STORED_AS[c],
) {
  const fromRow = (row: Record<string, unknown>): RecordOf[K] => {
    const r: Record<string, unknown> = {};
    for (const c of columns) {
      if (c in derived) continue;
      const v = row[c];
      const stored = storedAs(c);
      if (v === null || v === undefined) r[c] = null;
      else if (stored === "json") r[c] = JSON.parse(String(v));
      else if (stored === "boolean") r[c] = Number(v) === 1;
      else if (stored === "integer") r[c] = Number(v);
      else r[c] = v;
    }
    return r as unknown as RecordOf[K];
  };
  const toRow = (rec: RecordOf[K]): SqlValue[] =>
    columns.map((c) => {
      if (c in derived) return derived[c](rec);
      const v = (rec as unknown as Record<string, unknown>)[c];
      if (v === null || v === undefined) return null;
      const stored = storedAs(c);
      if (stored === "json") return JSON.stringify(v);
      if (stored === "boolean") return v ? 1 : 0;
      return v as SqlValue;
    });
  return { fromRow, toRow };
}

/** Whether a field's schema lets it be null (`Nullable(…)` in src/records/model.ts). */
export function isNullable(schema: TSchema): boolean {
  const s = schema as TSchema & { anyOf?: TSchema[] };
  return Array.isArray(s.anyOf) && s.anyOf.some((m) => (m as { type?: unknown }).type === "null");
}

/**
 * The values a create of `kind` gives the writable fields it leaves out, in field order: `declared`,
 * and null for every other nullable field that is not `required`.
 */
function defaultsOf(kind: EntityKind, required: readonly string[], declared: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, schema] of Object.entries(writableFieldSchemas(kind))) {
    if (field in declared) out[field] = declared[field];
    else if (isNullable(schema) && !required.includes(field)) out[field] = null;
  }
  return out;
}

/**
 * What an entity kind declares; {@link defineEntity} derives the rest of its {@link EntityDef} from it and from its fields' schemas.
 * Its `defaults` name only what a create does not set to null: a nullable field's null follows from its schema.
 */
type EntitySpec<K extends EntityKind> = Pick<EntityDef<K>, "table" | "owner" | "afterWrite" | "afterPurge" | "checkUpdate"> & {
  /** Fields a create must hold (named as the model names them: a misspelt one does not compile). */
  required: readonly WritableField<K>[];
  /** Values a create that leaves them out takes, besides a nullable field's null. */
  defaults: Readonly<Partial<Record<WritableField<K>, unknown>>>;
  /** Columns the record's mapper computes from its fields (not answered): each one's SQL type and value. */
  derived?: Record<string, DerivedColumn<K>>;
};

/** A column computed from a record's fields (stored for indexes, not answered): its SQL type in multi-row statements, and its value. */
interface DerivedColumn<K extends EntityKind> {
  type: ColumnType;
  value(r: RecordOf[K]): SqlValue;
}

/**
 * The definition of an entity kind. Its columns besides org_id, in INSERT order: the id, the
 * writable fields (as the model defines them), the `derived` columns, the owner, the meta fields —
 * a writable field is a column of the same name: adding one to the model needs a migration. Its
 * history tracks the writable fields, the owner and the deletion marks.
 */
function defineEntity<K extends EntityKind>(kind: K, spec: EntitySpec<K>): EntityDef<K> {
  const { derived = {}, ...rest } = spec;
  const fields = writableFields(kind);
  const columns = ["id", ...fields, ...Object.keys(derived), spec.owner, ...META];
  const isDerived = (c: string) => Object.prototype.hasOwnProperty.call(derived, c);
  return {
    kind,
    ...rest,
    defaults: defaultsOf(kind, spec.required, spec.defaults),
    fields,
    tracked: [...fields, spec.owner, "deleted_at", "deleted_by"],
    columns,
    typedColumns: columns.map((c) => [c, isDerived(c) ? derived[c]!.type : storedType(c)] as const),
    ...mapper<K>(columns, Object.fromEntries(Object.entries(derived).map(([c, d]) => [c, (r: RecordOf[K]) => d.value(r)]))),
  };
}

const PROJECT = defineEntity("project", {
  table: "projects",
  required: ["name"],
  defaults: { description: "", archived: false },
  owner: "created_by",
});

export const TASK = defineEntity("task", {
  table: "tasks",
  required: ["title"],
  defaults: { description: "", status: "todo", priority: "medium", tags: [] },
  owner: "created_by",
  derived: { priority_rank: { type: "integer", value: (r) => PRIORITY_RANK[r.priority as TaskPriority] ?? 0 } },
  afterWrite: queueTaskTags,
  afterPurge: { returning: ["tags", "created_at"], run: purgeTaskTags },
});

const COMMENT = defineEntity("comment", {
  table: "comments",
  required: ["task_id", "body"],
  defaults: {},
  owner: "author_id",
  // A comment never moves: its task is fixed, and so is its place in the thread — except that a reply
  // stored without its parent (deleted concurrently) may be put back under that one parent.
  checkUpdate(before, fields, reattachTo): Record<string, string> | null {
    if (fields.task_id !== before.task_id) return { task_id: "a comment cannot move to another task" };
    const parent = fields.parent_id ?? null;
    if (parent !== before.parent_id && !(before.parent_id === null && parent === reattachTo)) return { parent_id: "a comment cannot move in its thread" };
    return null;
  },
});

const ENTITY_DEFS: { [K in EntityKind]: EntityDef<K> } = { project: PROJECT, task: TASK, comment: COMMENT };

/** A record column's SQL type in multi-row statements, by name: as an entity that has it types it ({@link EntityDef.typedColumns}). */
export function columnType(c: string): ColumnType {
  for (const def of Object.values(ENTITY_DEFS)) for (const [column, type] of def.typedColumns) if (column === c) return type;
  return storedType(c);
}

/** The definition of an entity kind. */
export function entityDef<K extends EntityKind>(kind: K): EntityDef<K> {
  const def = ENTITY_DEFS[kind];
  if (!def) throw new Error(`unknown entity "${kind}"`);
  return def;
}

/** The writable fields of a record (what a sync merge compares), in the definition's order. */
export function fieldsOf<K extends EntityKind>(kind: K, r: RecordOf[K]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of entityDef(kind).fields) out[f] = (r as unknown as Record<string, unknown>)[f];
  return out;
}
