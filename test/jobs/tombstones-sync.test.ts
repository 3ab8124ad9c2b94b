import { expect, test } from "bun:test";
import { createTestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";
import { Device, taskData, twoDevices } from "../sync/helpers";
import { DAY } from "./seed";

/** A comment left live on a deleted task: the purge of the task must not leave it on the devices that hold it. */
forEachDialect("cleanup-tombstones and the devices that pulled", ({ db }) => {
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
    return { t, clock, observer, commentId: comment.entity_id };
  };

  test("the task's live comment is deleted and the device pulls that delete; it is purged once its own tombstone expires", async () => {
    const { t, clock, observer, commentId } = await setup(90);
    clock.advance(91 * DAY);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 1, tasks: 1, comments: 0 });

    const pulled = await observer.pullAll();
    expect(pulled.map((c) => [c.entity, c.entity_id, c.op])).toEqual([["comment", commentId, "delete"]]);
    expect(pulled[0].record).toMatchObject({ id: commentId, deleted_by: null });
    expect(pulled[0].record.deleted_at).not.toBeNull();
    const fresh = await Device.another(t, observer.user);
    expect((await fresh.pullAll()).map((c) => c.entity_id)).not.toContain(commentId);

    clock.advance(91 * DAY);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 0, comments: 1 });
    expect(await observer.pullAll()).toEqual([]);
  });

  test("TOMBSTONE_RETENTION_DAYS=0: the comment's delete is purged at once, so the device's cursor is behind the horizon: 410", async () => {
    const { t, observer } = await setup(0);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 1, tasks: 1, comments: 1 });
    const r = await observer.pullRaw();
    expect([r.status, (r.body as any).error?.code]).toEqual([410, "reset_required"]);
  });
});
