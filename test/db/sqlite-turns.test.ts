/**
 * A long SQLite transaction lets the event loop take turns (src/db/sqlite-turns.ts) and binds bounded
 * statements (`SQLITE_STATEMENT_CHARS`, src/db/bulk.ts): bun:sqlite runs each statement synchronously,
 * and a push of edits to records with long descriptions held the whole process — every other request
 * of every organization, reads included — for all of its seconds. Reads and timers now run between
 * its statements; its writes, answers and isolation are those of a transaction that never yields.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { columns, insertRows, runsOfChars, SQLITE_STATEMENT_CHARS } from "../../src/db/bulk";
import { migrate } from "../../src/db/migrate";
import { SqliteDatabase } from "../../src/db/sqlite";
import { SQLITE_TURN_MS } from "../../src/db/sqlite-turns";
import type { SqlValue, Tx } from "../../src/db/types";
import { Device, taskData } from "../sync/helpers";
import { createTestApp, type TestApp } from "../support/app";
import { type SeenStatement, spyOn } from "../support/spy";

describe("runsOfChars", () => {
  test("consecutive runs within the limit, a longer row alone, as few as the limit allows", () => {
    const rows: SqlValue[][] = [5, 5, 20, 1, 1, 1, 9, 0].map((n, i) => [i, "x".repeat(n), null]);
    expect(runsOfChars(rows, 10)).toEqual([[0, 2], [2, 3], [3, 6], [6, 8]]);
    expect(runsOfChars(rows, 1_000)).toEqual([[0, 8]]);
    expect(runsOfChars([], 10)).toEqual([]);
  });
});

describe("a long SQLite transaction", () => {
  let dir: string;
  let db: SqliteDatabase;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "taskmgr-turns-"));
    db = new SqliteDatabase(join(dir, "t.db"));
    await db.exec("CREATE TABLE t (n INTEGER, s TEXT)");
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("lets timers and reads run between its statements, which see only what was committed", async () => {
    await db.run("INSERT INTO t (n, s) VALUES (0, 'committed')");
    const seenInside: { timer: boolean; read: number | null }[] = [];
    let timerRan = false;
    let readDuring: number | null = null;
    const timer = setTimeout(() => {
      timerRan = true;
      void db.get<{ c: number }>("SELECT COUNT(*) AS c FROM t").then((r) => (readDuring = r!.c));
    }, 1);
    await db.transaction(async (tx) => {
      const t0 = performance.now();
      let n = 1;
      // Statements for several turns' worth of time, and some more after the read came back.
      while (performance.now() - t0 < 8 * SQLITE_TURN_MS || (readDuring === null && performance.now() - t0 < 10_000)) {
        await tx.run("INSERT INTO t (n, s) VALUES (?, 'in the transaction')", [n++]);
        await tx.get("SELECT COUNT(*) AS c FROM t");
      }
      seenInside.push({ timer: timerRan, read: readDuring });
    });
    clearTimeout(timer);
    expect(seenInside).toEqual([{ timer: true, read: 1 }]); // the read ran meanwhile, and saw the committed row only
    expect((await db.get<{ c: number }>("SELECT COUNT(*) AS c FROM t"))!.c).toBeGreaterThan(1);
  });

  test("multi-row statements bind a bounded number of characters", async () => {
    const cols = columns([["n", "integer"], ["s", "text"]]);
    const rows: [number, string][] = Array.from({ length: 40 }, (_, i) => [i, `${i}`.padEnd(100_000, "y")]);
    const seen: SeenStatement[] = [];
    await db.transaction(async (tx) => {
      expect(await insertRows(spyOn(tx, seen), "t", cols, rows)).toBe(40);
    });
    for (const s of seen) expect(s.params.reduce<number>((n, v) => n + (typeof v === "string" ? v.length : 0), 0)).toBeLessThanOrEqual(SQLITE_STATEMENT_CHARS.max);
    expect(seen.length).toBeGreaterThan(1);
    const stored = await db.all<{ n: number; s: string }>("SELECT n, s FROM t WHERE length(s) = 100000 ORDER BY n");
    expect(stored.map((r) => [r.n, r.s])).toEqual(rows);
  });
});

describe("a push of large records on SQLite", () => {
  let dir: string;
  let t: TestApp;
  /** While set, a transaction of the app goes on running statements, after its own, until it returns false (at most 10 s). */
  let holdWhile: (() => boolean) | null = null;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "taskmgr-turns-push-"));
    const db = new SqliteDatabase(join(dir, "t.db"));
    await migrate(db);
    // The database, except that a transaction can be kept open (writing nothing more) for as long as
    // a test needs: what decides is whether other requests are served meanwhile, not how fast it is.
    const held = new Proxy(db, {
      get(target, prop) {
        if (prop === "transaction") {
          return <T>(fn: (tx: Tx) => Promise<T>) =>
            target.transaction(async (tx) => {
              const result = await fn(tx);
              const t0 = performance.now();
              while (holdWhile?.() && performance.now() - t0 < 10_000) await tx.get("SELECT 1");
              return result;
            });
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    t = await createTestApp(held);
  });
  afterAll(async () => {
    await t.deps.db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("another organization's pull is answered while it is stored, and the push's answers are those of one transaction", async () => {
    const writer = await t.createUser();
    const d = Device.of(t, writer);
    const long = (i: number) => `${i} ${"一段很长的描述 \"quoted\" \\ ".repeat(4_000)}`;
    const creates = Array.from({ length: 60 }, (_, i) => d.create("task", taskData({ title: `task ${i}`, description: long(i) })));
    for (let i = 0; i < creates.length; i += 20) await d.push(...creates.slice(i, i + 20));
    const other = await t.createUser();
    const reader = Device.of(t, other);
    await reader.pullAll();

    const edits = creates.map((c) => d.update("task", c.entity_id, { priority: "urgent" }));
    let pushDone = false;
    let pulled: unknown[] | null = null;
    holdWhile = () => pulled === null; // the push's transaction stays open until the pull is answered
    const pushing = d.push(...edits).then((r) => ((pushDone = true), r));
    // Asked for once the push is under way (its commit group starts on the next turn).
    await new Promise((resolve) => setTimeout(resolve, 5));
    pulled = await reader.pullAll();
    const pulledWhilePushing = !pushDone;
    const results = await pushing;
    holdWhile = null;
    expect(pulled).toEqual([]);
    expect(pulledWhilePushing).toBe(true);
    expect(results.map((r) => [r.status, r.version, r.record.priority])).toEqual(edits.map(() => ["applied", 2, "urgent"]));
  });
});
