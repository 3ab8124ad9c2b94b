/** Multi-row statements (src/db/bulk.ts), SQLite's group commit and its checkpoint worker. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chunks, columns, deleteRows, inChunks, insertRows, rowsByKey, SQLITE_MAX_PARAMS, updateRowIfVersion, updateRowsIfVersion } from "../../src/db/bulk";
import { migrate } from "../../src/db/migrate";
import { SqliteDatabase } from "../../src/db/sqlite";
import type { Executor, SqlValue } from "../../src/db/types";
import { HISTORY_COLUMNS } from "../../src/records/history";
import { forEachDialect } from "../support/db";

describe("chunks", () => {
  test("cover every row once, in order, in power-of-two sizes within the parameter limit", () => {
    for (const [total, width, limit] of [
      [0, 3, SQLITE_MAX_PARAMS],
      [1, 3, SQLITE_MAX_PARAMS],
      [500, 12, SQLITE_MAX_PARAMS],
      [1000, 19, SQLITE_MAX_PARAMS],
      [777, 200, SQLITE_MAX_PARAMS],
      [5000, 7, 65_535],
    ]) {
      const out = chunks(total, width, limit);
      let next = 0;
      for (const [start, n] of out) {
        expect(start).toBe(next);
        expect(n & (n - 1)).toBe(0); // a power of two
        expect(n).toBeLessThanOrEqual(256);
        expect(n * width).toBeLessThanOrEqual(limit);
        next += n;
      }
      expect(next).toBe(total);
      expect(new Set(out.map(([, n]) => n)).size).toBeLessThanOrEqual(9);
    }
  });
});

describe("inChunks", () => {
  test("queries each distinct item once, in chunks of at most `size`, first position kept, and joins the answers in order", async () => {
    const calls: [string[], string][] = [];
    const rows = await inChunks(["a", "b", "a", "c", "d", "b", "e"], 2, async (chunk, marks) => {
      calls.push([chunk, marks]);
      return chunk.map((x) => x.toUpperCase());
    });
    expect(calls).toEqual([
      [["a", "b"], "?, ?"],
      [["c", "d"], "?, ?"],
      [["e"], "?"],
    ]);
    expect(rows).toEqual(["A", "B", "C", "D", "E"]);
  });

  test("de-duplicates by `key` when given; no query for no items", async () => {
    const seen: number[][] = [];
    await inChunks([{ n: 1 }, { n: 2 }, { n: 1 }], 10, async (chunk) => (seen.push(chunk.map((x) => x.n)), []), (x) => String(x.n));
    expect(seen).toEqual([[1, 2]]);
    let queried = false;
    expect(await inChunks([], 10, async () => ((queried = true), []))).toEqual([]);
    expect(queried).toBe(false);
  });
});

forEachDialect("multi-row statements", ({ db }) => {
  const cols = HISTORY_COLUMNS; // `rows` below gives values in its order
  // Values that need escaping in every format (JSON text, SQL literals): tabs, newlines, backslashes, quotes, NULL-looking text.
  const nasty = ['a\tb', "line\nbreak\r\n", "back\\slash \\N", 'q"uote\'s', "NULL", "\\.", "é ✓ 𝄞", "", "ctl\u0001\u001f \u2028 \u007f"];
  const rows = (n: number, tag: string): SqlValue[][] =>
    Array.from({ length: n }, (_, i) => [
      `org-${tag}`,
      crypto.randomUUID(),
      "task",
      crypto.randomUUID(),
      i + 1,
      "created",
      JSON.stringify({ title: { old: null, new: nasty[i % nasty.length] } }),
      nasty[(i + 3) % nasty.length].repeat(1 + (i % 5)),
      i % 3 === 0 ? null : `user-${i}`,
      null,
      "{}",
      "2026-01-01T00:00:00.000Z",
    ]);

  for (const n of [0, 1, 63, 64, 300, 700]) {
    test(`${n} rows go in and come back unchanged (nulls, escapes, numbers)`, async () => {
      const tag = `n${n}`;
      const input = rows(n, tag);
      expect(await insertRows(db(), "history", cols, input)).toBe(n);
      const back = await db().all<Record<string, unknown>>(`SELECT ${cols.names.join(", ")} FROM history WHERE org_id = ? ORDER BY version`, [`org-${tag}`]);
      expect(back.map((r) => cols.names.map((c) => (c === "version" ? Number(r[c]) : r[c])))).toEqual(input);
    });
  }

  test("an unpaired surrogate is stored as U+FFFD (what UTF-8 makes of it), not refused", async () => {
    const input = rows(3, "surrogate");
    input[1][7] = "lone \ud800 high, lone \udc00 low";
    input[2][7] = "\\ud800 is only text here";
    expect(await insertRows(db(), "history", cols, input)).toBe(3);
    const back = await db().all<{ snapshot: SqlValue }>("SELECT snapshot FROM history WHERE org_id = ? ORDER BY version", ["org-surrogate"]);
    expect(back.map((r) => r.snapshot)).toEqual([input[0][7], "lone \ufffd high, lone \ufffd low", "\\ud800 is only text here"]);
  });

  test("typed columns: NULL in every type, array-literal syntax in texts, long texts, integers, bigints and doubles come back unchanged", async () => {
    await db().exec("CREATE TABLE IF NOT EXISTS typed_rows (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, version INTEGER NOT NULL, t TEXT, i INTEGER, b BIGINT, d DOUBLE PRECISION)");
    const typed = columns([["id", "text"], ["org_id", "text"], ["version", "integer"], ["t", "text"], ["i", "integer"], ["b", "bigint"], ["d", "double"]]);
    const texts = [
      '{a,"b",c}', "{}", "{", "}", ",", '"', "\\", '\\"', "\\\\n is not a newline", "NULL", "null", "  padded  ", "", "emoji 😀 👩‍👩‍👧 flag 🇫🇷",
      "tab\tnew\nline", '{"json": ["a, b", null, "c\\"d"]}', '"\\'.repeat(50_000), "plain ".repeat(40_000),
    ];
    const numbers: [number | null, number | null, number | null][] = [
      [0, 0, 0], [-1, -1, -0.25], [2_147_483_647, 9_007_199_254_740_991, 1.5], [-2_147_483_648, -9_007_199_254_740_991, 1e-7],
      [null, null, null], [42, 2 ** 40, 1.7976931348623157e308], [7, null, -1e300],
    ];
    const input: SqlValue[][] = texts.map((t, k) => [crypto.randomUUID(), "org-typed", k, t, ...numbers[k % numbers.length]!]);
    input.push([crypto.randomUUID(), "org-typed", input.length, null, 1, 1, 1]);
    const read = async () =>
      (await db().all<Record<string, SqlValue>>("SELECT id, org_id, version, t, i, b, d FROM typed_rows WHERE org_id = ? ORDER BY version", ["org-typed"])).map((r) =>
        typed.names.map((c) => (r[c] === null || typeof r[c] === "string" ? r[c] : Number(r[c]))),
      );
    expect(await insertRows(db(), "typed_rows", typed, input)).toBe(input.length);
    expect(await read()).toEqual(input);
    // Only plain values: every column takes the JSON-text path on Postgres (above, most columns take the escaped one).
    const plain: SqlValue[][] = [[crypto.randomUUID(), "org-plain", 1, "plain, {braces} \"quoted\"", null, 5, 2.5]];
    expect(await insertRows(db(), "typed_rows", typed, plain)).toBe(1);
    const back = await db().get<Record<string, SqlValue>>("SELECT t, i, b, d FROM typed_rows WHERE org_id = ?", ["org-plain"]);
    expect([back!.t, back!.i, Number(back!.b), Number(back!.d)]).toEqual(["plain, {braces} \"quoted\"", null, 5, 2.5]);
    // The compare-and-set reads its rows the same way.
    const cas = columns([["id", "text"], ["version", "integer"], ["t", "text"], ["i", "integer"], ["b", "bigint"], ["d", "double"]]);
    const next = input.map((r, k): SqlValue[] => [r[0]!, k + 1, texts[(k + 1) % texts.length]!, ...numbers[(k + 3) % numbers.length]!]);
    expect(await updateRowsIfVersion(db(), "typed_rows", "org-typed", cas, next.map((values, k) => ({ values, expected: k, before: null })))).toBe(input.length);
    expect(await read()).toEqual(next.map((r) => [r[0]!, "org-typed", ...r.slice(1)]));
  });

  test("with ON CONFLICT DO NOTHING the answer counts only the rows inserted", async () => {
    const input = rows(300, "conflict");
    await insertRows(db(), "history", cols, input.slice(0, 100));
    expect(await insertRows(db(), "history", cols, input, "ON CONFLICT (entity_id, entity, version) DO NOTHING")).toBe(200);
    const n = await db().get<{ n: number }>("SELECT COUNT(*) AS n FROM history WHERE org_id = ?", ["org-conflict"]);
    expect(Number(n!.n)).toBe(300);
  });

  test("deleteRows deletes exactly the rows whose key is listed, in chunks (700 keys, integer part typed)", async () => {
    const input = rows(1000, "del");
    await insertRows(db(), "history", cols, input);
    const key = columns([["entity_id", "text"], ["entity", "text"], ["version", "integer"]]);
    const gone = input.filter((_, i) => i % 10 < 7).map((r) => [r[3], r[2], r[4]]);
    const missing = [[crypto.randomUUID(), "task", 1], [input[1][3], "task", 999]];
    expect(await deleteRows(db(), "history", key, [...gone, ...missing])).toBe(700);
    const left = await db().all<{ version: number }>("SELECT version FROM history WHERE org_id = ? ORDER BY version", ["org-del"]);
    expect(left.map((r) => Number(r.version))).toEqual(input.filter((_, i) => i % 10 >= 7).map((r) => r[4] as number));
    expect(await deleteRows(db(), "history", key, [])).toBe(0);
  });

  test("compare-and-set: each row is overwritten only while its version is the expected one, in its organization; unchanged columns are kept", async () => {
    await db().exec("CREATE TABLE IF NOT EXISTS cas_rows (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, version INTEGER NOT NULL, a TEXT, b INTEGER)");
    const cas = columns([["id", "text"], ["version", "integer"], ["a", "text"], ["b", "integer"]]);
    const ids = Array.from({ length: 4 }, () => crypto.randomUUID());
    await insertRows(db(), "cas_rows", columns([["org_id", "text"], ...cas.names.map((n, i) => [n, cas.types[i]!] as const)]), [
      ["org-cas", ids[0]!, 1, "a0", 0],
      ["org-cas", ids[1]!, 1, "a1", 1],
      ["org-cas", ids[2]!, 3, "a2", 2],
      ["org-other", ids[3]!, 1, "a3", 3],
    ]);
    const updated = await updateRowsIfVersion(db(), "cas_rows", "org-cas", cas, [
      { values: [ids[1]!, 2, "a1", 11], expected: 1, before: [ids[1]!, 1, "a1", 1] }, // only b and version change
      { values: [ids[0]!, 2, "A0", 0], expected: 1, before: null },
      { values: [ids[2]!, 3, "lost", 22], expected: 2, before: null }, // stale: stored at version 3
      { values: [ids[3]!, 2, "theirs", 33], expected: 1, before: null }, // another organization's
    ]);
    expect(updated).toBe(2);
    const rowsNow = await db().all<{ id: string; version: number; a: string; b: number }>("SELECT id, version, a, b FROM cas_rows");
    const byId = new Map(rowsNow.map((r) => [r.id, [Number(r.version), r.a, Number(r.b)]]));
    expect(ids.map((id) => byId.get(id))).toEqual([[2, "A0", 0], [2, "a1", 11], [3, "a2", 2], [1, "a3", 3]]);
    expect(await updateRowIfVersion(db(), "cas_rows", "org-cas", cas, { values: [ids[0]!, 3, "again", 0], expected: 2, before: null })).toBe(true);
    expect(await updateRowIfVersion(db(), "cas_rows", "org-cas", cas, { values: [ids[0]!, 3, "late", 0], expected: 2, before: null })).toBe(false);
    expect(await updateRowsIfVersion(db(), "cas_rows", "org-cas", cas, [])).toBe(0);
    expect((await db().get<{ a: string }>("SELECT a FROM cas_rows WHERE id = ?", [ids[0]!]))!.a).toBe("again");
  });

  test("rowsByKey: each row of a listed key once, within the other conditions; locked rows alike; no query for no keys", async () => {
    await db().exec("CREATE TABLE IF NOT EXISTS keyed_rows (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, v INTEGER NOT NULL)");
    await db().exec("CREATE INDEX IF NOT EXISTS keyed_rows_org ON keyed_rows (org_id, v)");
    const keyed = columns([["id", "text"], ["org_id", "text"], ["v", "integer"]]);
    const ids = Array.from({ length: 2000 }, () => crypto.randomUUID());
    await insertRows(db(), "keyed_rows", keyed, ids.map((id, i) => [id, i % 100 === 0 ? "org-b" : "org-a", i]));
    const wanted = [...ids.slice(0, 700), ids[3]!, crypto.randomUUID(), ids[5]!];
    const expected = ids.slice(0, 700).flatMap((id, i) => (i % 100 === 0 ? [] : [[id, i]]));
    const lookup = { columns: "id, v", table: "keyed_rows", key: "id", where: "org_id = ?", params: ["org-a"] };
    const read = async (exec: Executor, forUpdate: boolean) =>
      (await rowsByKey<{ id: string; v: number }>(exec, wanted, { ...lookup, forUpdate })).map((r) => [r.id, Number(r.v)]).sort((a, b) => Number(a[1]) - Number(b[1]));
    expect(await read(db(), false)).toEqual(expected);
    expect(await db().transaction((tx) => read(tx, true))).toEqual(expected);
    let queried = false;
    const spy = { ...db(), dialect: db().dialect, all: async () => ((queried = true), []) } as unknown as Executor;
    expect(await rowsByKey(spy, [], lookup)).toEqual([]);
    expect(queried).toBe(false);
  });

  test("rowsByKey on Postgres: one index probe per key, never the other conditions' index, even without statistics", async () => {
    if (db().dialect !== "postgres") return;
    let statement: [string, SqlValue[]] | null = null;
    const spy = { dialect: "postgres", all: async (sql: string, params: SqlValue[]) => ((statement = [sql, params]), []) } as unknown as Executor;
    const ids = (await db().all<{ id: string }>("SELECT id FROM keyed_rows WHERE org_id = ? LIMIT 500", ["org-a"])).map((r) => r.id);
    await rowsByKey(spy, ids, { columns: "id, v", table: "keyed_rows", key: "id", where: "org_id = ?", params: ["org-a"], forUpdate: true });
    const [sql, params] = statement!;
    const plan = (await db().all<Record<string, string>>(`EXPLAIN ${sql}`, params)).map((r) => Object.values(r)[0]).join("\n");
    expect(plan).toContain("Index Scan using keyed_rows_pkey");
    expect(plan).not.toContain("keyed_rows_org");
    expect(plan).not.toContain("Seq Scan on keyed_rows");
  });

  test("inside a transaction the rows roll back with it", async () => {
    await expect(
      db().transaction(async (tx) => {
        await insertRows(tx, "history", cols, rows(200, "rolled"));
        throw new Error("undo");
      }),
    ).rejects.toThrow("undo");
    expect(await db().get("SELECT id FROM history WHERE org_id = ?", ["org-rolled"])).toBeUndefined();
  });
});

describe("SQLite group commit", () => {
  const org = (id: string) => [id, id, id, "2026-01-01T00:00:00.000Z"];
  const insertOrg = "INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)";

  test("transactions queued together each commit or fail on their own, and are answered after the commit", async () => {
    const db = new SqliteDatabase(":memory:");
    await migrate(db);
    const after: string[] = [];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.run(insertOrg, org(`g${i}`));
          tx.afterCommit(() => after.push(`g${i}`));
          tx.enqueue(async (exec, ids: string[]) => {
            for (const id of ids) await exec.run("UPDATE organizations SET name = ? WHERE id = ?", [`${id}!`, id]);
          }, `g${i}`);
          if (i % 7 === 3) throw new Error(`member ${i} fails`);
          if (i === 12) await tx.run(insertOrg, org("g0")); // a constraint violation in the middle of the group
          return i;
        }),
      ),
    );
    const failed = [3, 10, 12, 17, 24];
    outcomes.forEach((o, i) => expect(o.status).toBe(failed.includes(i) ? "rejected" : "fulfilled"));
    const rows = await db.all<{ id: string; name: string }>("SELECT id, name FROM organizations WHERE id LIKE 'g%'");
    const expected = Array.from({ length: 30 }, (_, i) => `g${i}`).filter((_, i) => !failed.includes(i));
    expect(rows.map((r) => r.id).sort()).toEqual([...expected].sort());
    for (const r of rows) expect(r.name).toBe(`${r.id}!`); // each member's flusher ran with its own items
    expect(after.sort()).toEqual([...expected].sort());
    await db.close();
  });

  test("transactions asked for by separate callbacks of one event-loop turn (requests read together) share one COMMIT", async () => {
    const db = new SqliteDatabase(":memory:");
    await migrate(db);
    const before = { ...db.groups };
    const done = await Promise.all(
      Array.from({ length: 5 }, (_, i) => new Promise<number>((resolve, reject) => setImmediate(() => db.transaction(async (tx) => {
        await tx.run(insertOrg, org(`turn${i}`));
        return i;
      }).then(resolve, reject)))),
    );
    expect(done).toEqual([0, 1, 2, 3, 4]);
    expect({ committed: db.groups.committed - before.committed, transactions: db.groups.transactions - before.transactions }).toEqual({ committed: 1, transactions: 5 });
    // One on its own still commits (alone) without waiting for company.
    expect(await db.transaction(async (tx) => (await tx.run(insertOrg, org("alone"))).changes)).toBe(1);
    expect(db.groups.committed - before.committed).toBe(2);
    // Asked for just before close, more than one group holds: they still run and commit, then the database closes.
    const last = Array.from({ length: 100 }, (_, i) => db.transaction(async (tx) => (await tx.run(insertOrg, org(`last${i}`))).changes));
    await db.close();
    expect(await Promise.all(last)).toEqual(Array(100).fill(1));
  });

  test("a checkpoint worker copies committed pages into the database file; close stops it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "taskmgr-ckpt-"));
    const path = join(dir, "c.db");
    const db = new SqliteDatabase(path);
    try {
      expect(db.checkpointer).not.toBeNull();
      await migrate(db);
      await db.checkpointer!.checkpointNow();
      const before = statSync(path).size;
      await db.transaction(async (tx) => {
        for (let i = 0; i < 200; i++) await tx.run(insertOrg, [`c${i}`, "x".repeat(4000), `c${i}`, "2026-01-01T00:00:00.000Z"]);
      });
      await db.checkpointer!.checkpointNow();
      expect(db.checkpointer!.stats.lastError).toBeNull();
      expect(db.checkpointer!.stats.checkpoints).toBeGreaterThanOrEqual(2);
      expect(statSync(path).size).toBeGreaterThan(before + 200 * 4000);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
