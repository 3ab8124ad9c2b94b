/**
 * Per-entity definitions of the synced records: table, columns, row ↔ record mapping,
 * writable fields, defaults and the owner field. Everything generic in src/records
 * (repos, history, feed, writeRecord) is driven by these.
 */
import { type ColumnType, columns, deleteRows, insertRows } from "../db/bulk";
import type { Flusher, SqlValue, Tx } from "../db/types";
import { type EntityKind, PRIORITY_RANK, type RecordOf, type TaskPriority } from "./model";
import { writableFields } from "./validate";

export interface EntityDef<K extends EntityKind = EntityKind> {
  kind: K;
  table: string;
  /** Fields a client may set (REST bodies, sync `data`). */
  fields: readonly string[];
  /** Fields that must be present when the record is created. */
  required: readonly string[];
  /** Values of the writable fields a create leaves out. */
  defaults: Readonly<Record<string, unknown>>;
  /** The read-only field holding the creating user (`created_by`, `author_id`). */
  owner: string;
  /** Fields diffed into history `changes` (writable + owner + deletion marks). */
  tracked: readonly string[];
  /** Table columns (besides org_id), in INSERT order. */
  columns: readonly string[];
  fromRow(row: Record<string, unknown>): RecordOf[K];
  /** Column values in `columns` order. */
  toRow(r: RecordOf[K]): SqlValue[];
  /** Side tables kept in step with the record: queues their rows in the write's transaction (`tx.enqueue`). */
  afterWrite?(tx: Tx, orgId: string, before: RecordOf[K] | null, after: RecordOf[K]): void;
  /**
   * The kind's own rules for an update (not a create or delete): `fields` are the record's writable
   * fields after it; answers the refused fields with their reasons (422), or null. `reattachTo`: see
   * `WriteInput.reattachTo`.
   */
  checkUpdate?(before: RecordOf[K], fields: Readonly<Record<string, unknown>>, reattachTo: string | undefined): Record<string, string> | null;
}

const META = ["version", "vector_clock", "created_at", "updated_at", "deleted_at", "deleted_by"] as const;
/** How the columns that are not plain text are stored: JSON texts, booleans as 0/1, integers. */
const STORED_AS: Readonly<Record<string, "json" | "boolean" | "integer">> = {
  vector_clock: "json",
  tags: "json",
  archived: "boolean",
  version: "integer",
  priority_rank: "integer",
};

/** A record column's SQL type (multi-row statements). */
export const columnType = (c: string): ColumnType => (STORED_AS[c] === "boolean" || STORED_AS[c] === "integer" ? "integer" : "text");

function mapper<K extends EntityKind>(columns: readonly string[], derived: Record<string, (r: RecordOf[K]) => SqlValue> = {}) {
  const fromRow = (row: Record<string, unknown>): RecordOf[K] => {
    const r: Record<string, unknown> = {};
    for (const c of columns) {
      if (c in derived) continue;
      const v = row[c];
      const stored = STORED_AS[c];
      if (stored === "json") r[c] = JSON.parse(String(v));
      else if (stored === "boolean") r[c] = Number(v) === 1;
      else if (stored === "integer") r[c] = Number(v);
      else r[c] = v ?? null;
    }
    return r as unknown as RecordOf[K];
  };
  const toRow = (rec: RecordOf[K]): SqlValue[] =>
    columns.map((c) => {
      if (c in derived) return derived[c](rec);
      const v = (rec as unknown as Record<string, unknown>)[c];
      if (STORED_AS[c] === "json") return JSON.stringify(v);
      if (STORED_AS[c] === "boolean") return v ? 1 : 0;
      return (v ?? null) as SqlValue;
    });
  return { fromRow, toRow };
}

const projectColumns = ["id", "name", "description", "color", "archived", "created_by", ...META];
const taskColumns = [
  "id", "project_id", "title", "description", "status", "priority", "priority_rank", "due_date", "tags", "assignee_id", "created_by", ...META,
];
const commentColumns = ["id", "task_id", "parent_id", "body", "author_id", ...META];

export const PROJECT: EntityDef<"project"> = {
  kind: "project",
  table: "projects",
  fields: writableFields("project"),
  required: ["name"],
  defaults: { description: "", color: null, archived: false },
  owner: "created_by",
  tracked: [...writableFields("project"), "created_by", "deleted_at", "deleted_by"],
  columns: projectColumns,
  ...mapper<"project">(projectColumns),
};

