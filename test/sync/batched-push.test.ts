/**
 * The batched push path (src/sync/push/): a batch is decided in memory and stored with multi-row
 * statements — a handful of statements per batch, not several per change — and falls back to
 * change-by-change savepoints when a row cannot be stored as decided.
 */
import { beforeAll, expect, test } from "bun:test";
import type { Tx } from "../../src/db/types";
import { MAX_PUSH_MERGE_WORK, MAX_TEXT_MERGE_WORK } from "../../src/sync/text-merge";
import { PushBatch } from "../../src/sync/push/batch";
import { createTestApp, type TestApp } from "../support/app";
import { count, forEachDialect } from "../support/db";
import { cheapMerge, costlyMerges, Device, taskData, twoDevices } from "./helpers";

/** `tx` with every statement counted (savepoints counted as their statements, flushers' rows not: they run on the database's own handle). */
function counting(tx: Tx, counter: { n: number }): Tx {
  const wrap = (inner: Tx): Tx => ({
    dialect: inner.dialect,
    all: (sql, params) => (counter.n++, inner.all(sql, params)),
    get: (sql, params) => (counter.n++, inner.get(sql, params)),
    run: (sql, params) => (counter.n++, inner.run(sql, params)),
    rawRows: (sql, params) => (counter.n++, inner.rawRows(sql, params)),
    exec: (sql) => (counter.n++, inner.exec(sql)),
    savepoint: (fn) => ((counter.n += 2), inner.savepoint((sp) => fn(wrap(sp)))),
    enqueue: (flush, item) => inner.enqueue(flush, item),
    afterCommit: (fn) => inner.afterCommit(fn),
  });
  return wrap(tx);
}

