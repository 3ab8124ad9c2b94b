/**
 * Postgres multi-row writes of large rows (`pgRowBatches`, src/db/bulk.ts): rows whose values average
 * `PG_ROWS_JSON.bindFromChars` characters of text or more (small edits of records with long
 * descriptions: each history and feed row holds the whole record) go as a `VALUES` list of bound
 * parameters instead of one `jsonb` parameter, which Postgres had to parse and take apart. What is
 * stored and answered must not depend on the way: a push is stored both ways here and compared.
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { PG_ROWS_JSON, pgRowBatches, pgRowParts, pgRowSource, type ColumnType } from "../../src/db/bulk";
import type { SqlValue } from "../../src/db/types";
import { flushFeed } from "../../src/records/feed";
import { flushHistory } from "../../src/records/history";
import { Device, taskData } from "../sync/helpers";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { type SeenStatement, spyOn } from "../support/spy";

const DEFAULTS = { ...PG_ROWS_JSON };
afterEach(() => {
  Object.assign(PG_ROWS_JSON, DEFAULTS);
});

describe("pgRowBatches", () => {
  const types: ColumnType[] = ["integer", "text", "text", "double"];
  const row = (i: number, chars: number): SqlValue[] => [i, `${i}:`.padEnd(chars, "x"), i % 2 === 0 ? null : "\ud800 lone", i / 4];

  test("rows of short values: the jsonb parts, unchanged", () => {
    const rows = Array.from({ length: 9 }, (_, i) => row(i, 20));
    const source = pgRowSource(types);
    expect(pgRowBatches(rows, types)).toEqual(pgRowParts(rows).map((p) => ({ rows: p.rows, source, params: p.params })));
  });

  test("rows of long values: bound parameters, in order, a power of two of rows a statement, within the character limit unless a row alone passes it", () => {
    const rows = Array.from({ length: 23 }, (_, i) => row(i, 5_000 + i * 300));
    for (const max of [1, 12_000, 40_000, 1_000_000]) {
      PG_ROWS_JSON.maxChars = max;
      const batches = pgRowBatches(rows, types);
      expect(batches.flatMap((b) => b.rows)).toEqual(rows);
      for (const b of batches) {
        expect(b.source).not.toContain("jsonb");
        expect(b.source.match(/\?/g)).toHaveLength(b.rows.length * types.length);
        expect(b.source).toStartWith("VALUES (CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION))");
        expect(Number.isInteger(Math.log2(b.rows.length))).toBe(true);
        // An unpaired surrogate goes in as U+FFFD, as the jsonb way stores it.
        expect(b.params).toEqual(b.rows.flat().map((v) => (typeof v === "string" ? v.toWellFormed() : v)));
        const chars = b.rows.flat().reduce<number>((n, v) => n + (typeof v === "string" ? v.length : 0), 0);
        if (b.rows.length > 1) expect(chars).toBeLessThanOrEqual(max);
      }
    }
  });
});

/** What a push left stored and answered, for the comparison of the two ways. */
async function pushAndRead(t: TestApp) {
  const u = await t.createUser();
  const d = Device.of(t, u);
  const reader = await Device.another(t, u, "reader");
  await reader.pullAll();
  const long = (i: number) => `${i} ${"long description ☃ \"quoted\" \\ \n".repeat(60)}${i % 3 === 0 ? "\ud800" : ""}`;
  const creates = Array.from({ length: 30 }, (_, i) => d.create("task", taskData({ title: `task ${i}`, description: long(i), tags: ["a", `t${i}`] })));
  const created = await d.push(...creates);
  const edits = creates.map((c, i) => d.update("task", c.entity_id, { priority: i % 2 ? "high" : "urgent", tags: ["b"] }));
  const edited = await d.push(...edits);
  const db = t.deps.db;
  const strip = (r: Record<string, unknown>) => ({ ...r, id: undefined, org_id: undefined, task_id: undefined, entity_id: undefined, created_at: undefined, updated_at: undefined, vector_clock: undefined, user_id: undefined, device_id: undefined, created_by: undefined });
  const orderOf = new Map(creates.map((c, i) => [c.entity_id, i]));
  const byTask = <R extends Record<string, unknown>>(rows: R[], key: string) => [...rows].sort((a, b) => orderOf.get(String(a[key]))! - orderOf.get(String(b[key]))! || String(a.version ?? a.tag).localeCompare(String(b.version ?? b.tag)));
  return {
    answers: [...created, ...edited].map((r) => ({ status: r.status, version: r.version, description: r.record?.description, priority: r.record?.priority })),
    pulled: (await reader.pullAll()).map((c) => ({ index: orderOf.get(c.entity_id), version: c.version, description: c.record.description, priority: c.record.priority, tags: c.record.tags })),
    tasks: byTask(await db.all<Record<string, unknown>>("SELECT * FROM tasks WHERE org_id = ?", [u.org.id]), "id").map((r) => strip(r)),
    history: byTask(await db.all<Record<string, unknown>>("SELECT entity_id, version, action, changes, snapshot FROM history WHERE org_id = ?", [u.org.id]), "entity_id").map((r) => ({
      ...strip(r),
      snapshot: strip(JSON.parse(String(r.snapshot))),
      changes: JSON.parse(String(r.changes)),
    })),
    tags: byTask(await db.all<Record<string, unknown>>("SELECT task_id, tag FROM task_tags WHERE org_id = ?", [u.org.id]), "task_id").map((r) => ({ index: orderOf.get(String(r.task_id)), tag: r.tag })),
  };
}