export const TASK: EntityDef<"task"> = {
  kind: "task",
  table: "tasks",
  fields: writableFields("task"),
  required: ["title"],
  defaults: { project_id: null, description: "", status: "todo", priority: "medium", due_date: null, tags: [], assignee_id: null },
  owner: "created_by",
  tracked: [...writableFields("task"), "created_by", "deleted_at", "deleted_by"],
  columns: taskColumns,
  ...mapper<"task">(taskColumns, { priority_rank: (r) => PRIORITY_RANK[r.priority as TaskPriority] ?? 0 }),
  /** `task_tags` mirrors `tags` so that `?tag=` is an index lookup (rows written just before COMMIT). */
  afterWrite(tx, orgId, before, after) {
    if (before && sameList(before.tags, after.tags)) return;
    tx.enqueue(flushTaskTags, { taskId: after.id, orgId, createdAt: after.created_at, tags: after.tags, stored: before?.tags ?? [] });
  },
};

/** The tags of a task after a write that changed them, and those it had before that write. */
export interface TaskTagsTouch {
  taskId: string;
  orgId: string;
  /** The task's created_at (part of the key, never changes). */
  createdAt: string;
  tags: readonly string[];
  /** The task's tags before the write ([] when it created the task): their rows are stored. */
  stored: readonly string[];
}

/** `task_tags` rows and key, in primary-key order (migration 0005). */
export const TASK_TAG_COLUMNS = columns([
  ["org_id", "text"],
  ["tag", "text"],
  ["created_at", "text"],
  ["task_id", "text"],
]);

/** The `task_tags` rows of one task: its distinct tags, in {@link TASK_TAG_COLUMNS} order. */
export function taskTagRows(orgId: string, taskId: string, createdAt: string, tags: readonly string[]): SqlValue[][] {
  return [...new Set(tags)].map((tag) => [orgId, tag, createdAt, taskId]);
}

/**
 * Writes the `task_tags` rows of one transaction: per task its last tags win. The rows stored
 * before the transaction (the first write's `stored` tags) are deleted by key, then every row goes
 * in multi-row INSERTs.
 */
const flushTaskTags: Flusher<TaskTagsTouch> = async (exec, items) => {
  const first = new Map<string, TaskTagsTouch>();
  const last = new Map<string, TaskTagsTouch>();
  for (const item of items) {
    if (!first.has(item.taskId)) first.set(item.taskId, item);
    last.set(item.taskId, item);
  }
  const stale: SqlValue[][] = [];
  for (const t of first.values()) stale.push(...taskTagRows(t.orgId, t.taskId, t.createdAt, t.stored));
  await deleteRows(exec, "task_tags", TASK_TAG_COLUMNS, stale);
  const rows: SqlValue[][] = [];
  for (const t of last.values()) rows.push(...taskTagRows(t.orgId, t.taskId, t.createdAt, t.tags));
  await insertRows(exec, "task_tags", TASK_TAG_COLUMNS, rows);
};

const COMMENT: EntityDef<"comment"> = {
  kind: "comment",
  table: "comments",
  fields: writableFields("comment"),
  required: ["task_id", "body"],
  defaults: { parent_id: null },
  owner: "author_id",
  tracked: [...writableFields("comment"), "author_id", "deleted_at", "deleted_by"],
  columns: commentColumns,
  ...mapper<"comment">(commentColumns),
  // A comment never moves: its task is fixed, and so is its place in the thread — except that a reply
  // stored without its parent (deleted concurrently) may be put back under that one parent.
  checkUpdate(before, fields, reattachTo): Record<string, string> | null {
    if (fields.task_id !== before.task_id) return { task_id: "a comment cannot move to another task" };
    const parent = fields.parent_id ?? null;
    if (parent !== before.parent_id && !(before.parent_id === null && parent === reattachTo)) return { parent_id: "a comment cannot move in its thread" };
    return null;
  },
};

const ENTITY_DEFS: { [K in EntityKind]: EntityDef<K> } = { project: PROJECT, task: TASK, comment: COMMENT };

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

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
