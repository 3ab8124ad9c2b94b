import { IDS_PER_QUERY, inChunks } from "../db/bulk";
import { sqlOf } from "../db/dialect";
import type { Executor, SqlValue } from "../db/types";
import { entityDef, type PurgedRow } from "../records/entities";
import type { EntityKind } from "../records/model";

/** A kind of expired row the tombstone purge removes, with how to find it and how to re-check it at delete time. */
export interface PurgePhase {
  entity: EntityKind;
  /** Selects up to `?`(limit) ids; {@link CUTOFF_PARAMS} `?` for the cutoff, then one for the limit. */
  select: string;
  /** Still true for the row when it is deleted ({@link CUTOFF_PARAMS} `?` for the cutoff): a record revived (or written again) meanwhile is kept. */
  still: string;
}

/**
 * An expired tombstone: deleted, and neither deleted nor written since the cutoff. A tombstone is
 * written again after its delete (an update of it is a `conflict` merged into it, a resolution
 * keeping it deleted is a new version), which moves its feed row to a recent position: purged by the
 * age of its `deleted_at` alone, that recent row was gone the same night — every device that had not
 * pulled since then answered 410 — with the Conflict the push had just been answered with
 * (test/jobs/tombstone-rewritten.test.ts). `updated_at` is never before `deleted_at`; the
 * `deleted_at` bound keeps the range on the tombstones' index.
 */
const EXPIRED = "deleted_at IS NOT NULL AND deleted_at <= ? AND updated_at <= ?";

/** How many `?` the cutoff fills in {@link EXPIRED} (and in {@link LIVE_COMMENTS_OF_EXPIRED_TASKS}). */
const CUTOFF_PARAMS = 2;

/** The cutoff as {@link CUTOFF_PARAMS} parameters. */
const cutoffParams = (cutoff: string): string[] => Array<string>(CUTOFF_PARAMS).fill(cutoff);

/**
 * A task none of whose comments is left: a live comment of an expired task is first deleted by the
 * job (a write with its own feed position, so devices pull the delete: {@link
 * RetentionRepo.listLiveCommentsOfExpiredTasks}), and its tombstone purged once it has expired in
 * turn; the task goes with or after the last of them, so no comment (which a conflict resolution
 * could bring back) is ever left without its task.
 */
const NO_COMMENT = `NOT EXISTS (SELECT 1 FROM comments c WHERE c.org_id = tasks.org_id AND c.task_id = tasks.id)`;

/**
 * In dependency order: children before parents. Each tombstone is purged once it has expired itself.
 * One phase per entity kind (test/jobs/cleanup-tombstones.test.ts): a kind without one would keep
 * its tombstones, their feed rows and history for ever.
 */
export const PURGE_PHASES: PurgePhase[] = [
  {
    entity: "comment",
    select: `SELECT id FROM comments WHERE ${EXPIRED} ORDER BY deleted_at LIMIT ?`,
    still: EXPIRED,
  },
  {
    entity: "task",
    select: `SELECT id FROM tasks WHERE ${EXPIRED} AND ${NO_COMMENT} ORDER BY deleted_at LIMIT ?`,
    still: `${EXPIRED} AND ${NO_COMMENT}`,
  },
  { entity: "project", select: `SELECT id FROM projects WHERE ${EXPIRED} ORDER BY deleted_at LIMIT ?`, still: EXPIRED },
];

/** Live comments of expired tasks ({@link EXPIRED}: {@link CUTOFF_PARAMS} `?` for the cutoff), or of no task at all. */
const LIVE_COMMENTS_OF_EXPIRED_TASKS = `SELECT c.org_id, c.id FROM comments c LEFT JOIN tasks t ON t.org_id = c.org_id AND t.id = c.task_id
  WHERE c.deleted_at IS NULL AND (t.id IS NULL OR (t.deleted_at IS NOT NULL AND t.deleted_at <= ? AND t.updated_at <= ?))`;

const BUCKETS = [1, 8, 64, 512];

