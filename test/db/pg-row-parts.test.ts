/**
 * Postgres multi-row writes in parts (`pgRowParts`, src/db/bulk.ts): rows whose JSON would pass the
 * limit of one `jsonb` parameter go in several statements, in order. The limit is 32 M characters
 * (a `jsonb` value holds at most 256 MB; a push of small edits to many records with long descriptions
 * writes a whole record in each history and feed row: one statement refused it, and every retry of
 * that push alike). Here the limit is lowered so that small batches take the parted path: on Postgres
 * a push whose history, tags, feed and compare-and-set rows each go in several statements stores and
 * answers exactly what one statement does; on SQLite (which never parts) the same scenario is run.
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { PG_ROWS_JSON, pgRowParts, pgRowsParams } from "../../src/db/bulk";
import type { SqlValue } from "../../src/db/types";
import { Device, taskData } from "../sync/helpers";
import { createTestApp, type TestApp } from "../support/app";
import { count, forEachDialect } from "../support/db";

const DEFAULT_MAX = PG_ROWS_JSON.maxChars;
afterEach(() => {
  PG_ROWS_JSON.maxChars = DEFAULT_MAX;
});

describe("pgRowParts", () => {
  const rows: SqlValue[][] = Array.from({ length: 9 }, (_, i) => [i, "x".repeat(i * 3), null, i % 2 === 0 ? "\ud800 lone" : "é"]);

  test("rows that fit: one part, the very parameters of one statement", () => {
    expect(pgRowParts(rows)).toEqual([{ rows, params: pgRowsParams(rows) }]);
  });

  test("rows that do not: consecutive parts in order, each within the limit unless a row alone passes it, each its rows' own parameters", () => {
    for (const max of [1, 20, 40, 60, 100, 200]) {
      PG_ROWS_JSON.maxChars = max;
      const parts = pgRowParts(rows);
      expect(parts.flatMap((p) => p.rows)).toEqual(rows);
      for (const part of parts) {
        expect(part.params).toEqual(pgRowsParams(part.rows));
        if (part.rows.length > 1) expect(part.params[0].length).toBeLessThanOrEqual(max);
      }
      // As few parts as the limit allows: no two neighbours would fit together.
      for (let i = 1; i < parts.length; i++) expect(pgRowsParams([...parts[i - 1]!.rows, ...parts[i]!.rows])[0].length).toBeGreaterThan(max);
    }
    PG_ROWS_JSON.maxChars = 100;
    expect(pgRowParts(rows).length).toBeGreaterThan(2);
  });
});

forEachDialect("a push stored in parts", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("creates and edits of 40 tasks, each kind of row in many statements: every answer, row, history entry, tag and feed position as in one", async () => {
    const u = await t.createUser();
    const d = Device.of(t, u);
    const reader = await Device.another(t, u, "reader");
    await reader.pullAll();
    const long = (i: number) => `${i} ${"long description, ".repeat(30)}`;
    const creates = Array.from({ length: 40 }, (_, i) => d.create("task", taskData({ title: `task ${i}`, description: long(i), tags: ["a", `t${i}`] })));
    PG_ROWS_JSON.maxChars = 3_000; // a handful of rows a statement
    expect((await d.push(...creates)).map((r) => r.status)).toEqual(creates.map(() => "applied"));
    const edits = creates.map((c, i) => d.update("task", c.entity_id, { description: `${long(i)} edited`, priority: "high", tags: ["b"] }));
    expect((await d.push(...edits)).map((r) => r.status)).toEqual(edits.map(() => "applied"));
    PG_ROWS_JSON.maxChars = DEFAULT_MAX;

    const ids = creates.map((c) => c.entity_id);
    const pulled = await reader.pullAll();
    expect(pulled.map((c) => c.entity_id)).toEqual(ids); // one change each, in the order written
    for (const [i, c] of pulled.entries()) {
      expect(c.version).toBe(2);
      expect(c.record).toMatchObject({ description: `${long(i)} edited`, priority: "high", tags: ["b"] });
    }
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM history WHERE org_id = ?", [u.org.id])).toBe(80);
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM task_tags WHERE org_id = ?", [u.org.id])).toBe(40);
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM tasks WHERE org_id = ? AND version = 2", [u.org.id])).toBe(40);
    const positions = (await t.deps.db.all<{ pos: number | string }>("SELECT pos FROM feed WHERE org_id = ? ORDER BY pos", [u.org.id])).map((r) => Number(r.pos));
    expect(positions).toHaveLength(40);
    expect(new Set(positions).size).toBe(40);
    // A later write still takes the next position (the counter advanced by every part).
    const after = d.create("task", taskData({ title: "after" }));
    await d.push(after);
    const last = await t.deps.db.get<{ pos: number | string }>("SELECT pos FROM feed WHERE org_id = ? AND entity_id = ?", [u.org.id, after.entity_id]);
    expect(Number(last!.pos)).toBeGreaterThan(Math.max(...positions));
    expect((await reader.pullAll()).map((c) => c.entity_id)).toEqual([after.entity_id]);
  });
});