forEachDialect("a push of large rows stored as bound parameters", ({ db, dialect }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("creates and edits of 30 tasks: every answer, row, history entry, tag and feed position as through jsonb", async () => {
    PG_ROWS_JSON.bindFromChars = Number.MAX_SAFE_INTEGER; // the jsonb way for every statement
    const viaJson = await pushAndRead(t);
    PG_ROWS_JSON.bindFromChars = 1; // bound parameters for every statement…
    PG_ROWS_JSON.maxChars = 5_000; // …a few rows each
    const bound = await pushAndRead(t);
    expect(bound).toEqual(viaJson);
    expect(bound.answers.map((a) => a.status)).toEqual(bound.answers.map(() => "applied"));
    expect(bound.pulled).toHaveLength(30);
    expect(bound.pulled.map((c) => c.index)).toEqual([...Array(30).keys()]); // in the order written
    expect(bound.history).toHaveLength(60);
    expect(bound.pulled[0]!.description).toEndWith("\ufffd"); // the unpaired surrogate, as UTF-8 stores it
  });

  test.skipIf(dialect !== "postgres")("history and feed rows of records with long descriptions are bound, not parsed from jsonb", async () => {
    const u = await t.createUser();
    const description = "長い説明".repeat(2_000);
    const seen: SeenStatement[] = [];
    await t.deps.db.transaction(async (tx) => {
      const spy = spyOn(tx, seen);
      const ids = Array.from({ length: 3 }, () => crypto.randomUUID());
      const record = (id: string) => JSON.stringify({ id, title: "t", description, version: 1 });
      const entry = (id: string) => ({
        id: crypto.randomUUID(), entity: "task" as const, entityId: id, version: 1, action: "updated" as const, changes: {}, snapshot: {} as never,
        userId: null, deviceId: null, vectorClock: { server: 1 }, createdAt: new Date().toISOString(),
      });
      await flushHistory(spy, ids.map((id) => ({ orgId: u.org.id, entry: entry(id), snapshot: record(id), vectorClock: '{"server":1}' })));
      await flushFeed(spy, ids.map((id) => ({ orgId: u.org.id, entity: "task", entityId: id, op: "upsert", version: 1, originDevice: null, record: record(id), vectorClock: '{"server":1}' })));
      const statements = seen.filter((s) => /INSERT INTO (history|feed)/.test(s.sql));
      expect(statements.some((s) => s.sql.includes("INSERT INTO history"))).toBe(true);
      expect(statements.some((s) => s.sql.includes("INSERT INTO feed"))).toBe(true);
      for (const s of statements) expect(s.sql).not.toContain("jsonb");
      const stored = await tx.all<{ snapshot: string }>("SELECT snapshot FROM history WHERE org_id = ? ORDER BY entity_id", [u.org.id]);
      expect(stored.map((r) => r.snapshot)).toEqual([...ids].sort().map(record));
      throw new Error("rolled back");
    }).catch((err: Error) => expect(err.message).toBe("rolled back"));
  });
});
