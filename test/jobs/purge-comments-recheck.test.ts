/**
 * The tombstone purge lists the live comments of expired tasks (and of no task) outside its write
 * transaction — a read of every live comment — and keeps, inside it, only those that still qualify
 * (src/jobs/cleanup-tombstones.ts): a comment deleted meanwhile, or whose task was brought back or
 * is not yet expired, is left alone.
 */
import { expect, test } from "bun:test";
import { RetentionRepo } from "../../src/jobs/retention-repo";
import { createTestDatabase, DIALECTS } from "../support/db";

const OLD = "2026-01-01T00:00:00.000Z";
const CUTOFF = "2026-02-01T00:00:00.000Z";
const RECENT = "2026-03-01T00:00:00.000Z";

for (const dialect of DIALECTS) {
  test(`keeps only the listed comments that still qualify [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect);
    try {
      await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [OLD]);
      const task = (id: string, deletedAt: string | null) =>
        db.run(
          `INSERT INTO tasks (id, org_id, title, status, priority, priority_rank, created_by, version, vector_clock, created_at, updated_at, deleted_at)
           VALUES (?, 'o', 't', 'todo', 'low', 1, 'u', 1, '{}', ?, ?, ?)`,
          [id, OLD, OLD, deletedAt],
        );
      const comment = (id: string, taskId: string, deletedAt: string | null) =>
        db.run(
          `INSERT INTO comments (id, org_id, task_id, body, author_id, version, vector_clock, created_at, updated_at, deleted_at)
           VALUES (?, 'o', ?, 'hi', 'u', 1, '{}', ?, ?, ?)`,
          [id, taskId, OLD, OLD, deletedAt],
        );
      await task("expired", OLD);
      await task("live", null);
      await task("recent", RECENT);
      await comment("c-expired", "expired", null);
      await comment("c-orphan", "gone", null);
      await comment("c-live-task", "live", null);
      await comment("c-recent-task", "recent", null);
      await comment("c-deleted", "expired", OLD);
      const repo = new RetentionRepo(db);
      const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();
      expect(ids(await repo.listLiveCommentsOfExpiredTasks(CUTOFF, 100))).toEqual(["c-expired", "c-orphan"]);
      const all = ["c-expired", "c-orphan", "c-live-task", "c-recent-task", "c-deleted", "c-unknown"];
      expect(ids(await repo.keepLiveCommentsOfExpiredTasks(all, CUTOFF))).toEqual(["c-expired", "c-orphan"]);
      // Between the listing and the transaction: the task brought back, the orphan deleted.
      await db.run("UPDATE tasks SET deleted_at = NULL WHERE id = 'expired'");
      await db.run("UPDATE comments SET deleted_at = ? WHERE id = 'c-orphan'", [RECENT]);
      expect(await repo.keepLiveCommentsOfExpiredTasks(["c-expired", "c-orphan"], CUTOFF)).toEqual([]);
    } finally {
      await drop();
    }
  });
}