forEachDialect("batched push", ({ db, dialect }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("a batch of 300 changes costs a bounded number of statements, whatever its size", async () => {
    const u = await t.createUser();
    const d = Device.of(t, u);
    const project = d.create("project", { name: "P" });
    const seeded = Array.from({ length: 100 }, (_, i) => d.create("task", taskData({ title: `t${i}`, project_id: project.entity_id, tags: ["a", "b"] })));
    await d.push(project, ...seeded);
    const changes = [
      ...Array.from({ length: 200 }, (_, i) => d.create("task", taskData({ title: `n${i}`, project_id: project.entity_id, tags: ["x", "y", "z"] }))),
      ...seeded.map((c) => d.update("task", c.entity_id, { status: "done" })),
    ];
    const counter = { n: 0 };
    const ctx = { orgId: u.org.id, userId: u.user.id, deviceId: d.id, admin: false, now: new Date() };
    const results = await db().transaction((tx) => new PushBatch(counting(tx, counter), ctx).run(changes));
    expect(results.map((r) => r.status)).toEqual(changes.map(() => "applied"));
    // Postgres: every kind of row is one or a few multi-row statements (round trips). SQLite has no
    // round trips: its compare-and-set UPDATEs stay one prepared statement per record (100 here).
    expect(counter.n).toBeLessThanOrEqual(dialect === "postgres" ? 20 : 20 + seeded.length);
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM tasks WHERE org_id = ?", [u.org.id])).toBe(300);
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM task_tags WHERE org_id = ?", [u.org.id])).toBe(200 * 3 + 100 * 2);
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM history WHERE org_id = ?", [u.org.id])).toBe(401);
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM sync_changes WHERE device_id = ?", [d.id])).toBe(401);
  });

  test("a create whose id another organization holds: the batch is redone change by change — the others applied, it rejected, nothing of it stored", async () => {
    const theirs = Device.of(t, await t.createUser());
    const taken = theirs.create("task", taskData({ title: "theirs" }));
    await theirs.push1(taken);

    const u = await t.createUser();
    const d = Device.of(t, u);
    const before = d.create("task", taskData({ title: "before", tags: ["t"] }));
    const clash = d.create("task", taskData({ title: "mine" }), taken.entity_id);
    const after = d.create("project", { name: "after" });
    const bad = d.create("task", { title: "" });
    const results = await d.push(before, clash, after, bad);
    expect(results.map((r) => r.status)).toEqual(["applied", "rejected", "applied", "rejected"]);
    expect(results[1].error?.code).toBe("already_exists");
    expect(results[3].error?.code).toBe("validation_failed");

    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM tasks WHERE org_id = ?", [u.org.id])).toBe(1);
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM projects WHERE org_id = ?", [u.org.id])).toBe(1);
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM history WHERE org_id = ?", [u.org.id])).toBe(2);
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM feed WHERE org_id = ?", [u.org.id])).toBe(2);
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM task_tags WHERE org_id = ?", [u.org.id])).toBe(1);
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM sync_changes WHERE device_id = ?", [d.id])).toBe(4);
    const row = await db().get<{ title: string; org_id: string }>("SELECT title, org_id FROM tasks WHERE id = ?", [taken.entity_id]);
    expect({ ...row }).toEqual({ title: "theirs", org_id: theirs.user.org.id });

    // Retried as a whole: every answer is the remembered one.
    const again = await d.push(before, clash, after, bad);
    expect(again.map((r) => r.status)).toEqual(["duplicate", "duplicate", "duplicate", "duplicate"]);
    expect(again[1].error?.code).toBe("already_exists");
  });

  test("the careful pass after a bulk one spends only what the bulk pass left of the push's merge budget", async () => {
    const theirs = Device.of(t, await t.createUser());
    const taken = theirs.create("task", taskData({ title: "theirs" }));
    await theirs.push1(taken);
    const { a, b } = await twoDevices(t);
    // More than half of the push's budget: room for the light merge after it, but not for the same work twice.
    const n = Math.floor(MAX_PUSH_MERGE_WORK / MAX_TEXT_MERGE_WORK / 2) + 1;

    const inBulk = await b.push(...(await costlyMerges(a, b, n)), await cheapMerge(a, b));
    expect(inBulk.map((r) => r.status)).toEqual([...Array(n).fill("conflict"), "merged"]);

    const clash = b.create("task", taskData({ title: "mine" }), taken.entity_id);
    const redone = await b.push(...(await costlyMerges(a, b, n)), clash, await cheapMerge(a, b));
    expect(redone.slice(0, n).every((r) => r.status === "conflict")).toBe(true);
    expect(redone[n].error?.code).toBe("already_exists");
    expect(redone[n + 1].status).toBe("conflict");
    expect(redone[n + 1].record).toMatchObject({ description: "ONE\ntwo\nthree" });
  });

  test("a merge whose base version was written earlier in the same batch merges against it (history is written at COMMIT)", async () => {
    const u = await t.createUser();
    const a = Device.of(t, u);
    const b = await Device.another(t, u);
    const c = a.create("task", taskData({ title: "T1", status: "todo", priority: "medium" }));
    await a.push1(c);
    const change = (clock: Record<string, number>, base: number, data: Record<string, unknown>) => ({
      change_id: crypto.randomUUID(), entity: "task", entity_id: c.entity_id, op: "update", data, base_version: base, vector_clock: clock,
    });
    const results = await b.push(
      change({ [a.id]: 1, [b.id]: 1 }, 1, { title: "T2" }), // AFTER → v2
      change({ [a.id]: 1, [b.id]: 2 }, 2, { status: "done" }), // AFTER → v3
      change({ [b.id]: 3 }, 2, { priority: "high" }), // CONCURRENT with v3, based on v2 (written by this batch)
    );
    expect(results.map((r) => [r.status, r.version])).toEqual([
      ["applied", 2],
      ["applied", 3],
      ["merged", 4],
    ]);
    expect(results[2].record).toMatchObject({ title: "T2", status: "done", priority: "high" });
  });
});
