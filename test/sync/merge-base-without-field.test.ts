/**
 * A merge's base read from a history snapshot written before one of the record's fields existed (a
 * field added by a later migration: nothing rewrites the stored snapshots) holds the field as the
 * migration gave the stored rows, its create default — not as missing. Missing, it differs from the
 * record's column value (null, or the default), so a push setting the field concurrently with
 * another device's edit of a different field would be a conflict although nobody else touched it.
 * Simulated on a field every snapshot has: `due_date` (default null) and `description` (default the empty text)
 * taken out of version 1's stored snapshot.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { taskData, twoDevices } from "./helpers";

forEachDialect("a merge base stored before a field existed", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("answers the field's default: a concurrent edit of it merges, as on a base that holds it", async () => {
    const { a, b } = await twoDevices(t);
    const c = a.create("task", taskData({ title: "T" }));
    b.learn(c.entity_id, (await a.push1(c)).record);
    const row = await db().get<{ snapshot: string }>("SELECT snapshot FROM history WHERE entity_id = ? AND version = 1", [c.entity_id]);
    const { due_date, description, ...older } = JSON.parse(row!.snapshot);
    expect([due_date, description]).toEqual([null, ""]);
    await db().run("UPDATE history SET snapshot = ? WHERE entity_id = ? AND version = 1", [JSON.stringify(older), c.entity_id]);

    expect((await a.push1(a.update("task", c.entity_id, { title: "T by A" }))).status).toBe("applied");
    const rb = await b.push1(b.update("task", c.entity_id, { due_date: "2026-05-01", description: "notes" }));
    expect([rb.status, rb.record]).toMatchObject(["merged", { title: "T by A", due_date: "2026-05-01", description: "notes", version: 3 }]);
  });
});
