import { beforeEach, expect, test } from "bun:test";
import { createTestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";
import { Device, taskData, twoDevices } from "../sync/helpers";
import { DAY, resetTables } from "./seed";

/** A comment left live on a deleted task: the purge of the task must not leave it on the devices that hold it. */
forEachDialect("cleanup-tombstones and the devices that pulled", ({ db, dialect }) => {
  // The job works across organizations: what other tests left would count in its results.
  beforeEach(() => resetTables(db()));

  const setup = async (retentionDays: number) => {
    const clock = new ManualClock(new Date("2026-03-01T09:00:00.000Z"));
    const t = await createTestApp(db(), { clock, config: { tombstoneRetentionDays: retentionDays, accessTokenTtlSeconds: 400 * 86400 } });
    const { a, b: observer } = await twoDevices(t);
    const task = a.create("task", taskData());
    const comment = a.create("comment", { task_id: task.entity_id, body: "still here" });
    await a.push(task, comment);
    await observer.pullAll();
    expect((await a.push1(a.delete("task", task.entity_id))).status).toBe("applied");
    expect((await observer.pullAll()).map((c) => [c.entity_id, c.op])).toEqual([[task.entity_id, "delete"]]);
    return { t, clock, observer, taskId: task.entity_id, commentId: comment.entity_id };
  };

  test("the task's live comment is deleted and the device pulls that delete; it is purged once its own tombstone expires", async () => {
    const { t, clock, observer, commentId } = await setup(90);
    clock.advance(91 * DAY);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 1, tasks: 0, comments: 0 });

    const pulled = await observer.pullAll();
    expect(pulled.map((c) => [c.entity, c.entity_id, c.op])).toEqual([["comment", commentId, "delete"]]);
    expect(pulled[0].record).toMatchObject({ id: commentId, deleted_by: null });
    expect(typeof pulled[0].record.deleted_at).toBe("string");
    const fresh = await Device.another(t, observer.user);
    expect((await fresh.pullAll()).map((c) => c.entity_id)).not.toContain(commentId);

    clock.advance(91 * DAY);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 0, comments: 1, tasks: 1 });
    expect(await observer.pullAll()).toEqual([]);
  });

  test("a comment stored deleted on an expired task (written offline meanwhile) keeps its task: brought back by its conflict's resolution, it is deleted again", async () => {
    const { t, clock, observer, taskId } = await setup(90);
    clock.advance(10 * DAY);
    const late = await observer.push1(observer.create("comment", { task_id: taskId, body: "written offline" }));
    expect(late.status).toBe("conflict");
    clock.advance(85 * DAY);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 1, tasks: 0 });
    const resolved = await t.request("POST", `/api/sync/conflicts/${late.conflict_id}/resolve`, { token: await t.tokenFor(observer.user.user), body: { resolution: "local" } });
    expect(resolved.status).toBe(200);
    expect(await t.deps.db.get("SELECT deleted_at FROM tasks WHERE id = ?", [taskId])).toMatchObject({ deleted_at: expect.any(String) });
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 1, tasks: 0 });
  });

  // Postgres only: on SQLite the job's transaction and the write cannot overlap (one writer).
  test.skipIf(dialect === "sqlite")("a write to the comment while the job deletes it: the job waits for it, then deletes the comment as it now is", async () => {
    const { t, clock, observer, commentId } = await setup(90);
    clock.advance(91 * DAY);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = t.deps.db.transaction(async (tx) => {
      await tx.run("UPDATE comments SET version = version + 1, body = 'edited meanwhile' WHERE id = ?", [commentId]);
      locked();
      await gate;
    });
    await isLocked;
    const job = t.services.jobs.run("cleanup-tombstones");
    await Bun.sleep(200);
    release();
    await holder;
    const run = await job;
    expect([run.ok, run.result?.comments_deleted]).toEqual([true, 1]);
    expect(await t.deps.db.get("SELECT body, version FROM comments WHERE id = ? AND deleted_at IS NOT NULL", [commentId])).toEqual({ body: "edited meanwhile", version: 3 });
    expect((await observer.pullAll()).map((c) => [c.entity_id, c.op])).toEqual([[commentId, "delete"]]);
  });

  test("TOMBSTONE_RETENTION_DAYS=0: the comment's delete is purged at once, so the device's cursor is behind the horizon: 410", async () => {
    const { t, observer } = await setup(0);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 1, tasks: 1, comments: 1 });
    const r = await observer.pullRaw();
    expect([r.status, (r.body as any).error?.code]).toEqual([410, "reset_required"]);
  });
});
