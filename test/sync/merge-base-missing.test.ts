/**
 * sync-notes.md, "Merging": when the base is gone, treat every field both sides touched as a
 * conflict rather than guessing. The retention never deletes a live record's history (only a purged
 * tombstone's, after which an update is `not_found`: test/sync/long-offline.test.ts), so a base
 * version missing from history is a damaged or hand-pruned database: simulated here by deleting the
 * history row. A text edit pushed against it is a conflict, kept whole; a field it sends as the server
 * holds it is no conflict.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { taskData, twoDevices } from "./helpers";

forEachDialect("a merge whose base version is missing from history", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("a concurrent text edit against a missing base: conflict on the fields that differ, the server's text kept, nothing rejected", async () => {
    const { a, b } = await twoDevices(t);
    const made = a.create("task", taskData({ title: "Buy milk", description: "one\ntwo\nthree", priority: "low" }));
    b.learn(made.entity_id, (await a.push1(made)).record);
    await a.push1(a.update("task", made.entity_id, { description: "ONE\ntwo\nthree" }));
    await t.deps.db.run("DELETE FROM history WHERE entity = 'task' AND entity_id = ? AND version = 1", [made.entity_id]);

    const r = await b.push1(b.update("task", made.entity_id, { description: "one\ntwo\nTHREE", priority: "low" }));
    expect([r.status, r.record.description, r.record.priority]).toEqual(["conflict", "ONE\ntwo\nthree", "low"]);
    const c = (await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: b.user.token })).body;
    expect([c.fields, c.base, c.local.description]).toEqual([["description"], {}, "one\ntwo\nTHREE"]);
  });
});
