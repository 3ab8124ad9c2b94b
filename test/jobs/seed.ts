import { type BulkColumns, columns, insertRows } from "../../src/db/bulk";
import type { Executor, SqlValue } from "../../src/db/types";
import type { SnapshotRow } from "../../src/metrics/repo";
import { entityDef } from "../../src/records/entities";
import { changeText } from "../../src/records/feed";
import { ENTITY_KINDS } from "../../src/records/model";

/** Direct SQL seeding for job and metrics tests (independent of the REST and sync layers). */

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

export const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The tables {@link resetTables} empties, in order: the jobs', the sync log's, the pushes' exactly-once
 * memory (which the tombstone purge also deletes from), the records' history
 * and feed, the task tags, then each entity kind's table, referencing kinds before the kinds they name.
 */
export const RESET_TABLES: readonly string[] = [
  "job_runs",
  "sync_metrics_snapshots",
  "sync_log",
  "sync_changes",
  "conflicts",
  "history",
  "feed",
  "task_tags",
  ...ENTITY_KINDS.toReversed().map((kind) => entityDef(kind).table),
];

/**
 * The tables {@link resetTables} leaves as they are: organizations and who is in them (a test makes its
 * own, and reads the jobs' effects on them — expired refresh tokens — by its own ids), and the
 * migrations' tracking table. test/jobs/reset-tables.test.ts fails for a table in neither list.
 */
export const KEPT_TABLES: readonly string[] = ["schema_migrations", "organizations", "org_feed_state", "users", "devices", "refresh_tokens", "login_attempts"];

/** Empties every table the jobs touch ({@link RESET_TABLES}), so each test starts from a known state. */
export async function resetTables(db: Executor): Promise<void> {
  for (const table of RESET_TABLES) await db.run(`DELETE FROM ${table}`);
}

export async function seedOrg(db: Executor, id = crypto.randomUUID()): Promise<string> {
  await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", [id, `Org ${id}`, `org-${id}`, iso(0)]);
  await db.run("INSERT INTO org_feed_state (org_id, seq, purged_through) VALUES (?, 0, 0)", [id]);
  return id;
}

export interface RecordSeed {
  org: string;
  id?: string;
  /** Feed position of the record's latest write. */
  pos: number;
  deletedAt?: string | null;
  /** For a comment: its task. */
  taskId?: string;
  /** Number of history rows (versions 1..n). */
  versions?: number;
  /** For a task: its tags (with their `task_tags` rows). */
  tags?: string[];
}

/** Inserts a project, task or comment with its feed row, history rows and the organization's feed counter. */
export async function seedRecord(db: Executor, entity: SeededEntity, s: RecordSeed): Promise<string> {
  const [id] = await seedRecords(db, entity, [s]);
  return id!;
}

export type SeededEntity = "project" | "task" | "comment";

const RECORD_COLUMNS: Record<SeededEntity, BulkColumns> = {
  project: columns([
    ["id", "text"], ["org_id", "text"], ["name", "text"], ["version", "integer"], ["vector_clock", "text"],
    ["created_at", "text"], ["updated_at", "text"], ["deleted_at", "text"],
  ]),
  task: columns([
    ["id", "text"], ["org_id", "text"], ["title", "text"], ["status", "text"], ["priority", "text"], ["priority_rank", "integer"],
    ["created_by", "text"], ["version", "integer"], ["vector_clock", "text"], ["created_at", "text"], ["updated_at", "text"],
    ["deleted_at", "text"], ["tags", "text"],
  ]),
  comment: columns([
    ["id", "text"], ["org_id", "text"], ["task_id", "text"], ["body", "text"], ["author_id", "text"], ["version", "integer"],
    ["vector_clock", "text"], ["created_at", "text"], ["updated_at", "text"], ["deleted_at", "text"],
  ]),
};
const TASK_TAG_COLUMNS = columns([["org_id", "text"], ["tag", "text"], ["created_at", "text"], ["task_id", "text"]]);
const FEED_COLUMNS = columns([["entity_id", "text"], ["org_id", "text"], ["entity", "text"], ["pos", "bigint"], ["op", "text"], ["version", "integer"], ["change", "text"]]);
const HISTORY_COLUMNS = columns([
  ["entity_id", "text"], ["version", "integer"], ["id", "text"], ["org_id", "text"], ["entity", "text"], ["action", "text"],
  ["changes", "text"], ["snapshot", "text"], ["vector_clock", "text"], ["created_at", "text"],
]);

/**
 * {@link seedRecord} for many records of one kind at once, in multi-row statements (thousands of
 * tombstones in a few statements, not four round trips each); returns their ids in `seeds` order.
 */