/**
 * `?, ?, …` for an IN list, padded with NULLs (which match nothing) to a few fixed sizes so that
 * Postgres keeps a handful of prepared statements rather than one per list length.
 */
function inList(values: string[]): { sql: string; params: SqlValue[] } {
  const size = BUCKETS.find((b) => b >= values.length) ?? values.length;
  const params: SqlValue[] = [...values, ...Array<null>(size - values.length).fill(null)];
  return { sql: params.map(() => "?").join(", "), params };
}

/**
 * Retention deletes for the cleanup jobs. They work across organizations (every purged row
 * carries its `org_id`), so this repository is not constructed with one.
 */
export class RetentionRepo {
  constructor(private readonly exec: Executor) {}

  /**
   * Up to `limit` live comments of expired tasks (deleted, and not written since, at or before `cutoff`), or of no task at all, with
   * their organization, in (organization, id) order. Such a comment is deleted before its task is
   * purged: a purge removing it outright would leave it on every device that holds it, with no
   * delete to pull and no cursor behind the purge horizon. (A comment without its task can only come
   * from a write racing a purge on Postgres; it is deleted the same way.)
   */
  listLiveCommentsOfExpiredTasks(cutoff: string, limit: number): Promise<{ org_id: string; id: string }[]> {
    return this.exec.all(`${LIVE_COMMENTS_OF_EXPIRED_TASKS} ORDER BY c.org_id, c.id LIMIT ?`, [...cutoffParams(cutoff), limit]);
  }

  /**
   * Those of `ids` (comments listed by {@link listLiveCommentsOfExpiredTasks}, outside the transaction
   * that deletes them) that still qualify: live, of a task expired at `cutoff` or of none.
   */
  keepLiveCommentsOfExpiredTasks(ids: string[], cutoff: string): Promise<{ org_id: string; id: string }[]> {
    return inChunks(ids, IDS_PER_QUERY, (chunk, marks) => this.exec.all(`${LIVE_COMMENTS_OF_EXPIRED_TASKS} AND c.id IN (${marks})`, [...cutoffParams(cutoff), ...chunk]));
  }

  async listExpired(phase: PurgePhase, cutoff: string, limit: number): Promise<string[]> {
    const rows = await this.exec.all<{ id: string }>(phase.select, [...cutoffParams(cutoff), limit]);
    return rows.map((r) => r.id);
  }

  /**
   * Deletes the records that still qualify; returns those actually deleted (with the columns the
   * kind's `afterPurge` needs). On Postgres their rows are locked first, in id order, as a push locks the records it
   * writes: a multi-row DELETE locks them in whatever order its plan meets them, and deadlocked with
   * a push holding a lower id while it held a higher one (test/jobs/purge-lock-order.test.ts).
   */
  async deleteRecords(phase: PurgePhase, ids: string[], cutoff: string): Promise<PurgedRow[]> {
    const { table, afterPurge } = entityDef(phase.entity);
    const list = inList(ids);
    if (sqlOf(this.exec).rowLocks) await this.exec.all(`SELECT id FROM ${table} WHERE id IN (${list.sql}) ORDER BY id FOR UPDATE`, list.params);
    const returning = ["id", "org_id", ...(afterPurge?.returning ?? [])].join(", ");
    return this.exec.all(`DELETE FROM ${table} WHERE id IN (${list.sql}) AND ${phase.still} RETURNING ${returning}`, [...list.params, ...cutoffParams(cutoff)]);
  }

  /** Per organization, the highest change-feed position among these records. */
  async feedHorizons(entity: PurgePhase["entity"], ids: string[]): Promise<{ org_id: string; pos: number }[]> {
    const list = inList(ids);
    const rows = await this.exec.all<{ org_id: string; pos: number }>(
      `SELECT org_id, MAX(pos) AS pos FROM feed WHERE entity = ? AND entity_id IN (${list.sql}) GROUP BY org_id ORDER BY org_id`,
      [entity, ...list.params],
    );
    return rows.map((r) => ({ org_id: r.org_id, pos: Number(r.pos) }));
  }

