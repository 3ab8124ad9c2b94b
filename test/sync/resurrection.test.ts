/**
 * sync-notes.md, "Deletes and resets": never silently resurrect. Every way a device (or a REST
 * client) might bring a deleted record back without a conflict resolution: each is refused or
 * answered `stale`/`conflict`, and the record stays deleted — in REST, in pulls, in snapshots.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData, twoDevices } from "./helpers";

forEachDialect("no resurrection of a deleted record", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  /** A task made by `a`, deleted by `b` (which knew it); `a` pulled the tombstone. */
  async function deleted() {
    const { a, b } = await twoDevices(t);
    const c = a.create("task", taskData({ title: "T" }));
    const made = await a.push1(c);
    b.learn(c.entity_id, made.record);
    await a.pullAll();
    const del = await b.push1(b.delete("task", c.entity_id));
    expect(del.status).toBe("applied");
    await a.pullAll();
    expect(a.known.get(c.entity_id)!.record.deleted_at).toEqual(expect.any(String));
    return { a, b, id: c.entity_id, create: c, tombstone: del.record };
  }

  async function expectStillDeleted(a: Device, id: string, version: number) {
    expect((await t.request("GET", `/api/tasks/${id}`, { token: a.user.token })).status).toBe(404);
    const row = await t.deps.db.get<{ version: number; deleted_at: string | null }>("SELECT version, deleted_at FROM tasks WHERE id = ?", [id]);
    expect(row!.deleted_at).not.toBeNull();
    expect(Number(row!.version)).toBe(version);
    const reader = await Device.another(t, a.user, "fresh");
    expect((await reader.pullAll()).map((c) => c.entity_id)).not.toContain(id);
  }

  test("an update setting deleted_at to null is rejected (read-only field), nothing written", async () => {
    const { a, id, tombstone } = await deleted();
    const r = await a.push1(a.update("task", id, { deleted_at: null }));
    expect([r.status, r.error?.code, Object.keys(r.error?.details?.fields ?? {})]).toEqual(["rejected", "validation_failed", ["deleted_at"]]);
    await expectStillDeleted(a, id, tombstone.version);
  });

  test("a create of the tombstone's id: with a clock after the tombstone's it is rejected already_exists; the original create re-sent anew is stale", async () => {
    const { a, id, create, tombstone } = await deleted();
    const again = await a.push1({ ...a.create("task", taskData({ title: "T again" }), id), vector_clock: { ...tombstone.vector_clock, [a.id]: 5 } });
    expect([again.status, again.error?.code]).toEqual(["rejected", "already_exists"]);
    const resent = await a.push1({ ...create, change_id: crypto.randomUUID() });
    expect([resent.status, resent.record.deleted_at]).toEqual(["stale", tombstone.deleted_at]);
    await expectStillDeleted(a, id, tombstone.version);
  });

  test("an update AFTER the tombstone (by the device that saw it deleted) is a conflict; the record stays deleted until resolved", async () => {
    const { a, id, tombstone } = await deleted();
    const r = await a.push1(a.update("task", id, { title: "edited on a deleted copy" }));
    expect([r.status, r.record.deleted_at]).toEqual(["conflict", tombstone.deleted_at]);
    await expectStillDeleted(a, id, tombstone.version + 1);
  });

  test("over REST: PATCH and DELETE are 404; a create reusing the id is refused; the record stays deleted", async () => {
    const { a, id, tombstone } = await deleted();
    const token = a.user.token;
    expect((await t.request("PATCH", `/api/tasks/${id}`, { token, body: { title: "back?" } })).status).toBe(404);
    expect((await t.request("DELETE", `/api/tasks/${id}`, { token })).status).toBe(404);
    const post = await t.request("POST", "/api/tasks", { token, body: { id, title: "back?" } });
    expect(post.status).toBeGreaterThanOrEqual(400);
    expect(post.status).toBeLessThan(500);
    expect(post.body.error.code).toEqual(expect.any(String));
    await expectStillDeleted(a, id, tombstone.version);
  });

  test("a custom resolution carrying deleted_at is 422 and leaves the conflict open", async () => {
    const { a, b } = await twoDevices(t);
    const c = a.create("task", taskData({ title: "Buy milk" }));
    b.learn(c.entity_id, (await a.push1(c)).record);
    await a.push1(a.update("task", c.entity_id, { title: "Buy oat milk" }));
    const conflict = await b.push1(b.update("task", c.entity_id, { title: "Buy soy milk" }));
    expect(conflict.status).toBe("conflict");
    const r = await t.request("POST", `/api/sync/conflicts/${conflict.conflict_id}/resolve`, { token: b.user.token, body: { resolution: "custom", data: { title: "x", deleted_at: "2026-01-01T00:00:00.000Z" } } });
    expect([r.status, r.body.error.code]).toEqual([422, "validation_failed"]);
    expect((await t.request("GET", `/api/sync/conflicts/${conflict.conflict_id}`, { token: b.user.token })).body.resolved_at).toBeNull();
  });
});
