import { beforeEach, expect, test } from "bun:test";
import { PURGE_PHASES, RetentionRepo } from "../../src/jobs/retention-repo";
import { ENTITY_KINDS } from "../../src/records/model";
import { forEachDialect } from "../support/db";
import { jobServices } from "./helpers";
import { count, DAY, horizon, iso, resetTables, seedConflict, seedOrg, seedRecord } from "./seed";

const NOW = Date.parse("2026-06-01T03:00:00.000Z");
const ago = (days: number) => iso(NOW - days * DAY);

forEachDialect("cleanup-tombstones", ({ db }) => {
  beforeEach(() => resetTables(db()));

  const exists = async (table: string, id: string) => (await count(db(), `SELECT COUNT(*) AS n FROM ${table} WHERE id = ?`, [id])) === 1;
  const feedRows = (id: string) => count(db(), "SELECT COUNT(*) AS n FROM feed WHERE entity_id = ?", [id]);
  const historyRows = (id: string) => count(db(), "SELECT COUNT(*) AS n FROM history WHERE entity_id = ?", [id]);

  test("purges expired tombstones with their feed rows, history and conflicts, and records the horizon", async () => {
    const a = await seedOrg(db());
    const b = await seedOrg(db());
    const p1 = await seedRecord(db(), "project", { org: a, pos: 4, deletedAt: ago(91) });
    const p2 = await seedRecord(db(), "project", { org: a, pos: 1 });
    const t1 = await seedRecord(db(), "task", { org: a, pos: 5, deletedAt: ago(100) });
    const c1 = await seedRecord(db(), "comment", { org: a, pos: 3, taskId: t1, deletedAt: ago(100) });
    const t2 = await seedRecord(db(), "task", { org: a, pos: 7, deletedAt: ago(10) });
    const t3 = await seedRecord(db(), "task", { org: a, pos: 8 });
    const c2 = await seedRecord(db(), "comment", { org: a, pos: 6, taskId: t3, deletedAt: ago(95) });
    const c3 = await seedRecord(db(), "comment", { org: a, pos: 9, taskId: t3 });
    const tb = await seedRecord(db(), "task", { org: b, pos: 2, deletedAt: ago(200) });
    const open = await seedConflict(db(), a, "task", t1);
    const resolved = await seedConflict(db(), a, "task", t1, true);
    const kept = await seedConflict(db(), a, "task", t3);

    const { services } = jobServices(db());
    const run = await services.jobs.run("cleanup-tombstones");

    expect(run.ok).toBe(true);
    expect(run.result).toMatchObject({ retention_days: 90, cutoff: ago(90), comments_deleted: 0, projects: 1, tasks: 2, comments: 2, conflicts: 2, organizations: 2 });
    expect(run.result!.feed_rows).toBe(5);
    expect(run.result!.history_rows).toBe(10);
    for (const [table, id] of [["projects", p1], ["tasks", t1], ["comments", c1], ["comments", c2], ["tasks", tb]] as const) {
      expect(await exists(table, id)).toBe(false);
      expect(await feedRows(id)).toBe(0);
      expect(await historyRows(id)).toBe(0);
    }
    for (const [table, id] of [["projects", p2], ["tasks", t2], ["tasks", t3], ["comments", c3]] as const) {
      expect(await exists(table, id)).toBe(true);
      expect(await feedRows(id)).toBe(1);
      expect(await historyRows(id)).toBe(2);
    }
    expect(await exists("conflicts", open)).toBe(false);
    expect(await exists("conflicts", resolved)).toBe(false);
    expect(await exists("conflicts", kept)).toBe(true);
    expect(await horizon(db(), a)).toBe(6);
    expect(await horizon(db(), b)).toBe(2);
  });

  test("a live comment of an expired task is deleted as the newest change; the task waits for every comment of its own to be purged", async () => {
    const a = await seedOrg(db());
    const t1 = await seedRecord(db(), "task", { org: a, pos: 5, deletedAt: ago(100) });
    const c1 = await seedRecord(db(), "comment", { org: a, pos: 3, taskId: t1 });
    const recentTombstone = await seedRecord(db(), "comment", { org: a, pos: 6, taskId: t1, deletedAt: ago(30) });
    const open = await seedConflict(db(), a, "task", t1);
    const { services, clock } = jobServices(db());

    // One transaction deleted the comment (counted in batches); nothing was purged (no other batch).
    expect((await services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 1, tasks: 0, comments: 0, conflicts: 0, batches: 1 });
    const c1Row = await db().get<{ deleted_at: string | null; deleted_by: string | null; version: number }>("SELECT deleted_at, deleted_by, version FROM comments WHERE id = ?", [c1]);
    expect(c1Row).toMatchObject({ deleted_at: iso(NOW), deleted_by: null, version: 3 });
    const c1Feed = await db().all<{ op: string; pos: number }>("SELECT op, pos FROM feed WHERE entity = 'comment' AND entity_id = ?", [c1]);
    expect(c1Feed.map((r) => [r.op, Number(r.pos)])).toEqual([["delete", 7]]);
    expect(await historyRows(c1)).toBe(3);
    expect([await exists("tasks", t1), await exists("conflicts", open)]).toEqual([true, true]);
    expect(await horizon(db(), a)).toBe(0);

    // 61 days on, the older tombstone has expired but not the job's own: the task still waits.
    clock.advance(61 * DAY);
    expect((await services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 0, tasks: 0, comments: 1 });
    expect(await exists("comments", recentTombstone)).toBe(false);
    expect(await exists("tasks", t1)).toBe(true);

    clock.advance(30 * DAY);
    expect((await services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 0, tasks: 1, comments: 1, conflicts: 1 });
    for (const [table, id] of [["tasks", t1], ["comments", c1], ["conflicts", open]] as const) expect(await exists(table, id)).toBe(false);
    expect(await horizon(db(), a)).toBe(7);
  });

  test("a live comment whose task is gone altogether (a write racing a purge) is deleted too", async () => {
    const a = await seedOrg(db());
    const orphan = await seedRecord(db(), "comment", { org: a, pos: 1, taskId: crypto.randomUUID() });
    const { services } = jobServices(db());
    expect((await services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 1 });
    expect(await db().get("SELECT deleted_at FROM comments WHERE id = ?", [orphan])).toEqual({ deleted_at: iso(NOW) });
  });

  test("a task listed for purging keeps its row when a comment on it arrives before the delete (a tombstone stored by a racing push)", async () => {
    const org = await seedOrg(db());
    const task = await seedRecord(db(), "task", { org, pos: 1, deletedAt: ago(100) });
    const repo = new RetentionRepo(db());
    const phase = PURGE_PHASES.find((p) => p.entity === "task")!;
    const ids = await repo.listExpired(phase, ago(90), 10);
    expect(ids).toEqual([task]);
    // Between the listing and the delete: a comment pushed on the deleted task, stored as a tombstone.
    await seedRecord(db(), "comment", { org, pos: 2, taskId: task, deletedAt: ago(0) });
    expect(await repo.deleteRecords(phase, ids, ago(90))).toEqual([]);
    expect(await exists("tasks", task)).toBe(true);
  });

  test("a purged task's tag rows go with it; a live task's rows with the same tags stay", async () => {
    const a = await seedOrg(db());
    const gone = await seedRecord(db(), "task", { org: a, pos: 1, deletedAt: ago(100), tags: ["home", "urgent"] });
    const recent = await seedRecord(db(), "task", { org: a, pos: 2, deletedAt: ago(10), tags: ["home"] });
    const live = await seedRecord(db(), "task", { org: a, pos: 3, tags: ["home", "urgent", "x"] });
    const tagsOf = async (id: string) =>
      (await db().all<{ tag: string }>("SELECT tag FROM task_tags WHERE org_id = ? AND task_id = ? ORDER BY tag", [a, id])).map((r) => r.tag);

    const run = await jobServices(db()).services.jobs.run("cleanup-tombstones");

    expect(run.result).toMatchObject({ tasks: 1 });
    expect(await tagsOf(gone)).toEqual([]);
    expect(await tagsOf(recent)).toEqual(["home"]);
    expect(await tagsOf(live)).toEqual(["home", "urgent", "x"]);
  });

  test("deletes exactly-once rows of pushes older than the retention, keeps newer ones", async () => {
    const a = await seedOrg(db());
    const put = (changeId: string, createdAt: string) =>
      db().run("INSERT INTO sync_changes (device_id, change_id, org_id, payload_hash, result, created_at) VALUES (?, ?, ?, ?, ?, ?)", [
        "dev-1",
        changeId,
        a,
        "h",
        "{}",
        createdAt,
      ]);
    await put("old-1", ago(120));
    await put("old-2", ago(91));
    await put("new-1", ago(89));
    const { services } = jobServices(db());
    const run = await services.jobs.run("cleanup-tombstones");
    expect(run.result!.sync_change_rows).toBe(2);
    const left = await db().all<{ change_id: string }>("SELECT change_id FROM sync_changes WHERE device_id = 'dev-1'");
    expect(left.map((r) => r.change_id)).toEqual(["new-1"]);
  });

  test("the horizon only moves forward and a second run finds nothing", async () => {
    const a = await seedOrg(db());
    await seedRecord(db(), "task", { org: a, pos: 3, deletedAt: ago(100) });
    await db().run("UPDATE org_feed_state SET purged_through = 10, seq = 20 WHERE org_id = ?", [a]);
    const { services } = jobServices(db());
    expect((await services.jobs.run("cleanup-tombstones")).result).toMatchObject({ tasks: 1 });
    expect(await horizon(db(), a)).toBe(10);
    expect((await services.jobs.run("cleanup-tombstones")).result).toMatchObject({ tasks: 0, projects: 0, comments: 0, batches: 0 });
  });

  test("TOMBSTONE_RETENTION_DAYS=0 purges every tombstone, even one deleted this instant", async () => {
    const a = await seedOrg(db());
    const now = await seedRecord(db(), "task", { org: a, pos: 11, deletedAt: iso(NOW) });
    const old = await seedRecord(db(), "comment", { org: a, pos: 4, taskId: now, deletedAt: ago(1) });
    const live = await seedRecord(db(), "task", { org: a, pos: 12 });
    const { services } = jobServices(db(), { config: { tombstoneRetentionDays: 0 } });
    const run = await services.jobs.run("cleanup-tombstones");
    expect(run.result).toMatchObject({ retention_days: 0, tasks: 1, comments: 1 });
    expect(await exists("tasks", now)).toBe(false);
    expect(await exists("comments", old)).toBe(false);
    expect(await exists("tasks", live)).toBe(true);
    expect(await horizon(db(), a)).toBe(11);
  });

  test("deletes in bounded batches, one transaction each", async () => {
    const a = await seedOrg(db());
    for (let i = 1; i <= 5; i++) await seedRecord(db(), "task", { org: a, pos: i, deletedAt: ago(100 + i) });
    const { services } = jobServices(db(), { jobs: { batchSize: 2 } });
    const run = await services.jobs.run("cleanup-tombstones");
    expect(run.result).toMatchObject({ tasks: 5, batches: 3 });
    expect(await count(db(), "SELECT COUNT(*) AS n FROM tasks WHERE org_id = ?", [a])).toBe(0);
    expect(await horizon(db(), a)).toBe(5);
  });

  test("live comments of expired tasks are deleted in bounded batches too, every one of them in one run", async () => {
    const a = await seedOrg(db());
    const task = await seedRecord(db(), "task", { org: a, pos: 1, deletedAt: ago(100) });
    const comments: string[] = [];
    for (let i = 0; i < 5; i++) comments.push(await seedRecord(db(), "comment", { org: a, pos: 2 + i, taskId: task }));
    const { services } = jobServices(db(), { jobs: { batchSize: 2 } });
    const run = await services.jobs.run("cleanup-tombstones");
    expect(run.result).toMatchObject({ comments_deleted: 5, tasks: 0, batches: 3 });
    expect(await count(db(), "SELECT COUNT(*) AS n FROM comments WHERE org_id = ? AND deleted_at IS NULL", [a])).toBe(0);
  });

  test("ids are unique per entity kind: purging a comment leaves a live task with the same id alone", async () => {
    const a = await seedOrg(db());
    const shared = crypto.randomUUID();
    const task = await seedRecord(db(), "task", { org: a, id: shared, pos: 2 });
    await seedRecord(db(), "comment", { org: a, id: shared, pos: 1, taskId: task, deletedAt: ago(100) });
    await seedConflict(db(), a, "task", shared);
    const { services } = jobServices(db());
    expect((await services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments: 1, tasks: 0, feed_rows: 1, history_rows: 2, conflicts: 0 });
    expect(await exists("tasks", shared)).toBe(true);
    expect(await count(db(), "SELECT COUNT(*) AS n FROM feed WHERE entity = 'task' AND entity_id = ?", [shared])).toBe(1);
    expect(await count(db(), "SELECT COUNT(*) AS n FROM history WHERE entity = 'task' AND entity_id = ?", [shared])).toBe(2);
    expect(await count(db(), "SELECT COUNT(*) AS n FROM conflicts WHERE entity_id = ?", [shared])).toBe(1);
  });
});

test("every entity kind's tombstones have a purge phase", () => {
  expect(PURGE_PHASES.map((p) => p.entity).sort()).toEqual([...ENTITY_KINDS].sort());
});