  /** Deletes the rows of `table` about these records (ids are unique per entity kind, so both are matched). */
  async deleteDependents(table: "feed" | "history" | "conflicts", entity: PurgePhase["entity"], ids: string[]): Promise<number> {
    const list = inList(ids);
    return (await this.exec.run(`DELETE FROM ${table} WHERE entity = ? AND entity_id IN (${list.sql})`, [entity, ...list.params])).changes;
  }

  /** Raises `org_feed_state.purged_through` to `pos` (never lowers it): pull cursors below it answer 410. */
  async raiseHorizon(orgId: string, pos: number): Promise<void> {
    await this.exec.run(
      `INSERT INTO org_feed_state (org_id, seq, purged_through) VALUES (?, ?, ?)
       ON CONFLICT (org_id) DO UPDATE SET purged_through =
         CASE WHEN org_feed_state.purged_through < excluded.purged_through THEN excluded.purged_through ELSE org_feed_state.purged_through END`,
      [orgId, pos, pos],
    );
  }

  /** Deletes up to `limit` sync log rows created before `cutoff`; returns how many. */
  deleteSyncLogs(cutoff: string, limit: number): Promise<number> {
    return this.deleteOldest("sync_log", "created_at", cutoff, limit);
  }

  /**
   * Deletes up to `limit` job runs started before `cutoff`, oldest first, but never a job's latest
   * run (latest as in `JobRunsRepo.latest`: by `started_at`, then `id`), which health and
   * `taskmgr jobs list` show, nor a run without an end that started after `unfinishedCutoff` (it may
   * still be running: its end would update no row). Returns how many.
   */
  async deleteJobRuns(cutoff: string, unfinishedCutoff: string, limit: number): Promise<number> {
    const { changes } = await this.exec.run(
      `DELETE FROM job_runs WHERE id IN (
         SELECT r.id FROM job_runs r WHERE r.started_at < ? AND (r.finished_at IS NOT NULL OR r.started_at < ?) AND EXISTS (
           SELECT 1 FROM job_runs n WHERE n.job = r.job AND (n.started_at > r.started_at OR (n.started_at = r.started_at AND n.id > r.id)))
         ORDER BY r.started_at LIMIT ?)`,
      [cutoff, unfinishedCutoff, limit],
    );
    return changes;
  }

  /** Deletes up to `limit` metrics snapshots whose window ended before `cutoff`, oldest first; returns how many. */
  deleteMetricsSnapshots(cutoff: string, limit: number): Promise<number> {
    return this.deleteOldest("sync_metrics_snapshots", "window_end", cutoff, limit);
  }

  /**
   * Deletes up to `limit` refresh tokens that expired before `cutoff`, oldest first; returns how many.
   * Such a row can neither be exchanged nor end a session an access token still names.
   */
  async deleteExpiredRefreshTokens(cutoff: string, limit: number): Promise<number> {
    const { changes } = await this.exec.run(
      "DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT ?)",
      [cutoff, limit],
    );
    return changes;
  }

  /** Deletes up to `limit` rows of `table` (keyed by `id`) whose `column` is before `cutoff`, oldest first. */
  private async deleteOldest(table: "sync_log" | "sync_metrics_snapshots", column: "created_at" | "window_end", cutoff: string, limit: number): Promise<number> {
    const { changes } = await this.exec.run(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${column} < ? ORDER BY ${column} LIMIT ?)`, [cutoff, limit]);
    return changes;
  }

  /**
   * Deletes up to `limit` exactly-once rows (`sync_changes`) older than `cutoff`. A device that has
   * not retried a push within the tombstone retention must reset anyway. No index on `created_at`
   * (it would cost every pushed change an extra index write): the oldest rows come first in a scan.
   */
  async deleteSyncChanges(cutoff: string, limit: number): Promise<number> {
    const { changes } = await this.exec.run(
      "DELETE FROM sync_changes WHERE (device_id, change_id) IN (SELECT device_id, change_id FROM sync_changes WHERE created_at < ? LIMIT ?)",
      [cutoff, limit],
    );
    return changes;
  }
}
