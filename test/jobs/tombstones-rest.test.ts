import { beforeEach, expect, test } from "bun:test";
import { ManualClock } from "../support/clock";
import { createTestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { count, DAY, horizon, resetTables } from "./seed";

forEachDialect("cleanup-tombstones after REST writes", ({ db }) => {
  // The job works across organizations: what other tests left would count in its results.
  beforeEach(() => resetTables(db()));

  test("a task deleted through the API keeps its history until the retention passes; its comments are deleted then, and the task is purged with them a retention later", async () => {
    const clock = new ManualClock(new Date("2026-03-01T09:00:00.000Z"));
    const t = await createTestApp(db(), { clock });
    const me = await t.createUser({ role: "admin" });
    const task = (await t.request("POST", "/api/tasks", { token: me.token, body: { title: "short-lived" } })).body;
    const comment = (await t.request("POST", "/api/comments", { token: me.token, body: { task_id: task.id, body: "hi" } })).body;
    const keep = (await t.request("POST", "/api/tasks", { token: me.token, body: { title: "stays" } })).body;
    expect((await t.request("DELETE", `/api/tasks/${task.id}`, { token: me.token })).status).toBe(204);

    clock.advance(89 * DAY);
    let token = await t.tokenFor(me.user);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 0, tasks: 0 });
    expect(await db().get("SELECT deleted_at FROM comments WHERE id = ?", [comment.id])).toEqual({ deleted_at: null });

    clock.advance(2 * DAY);
    token = await t.tokenFor(me.user);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 1, tasks: 0, comments: 0 });
    expect(await db().get("SELECT deleted_by FROM comments WHERE id = ? AND deleted_at IS NOT NULL", [comment.id])).toEqual({ deleted_by: null });
    expect((await t.request("GET", `/api/tasks/${task.id}/history`, { token })).status).toBe(200);
    expect(await count(db(), "SELECT COUNT(*) AS n FROM history WHERE entity_id = ?", [comment.id])).toBe(2);
    const commentDeleted = await db().get<{ pos: number }>("SELECT pos FROM feed WHERE entity = 'comment' AND entity_id = ?", [comment.id]);

    clock.advance(91 * DAY);
    token = await t.tokenFor(me.user);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments_deleted: 0, tasks: 1, comments: 1 });
    expect((await t.request("GET", `/api/tasks/${task.id}/history`, { token })).status).toBe(404);
    expect((await t.request("GET", `/api/tasks/${keep.id}`, { token })).status).toBe(200);
    expect(await count(db(), "SELECT COUNT(*) AS n FROM history WHERE entity_id IN (?, ?)", [task.id, comment.id])).toBe(0);
    expect(await count(db(), "SELECT COUNT(*) AS n FROM comments WHERE id = ?", [comment.id])).toBe(0);
    expect(await horizon(db(), me.org.id)).toBe(Number(commentDeleted!.pos));
  });
});