export async function seedRecords(db: Executor, entity: SeededEntity, seeds: readonly RecordSeed[]): Promise<string[]> {
  const ids = seeds.map((s) => s.id ?? crypto.randomUUID());
  const records: SqlValue[][] = [];
  const tags: SqlValue[][] = [];
  const feed: SqlValue[][] = [];
  const history: SqlValue[][] = [];
  seeds.forEach((s, i) => {
    const id = ids[i]!;
    const deletedAt = s.deletedAt ?? null;
    const versions = s.versions ?? 2;
    if (entity === "project") records.push([id, s.org, "P", versions, "{}", iso(0), iso(0), deletedAt]);
    else if (entity === "task") {
      records.push([id, s.org, "T", "todo", "low", 0, "u", versions, "{}", iso(0), iso(0), deletedAt, JSON.stringify(s.tags ?? [])]);
      for (const tag of s.tags ?? []) tags.push([s.org, tag, iso(0), id]);
    } else records.push([id, s.org, s.taskId!, "C", "u", versions, "{}", iso(0), iso(0), deletedAt]);
    // The feed row's change carries the placeholder record and clock texts of the history rows below.
    const op = deletedAt ? "delete" : "upsert";
    feed.push([id, s.org, entity, s.pos, op, versions, changeText({ entity, entityId: id, op, version: versions, record: "{}", vectorClock: "{}" })]);
    for (let v = 1; v <= versions; v++) history.push([id, v, crypto.randomUUID(), s.org, entity, "updated", "{}", "{}", "{}", iso(0)]);
  });
  await insertRows(db, entityDef(entity).table, RECORD_COLUMNS[entity], records);
  await insertRows(db, "task_tags", TASK_TAG_COLUMNS, tags);
  await insertRows(db, "feed", FEED_COLUMNS, feed);
  await insertRows(db, "history", HISTORY_COLUMNS, history);
  const top = new Map<string, number>();
  for (const s of seeds) top.set(s.org, Math.max(top.get(s.org) ?? 0, s.pos));
  for (const [org, pos] of top) await db.run("UPDATE org_feed_state SET seq = CASE WHEN seq < ? THEN ? ELSE seq END WHERE org_id = ?", [pos, pos, org]);
  return ids;
}

export async function seedConflict(db: Executor, org: string, entity: string, entityId: string, resolved = false): Promise<string> {
  const id = crypto.randomUUID();
  await db.run(
    `INSERT INTO conflicts (id, org_id, entity, entity_id, fields, local, remote, created_at, resolved_at, resolution)
     VALUES (?, ?, ?, ?, '[]', '{}', '{}', ?, ?, ?)`,
    [id, org, entity, entityId, iso(0), resolved ? iso(1) : null, resolved ? "remote" : null],
  );
  return id;
}

export interface SyncLogSeed {
  org: string;
  at: string;
  kind?: "push" | "pull";
  outcome?: "ok" | "error";
  device?: string | null;
  user?: string | null;
  changes?: number;
  applied?: number;
  merged?: number;
  conflicts?: number;
  duplicates?: number;
  stale?: number;
  rejected?: number;
  durationMs?: number;
}

export async function seedSyncLog(db: Executor, s: SyncLogSeed): Promise<void> {
  await db.run(
    `INSERT INTO sync_log (id, org_id, device_id, user_id, kind, change_count, applied, merged, conflicts, duplicates, stale, rejected,
       record_count, duration_ms, outcome, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
    [
      crypto.randomUUID(),
      s.org,
      s.device ?? null,
      s.user ?? null,
      s.kind ?? "push",
      s.changes ?? 0,
      s.applied ?? 0,
      s.merged ?? 0,
      s.conflicts ?? 0,
      s.duplicates ?? 0,
      s.stale ?? 0,
      s.rejected ?? 0,
      s.durationMs ?? 10,
      s.outcome ?? "ok",
      s.outcome === "error" ? "boom" : null,
      s.at,
    ],
  );
}

export { count } from "../support/db";

export async function horizon(db: Executor, org: string): Promise<number> {
  const r = await db.get<{ p: number }>("SELECT purged_through AS p FROM org_feed_state WHERE org_id = ?", [org]);
  return Number(r?.p);
}

/** A finished manual job run started at `startedAt` (manual: no tick, so runs may share a start). */
export async function seedJobRun(db: Executor, job: string, startedAt: string, id: string = crypto.randomUUID(), opts: { unfinished?: boolean } = {}): Promise<string> {
  await db.run(
    `INSERT INTO job_runs (id, job, scheduled_for, kind, instance, started_at, finished_at, duration_ms, ok, result, error)
     VALUES (?, ?, NULL, 'manual', 'seed', ?, ?, ?, ?, ?, NULL)`,
    opts.unfinished ? [id, job, startedAt, null, null, null, null] : [id, job, startedAt, startedAt, 1, 1, "{}"],
  );
  return id;
}

/** The metrics snapshots of `org` as stored, newest first. */
export async function snapshotsOf(db: Executor, org: string): Promise<SnapshotRow[]> {
  return db.all<SnapshotRow>("SELECT * FROM sync_metrics_snapshots WHERE org_id = ? ORDER BY window_end DESC", [org]);
}

/** A metrics snapshot of `org` for the hour ending at `windowEnd`: zeros, unless `figures` gives other stored values. */
export async function seedSnapshot(
  db: Executor,
  org: string,
  windowEnd: string,
  figures: Partial<Omit<SnapshotRow, "id" | "org_id" | "window_start" | "window_end">> = {},
): Promise<void> {
  const f = {
    sync_count: 0,
    error_count: 0,
    change_count: 0,
    conflict_count: 0,
    sync_success_rate: null,
    conflict_rate: null,
    average_sync_duration_ms: null,
    active_devices: 0,
    active_devices_per_user: "[]",
    created_at: windowEnd,
    ...figures,
  };
  await db.run(
    `INSERT INTO sync_metrics_snapshots (id, org_id, window_start, window_end, sync_count, error_count, change_count, conflict_count,
       sync_success_rate, conflict_rate, average_sync_duration_ms, active_devices, active_devices_per_user, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      crypto.randomUUID(),
      org,
      iso(Date.parse(windowEnd) - HOUR),
      windowEnd,
      f.sync_count,
      f.error_count,
      f.change_count,
      f.conflict_count,
      f.sync_success_rate,
      f.conflict_rate,
      f.average_sync_duration_ms,
      f.active_devices,
      f.active_devices_per_user,
      f.created_at,
    ],
  );
}
