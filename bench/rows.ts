/**
 * The rows a sync create of a task stores, built without the server: one `tasks` row (through
 * the project's own entity definition, so columns and encodings are exactly the write core's),
 * its `task_tags` rows, one `history` row (`created`, every tracked field `{old: null, new}`, the
 * full record as snapshot) and one `feed` row (its change text around the same record text and clock). Used by the
 * storage baseline (bun:sqlite) and by the direct seeding of large organizations (SQLite and Postgres).
 */
import type { Database as BunSqlite } from "bun:sqlite";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type postgres from "postgres";
import type { BulkColumns } from "../src/db/bulk";
import { newId } from "../src/ids";
import { columnType, TASK } from "../src/records/entities";
import { TASK_TAG_COLUMNS, taskTagRows } from "../src/records/task-tags";
import { changeText, FEED_COLUMNS } from "../src/records/feed";
import { fieldChanges, HISTORY_COLUMNS, type HistoryEntry, historyRow } from "../src/records/history";
import type { RecordOf } from "../src/records/model";
import type { TaskFields } from "./data";

export type Value = string | number | null;
type PgType = "text" | "bigint" | "integer";

/** A table's columns in insert order, with their Postgres types. */
export interface TableSpec {
  name: string;
  columns: [name: string, pgType: PgType][];
}

/** A table of the write core's own column list. */
const specOf = (name: string, cols: BulkColumns): TableSpec => ({ name, columns: cols.names.map((c, i): [string, PgType] => [c, cols.types[i] as PgType]) });

export const TASKS: TableSpec = {
  name: "tasks",
  columns: [["org_id", "text"], ...TASK.columns.map((c): [string, PgType] => [c, columnType(c) as PgType])],
};

export const TASK_TAGS = specOf("task_tags", TASK_TAG_COLUMNS);
export const HISTORY = specOf("history", HISTORY_COLUMNS);
export const FEED = specOf("feed", FEED_COLUMNS);

/** Who writes the rows. */
export interface Writer {
  orgId: string;
  userId: string;
  deviceId: string;
}

/** Rows per table. */
export interface RowBatch {
  tasks: Value[][];
  tags: Value[][];
  history: Value[][];
  feed: Value[][];
}

export const emptyBatch = (): RowBatch => ({ tasks: [], tags: [], history: [], feed: [] });

/** Adds the rows of one task created by `w.deviceId` (version 1, clock `{device: 1}`) at feed position `pos`. */
export function addTask(b: RowBatch, id: string, f: TaskFields, w: Writer, pos: number, at: string): void {
  const clock = { [w.deviceId]: 1 };
  const record: RecordOf["task"] = {
    id, ...f, created_by: w.userId,
    version: 1, vector_clock: clock, created_at: at, updated_at: at, deleted_at: null, deleted_by: null,
  };
  b.tasks.push([w.orgId, ...TASK.toRow(record)]);
  b.tags.push(...(taskTagRows(w.orgId, id, at, f.tags) as Value[][]));
  const entry: HistoryEntry<"task"> = {
    id: newId(), entity: "task", entityId: id, version: 1, action: "created",
    changes: fieldChanges(TASK.tracked, null, record), snapshot: record, userId: w.userId, deviceId: w.deviceId, vectorClock: clock, createdAt: at,
  };
  const snapshot = JSON.stringify(record);
  const clockText = JSON.stringify(clock);
  b.history.push(historyRow(w.orgId, entry, snapshot, clockText) as Value[]);
  b.feed.push(["task", id, w.orgId, pos, "upsert", 1, w.deviceId, changeText({ entity: "task", entityId: id, op: "upsert", version: 1, record: snapshot, vectorClock: clockText })]);
}

function tables(b: RowBatch): [TableSpec, Value[][]][] {
  return [[TASKS, b.tasks], [TASK_TAGS, b.tags], [HISTORY, b.history], [FEED, b.feed]];
}

/** Inserts a batch with prepared statements on a bun:sqlite connection (the caller owns the transaction). */
export function insertSqlite(db: BunSqlite, b: RowBatch): void {
  for (const [spec, rows] of tables(b)) {
    if (rows.length === 0) continue;
    const stmt = db.prepare(`INSERT INTO ${spec.name} (${spec.columns.map((c) => c[0]).join(", ")}) VALUES (${spec.columns.map(() => "?").join(", ")})`);
    for (const row of rows) stmt.run(...row);
    stmt.finalize();
  }
}

/** A value in COPY text format: `\N` for null; backslash, tab, newline and carriage return escaped. */
function copyText(v: Value): string {
  if (v === null) return "\\N";
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c]!) : s;
}

/** Inserts a batch on Postgres with one `COPY … FROM STDIN` per table (the caller owns the transaction). */
export async function insertPostgres(sql: postgres.Sql | postgres.TransactionSql, b: RowBatch): Promise<void> {
  for (const [spec, rows] of tables(b)) {
    if (rows.length === 0) continue;
    const chunks: string[] = [];
    for (let i = 0; i < rows.length; i += 1000) {
      chunks.push(rows.slice(i, i + 1000).map((r) => r.map(copyText).join("\t") + "\n").join(""));
    }
    const target = await sql.unsafe(`COPY ${spec.name} (${spec.columns.map((c) => c[0]).join(", ")}) FROM STDIN`).writable();
    await pipeline(Readable.from(chunks), target);
  }
}
