/**
 * A child record re-parented, or edited, while its parent is deleted concurrently — a task moved to
 * a project being deleted, a reply edited under a comment being deleted and then purged — in both
 * push orders. Neither side is lost unseen and nothing is rejected: a move that meets the deleted
 * project is kept in a Conflict; a move that came first stays (a delete never cascades).
 */
import { beforeEach, expect, test } from "bun:test";
import { createTestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";
import { DAY, resetTables } from "../jobs/seed";
import { taskData, twoDevices } from "./helpers";

forEachDialect("a child moved or edited while its parent is deleted", ({ db }) => {
  beforeEach(() => resetTables(db()));

  const setup = async () => {
    const clock = new ManualClock(new Date("2026-03-01T09:00:00.000Z"));
    const t = await createTestApp(db(), { clock, config: { tombstoneRetentionDays: 90 } });
    const { a, b, ua } = await twoDevices(t);
    const p1 = a.create("project", { name: "P1" });
    const p2 = a.create("project", { name: "P2" });
    const task = a.create("task", taskData({ title: "T", project_id: p1.entity_id }));
    await a.push(p1, p2, task);
    await a.pullAll();
    await b.pullAll();
    return { t, clock, a, b, ua, p1: p1.entity_id, p2: p2.entity_id, task: task.entity_id };
  };

  test("the project deleted first: the move is a conflict on project_id, the task stays where it was; resolving local is 422 while the project is deleted", async () => {
    const { t, a, b, p1, p2, task } = await setup();
    expect((await b.push1(b.delete("project", p2))).status).toBe("applied");
    const move = await a.push1(a.update("task", task, { project_id: p2, priority: "high" }));
    expect([move.status, move.record.project_id, move.record.priority, move.record.deleted_at]).toEqual(["conflict", p1, "high", null]);
    const conflict = (await t.request("GET", `/api/sync/conflicts/${move.conflict_id}`, { token: a.user.token })).body;
    expect([conflict.fields, conflict.local.project_id]).toEqual([["project_id"], p2]);
    const local = await t.request("POST", `/api/sync/conflicts/${move.conflict_id}/resolve`, { token: a.user.token, body: { resolution: "local" } });
    expect([local.status, local.body.error.code]).toEqual([422, "validation_failed"]);
    const remote = await t.request("POST", `/api/sync/conflicts/${move.conflict_id}/resolve`, { token: a.user.token, body: { resolution: "remote" } });
    expect([remote.status, remote.body.project_id]).toEqual([200, p1]);
  });

  test("the move first: applied; the project's delete is applied and leaves the task in it (no cascade), which every device pulls", async () => {
    const { t, a, b, p2, task } = await setup();
    expect((await a.push1(a.update("task", task, { project_id: p2 }))).status).toBe("applied");
    expect((await b.push1(b.delete("project", p2))).status).toBe("applied");
    expect((await t.request("GET", `/api/tasks/${task}`, { token: a.user.token })).body).toMatchObject({ project_id: p2, deleted_at: null });
    const bPulled = await b.pullAll();
    expect(bPulled.find((c) => c.entity_id === task)?.record.project_id).toBe(p2);
    const aPulled = await a.pullAll();
    expect(aPulled.map((c) => [c.entity_id, c.op])).toEqual([[p2, "delete"]]);
  });

  test("a reply whose parent was deleted and purged: its author's edits (sending task_id and parent_id back as read) still apply, by push and by PATCH", async () => {
    const { t, clock, a, b, ua, task } = await setup();
    const parent = a.create("comment", { task_id: task, body: "parent" });
    const reply = b.create("comment", { task_id: task, parent_id: parent.entity_id, body: "reply" });
    await a.push1(parent);
    expect((await b.push1(reply)).status).toBe("applied");
    expect((await a.push1(a.delete("comment", parent.entity_id))).status).toBe("applied");
    clock.advance(91 * DAY);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ comments: 1 });
    b.user.token = await t.tokenFor(b.user.user, b.id);
    a.user.token = await t.tokenFor(ua.user, a.id);

    const edit = await b.push1(b.update("comment", reply.entity_id, { task_id: task, parent_id: parent.entity_id, body: "reply, edited" }));
    expect([edit.status, edit.record.parent_id, edit.record.body]).toEqual(["applied", parent.entity_id, "reply, edited"]);
    const patch = await t.request("PATCH", `/api/comments/${reply.entity_id}`, { token: b.user.token, body: { parent_id: parent.entity_id, body: "again" } });
    expect([patch.status, patch.body.body]).toEqual([200, "again"]);
    // A new reply to the purged parent names a comment that no longer exists: refused, as documented.
    const late = await a.push1(a.create("comment", { task_id: task, parent_id: parent.entity_id, body: "late" }));
    expect([late.status, late.error?.code]).toEqual(["rejected", "validation_failed"]);
  });
});
