/**
 * A history page reads an entry's snapshot only where its `changes` are derived from it (a create's):
 * a page of a task edited with a large description no longer reads and parses every version's whole
 * record besides its changes (docs/performance.md, "Large REST answers"). Shown by making the stored
 * snapshots of the updates unreadable: the page still answers them, and the create's changes.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

forEachDialect("history pages without snapshots", ({ db }) => {
  let t: TestApp;
  let me: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    me = await t.createUser();
  });

  test("a page answers the updates' changes without their snapshots, and a create's changes from its snapshot", async () => {
    const task = (await t.request("POST", "/api/tasks", { token: me.token, body: { title: "first", description: "d1" } })).body;
    for (const title of ["second", "third"]) expect((await t.request("PATCH", `/api/tasks/${task.id}`, { token: me.token, body: { title } })).status).toBe(200);
    const before = await t.request("GET", `/api/tasks/${task.id}/history`, { token: me.token });
    expect(before.status).toBe(200);
    await db().run("UPDATE history SET snapshot = ? WHERE entity_id = ? AND version > 1", ["not a record", task.id]);
    const after = await t.request("GET", `/api/tasks/${task.id}/history`, { token: me.token });
    expect(after.status).toBe(200);
    expect(after.body).toEqual(before.body);
    expect(after.body.results.map((e: { changes: Record<string, unknown> }) => e.changes.title)).toEqual([
      { old: null, new: "first" },
      { old: "first", new: "second" },
      { old: "second", new: "third" },
    ]);
    expect(after.body.results[0].changes.description).toEqual({ old: null, new: "d1" });
  });
});
