import { beforeEach, expect, test } from "bun:test";
import { createTestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";
import { Device, taskData, twoDevices } from "../sync/helpers";
import { DAY, resetTables } from "./seed";

/**
 * A tombstone written again long after its delete (an update of a deleted record is a `conflict`
 * merged into the tombstone, a resolution keeping it deleted is a new version): its feed row moves to
 * a recent position. Purged by the age of its `deleted_at`, it took with it that recent feed row —
 * every device that had not pulled since answered 410 — and the Conflict its push was just answered with.
 */
forEachDialect("cleanup-tombstones and a tombstone written again since its delete", ({ db }) => {
  beforeEach(() => resetTables(db()));

  const setup = async (withComment = false) => {
    const clock = new ManualClock(new Date("2026-03-01T09:00:00.000Z"));
    const t = await createTestApp(db(), { clock, config: { tombstoneRetentionDays: 90, accessTokenTtlSeconds: 400 * 86400 } });
    const { a, b: observer } = await twoDevices(t);
    const late = await Device.another(t, a.user, "offline for months");
    const task = a.create("task", taskData());
    await a.push(task);
    if (withComment) await a.push(a.create("comment", { task_id: task.entity_id, body: "on the task" }));
    await late.pullAll();
    expect((await a.push1(a.delete("task", task.entity_id))).status).toBe("applied");
    await observer.pullAll();
    clock.advance(95 * DAY);
    // The observer is up to date; then a device offline since before the delete edits the task.
    expect(await observer.pullAll()).toEqual([]);
    const edit = await late.push1(late.update("task", task.entity_id, { title: "edited offline" }));
    expect(edit.status).toBe("conflict");
    return { t, observer, taskId: task.entity_id, conflictId: edit.conflict_id! };
  };

  test("the nightly purge keeps it: a device that pulled a day ago pulls it instead of a 410, and its Conflict stays", async () => {
    const { t, observer, taskId, conflictId } = await setup();
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ tasks: 0 });

    const r = await observer.pullRaw();
    expect(r.status).toBe(200);
    expect(r.body.changes.map((c) => [c.entity_id, c.op])).toEqual([[taskId, "delete"]]);
    const conflict = await t.request("GET", `/api/sync/conflicts/${conflictId}`, { token: observer.user.token });
    expect(conflict.status).toBe(200);
  });

  test("the task's live comments are left as they are until the task itself expires", async () => {
    const { t, observer } = await setup(true);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 0, tasks: 0 });
    expect((await observer.pullAll()).map((c) => [c.entity, c.op])).toEqual([["task", "delete"]]);
  });
});
