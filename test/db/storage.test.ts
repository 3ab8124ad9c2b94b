import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, MigrationFailedError, migrationStatus, NewerSchemaError } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { openDatabase } from "../../src/db/open";
import { rawBytes, rawNumber, rawText } from "../../src/db/raw";
import type { Database, Executor, RawValue, Tx } from "../../src/db/types";
import { createTestDatabase, DIALECTS, forEachDialect } from "../support/db";

/** True when every known migration is applied (and none unknown). */
async function isMigrated(db: Database): Promise<boolean> {
  const statuses = await migrationStatus(db);
  return statuses.length === MIGRATIONS.length && statuses.every((s) => s.applied_at !== null);
}

/** The storage contract suite: the same tests against every dialect. */
forEachDialect("storage contract", ({ db, dialect }) => {
  test("reports its dialect and has every migration applied", async () => {
    expect(db().dialect).toBe(dialect);
    expect(await isMigrated(db())).toBe(true);
    const status = await migrationStatus(db());
    expect(status.map((s) => s.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(db())).toEqual([]);
  });

  test("a database migrated by a newer taskmgr (a migration this build does not know): migrate refuses, status lists it", async () => {
    await db().run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [9999, "9999_future", "2030-01-01T00:00:00.000Z"]);
    try {
      await expect(migrate(db())).rejects.toThrow(new NewerSchemaError([9999]).message);
      expect(await isMigrated(db())).toBe(false);
      expect((await migrationStatus(db())).at(-1)).toEqual({ version: 9999, name: "9999_future (unknown to this version)", applied_at: "2030-01-01T00:00:00.000Z", checksum: null });
    } finally {
      await db().run("DELETE FROM schema_migrations WHERE version = ?", [9999]);
    }
    expect(await migrate(db())).toEqual([]);
  });

  test("a pending migration that fails is named in the error, and nothing of it (nor its tracking row) is applied", async () => {
    const failing = [...MIGRATIONS, { version: 9998, name: "9998_broken", sql: "CREATE TABLE broken_probe (id TEXT);\nSELECT * FROM no_such_table;" }];
    const err = await migrate(db(), failing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect((err as Error).message).toStartWith("migration 9998_broken failed, nothing of it applied: ");
    expect((err as Error).message).toContain("no_such_table");
    expect((await migrationStatus(db(), failing)).at(-1)).toMatchObject({ version: 9998, applied_at: null });
    await expect(db().all("SELECT * FROM broken_probe")).rejects.toThrow();
    expect(await migrate(db())).toEqual([]);
  });

  test("rawRows: the rows as arrays, read with the raw helpers to the same values as all; in a transaction too", async () => {
    const name = "Zoë 😀 \"quoted\"";
    await db().run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", ["raw-1", name, "raw-one", "2026-01-01T00:00:00.000Z"]);
    const sql = "SELECT name, CAST(LENGTH(slug) AS BIGINT) AS n, NULL AS absent FROM organizations WHERE id = ?";
    const check = (rows: RawValue[][]) => {
      expect(rows).toHaveLength(1);
      const [text, n, nothing] = rows[0]!;
      expect([rawText(text), rawNumber(n), rawText(nothing), rawBytes(nothing), rawNumber(nothing, 0)]).toEqual([name, 7, null, null, 0]);
      expect(new TextDecoder().decode(rawBytes(text)!)).toBe(name);
    };
    check(await db().rawRows(sql, ["raw-1"]));
    await db().transaction(async (tx) => check(await tx.rawRows(sql, ["raw-1"])));
    // Postgres sends every value as the bytes of its text; SQLite gives a BLOB as bytes.
    const blob = dialect === "sqlite" ? "CAST(name AS BLOB)" : "name";
    const [[bytes]] = (await db().rawRows(`SELECT ${blob} FROM organizations WHERE id = ?`, ["raw-1"])) as [[RawValue]];
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(rawText(bytes)).toBe(name);
    await db().run("DELETE FROM organizations WHERE id = ?", ["raw-1"]);
  });

  test("a committed transaction is visible; an error thrown inside leaves nothing behind", async () => {
    await db().transaction(async (tx) => {
      await tx.run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", ["o1", "One", "one", "2026-01-01T00:00:00.000Z"]);
    });
    await expect(
      db().transaction(async (tx) => {
        await tx.run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", ["o2", "Two", "two", "2026-01-01T00:00:00.000Z"]);
        await tx.run("UPDATE organizations SET name = ? WHERE id = ?", ["Changed", "o1"]);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    // Only this test's rows: the table holds other tests' too (it passed only when run first: found with `bun test --randomize`).
    const rows = await db().all<{ id: string; name: string }>("SELECT id, name FROM organizations WHERE id IN (?, ?) ORDER BY id", ["o1", "o2"]);
    expect(rows.map((r) => ({ ...r }))).toEqual([{ id: "o1", name: "One" }]);
  });

  test("a constraint violation inside a transaction rolls back its earlier writes", async () => {
    await expect(
      db().transaction(async (tx) => {
        await tx.run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", ["o3", "Three", "three", "x"]);
        // Its own duplicate slug: the earlier test's "one" was not there when this test ran first, and the transaction committed.
        await tx.run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", ["o4", "Dup", "three", "x"]);
      }),
    ).rejects.toThrow();
    expect(await db().get("SELECT id FROM organizations WHERE id = ?", ["o3"])).toBeUndefined();
  });

  test("a savepoint rolls back only its own writes and queued items", async () => {
    const flushed: string[] = [];
    const flush = async (_: Executor, items: string[]) => {
      flushed.push(...items);
    };
    const after: string[] = [];
    await db().transaction(async (tx) => {
      tx.enqueue(flush, "kept");
      await tx.savepoint(async (sp) => {
        await sp.run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", ["s1", "S1", "s1", "x"]);
      });
      await expect(
        tx.savepoint(async (sp) => {
          sp.enqueue(flush, "dropped");
          sp.afterCommit(() => after.push("dropped"));
          await sp.run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", ["s2", "S2", "s2", "x"]);
          throw new Error("undo s2");
        }),
      ).rejects.toThrow("undo s2");
      tx.afterCommit(() => after.push("kept"));
    });
    expect(flushed).toEqual(["kept"]);
    expect(after).toEqual(["kept"]);
    const ids = (await db().all<{ id: string }>("SELECT id FROM organizations WHERE id IN ('s1', 's2')")).map((r) => r.id);
    expect(ids).toEqual(["s1"]);
  });

  test("flushers run inside the transaction, before commit", async () => {
    await expect(
      db().transaction(async (tx) => {
        tx.enqueue(async (exec, ids: string[]) => {
          for (const id of ids) await exec.run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", [id, id, id, "x"]);
          throw new Error("flush failed");
        }, "f1");
      }),
    ).rejects.toThrow("flush failed");
    expect(await db().get("SELECT id FROM organizations WHERE id = 'f1'")).toBeUndefined();
  });

  test("a transaction's object refuses statements once its transaction has ended, committed or rolled back", async () => {
    const INSERT = "INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)";
    let committed!: Tx;
    await db().transaction(async (tx) => {
      committed = tx;
    });
    let rolledBack!: Tx;
    await expect(
      db().transaction(async (tx) => {
        rolledBack = tx;
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    // A late statement must not join whatever transaction the connection runs next.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let running!: () => void;
    const started = new Promise<void>((resolve) => (running = resolve));
    const next = db().transaction(async (tx) => {
      await tx.run(INSERT, ["late-next", "n", "late-next", "x"]);
      running();
      await held;
    });
    await started;
    try {
      for (const tx of [committed, rolledBack]) {
        await expect(tx.run(INSERT, ["late1", "l", "late1", "x"])).rejects.toThrow("already ended");
        await expect(tx.get("SELECT 1 AS one")).rejects.toThrow("already ended");
        await expect(tx.exec("SELECT 1")).rejects.toThrow("already ended");
        await expect(tx.savepoint(async () => 1)).rejects.toThrow("already ended");
        expect(() => tx.enqueue(async () => {}, 1)).toThrow("already ended");
        expect(() => tx.afterCommit(() => {})).toThrow("already ended");
      }
    } finally {
      release();
      await next;
    }
    const ids = (await db().all<{ id: string }>("SELECT id FROM organizations WHERE id LIKE 'late%' ORDER BY id")).map((r) => r.id);
    expect(ids).toEqual(["late-next"]);
  });

  test("a read outside transactions sees the last committed state, never an open transaction's writes", async () => {
    let inside!: () => void;
    const reached = new Promise<void>((resolve) => (inside = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const tx = db().transaction(async (t) => {
      await t.run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", ["rd1", "Rd", "rd-1", "x"]);
      inside();
      await gate;
    });
    await reached;
    expect(await db().get("SELECT id FROM organizations WHERE id = 'rd1'")).toBeUndefined();
    expect(await db().all("SELECT id FROM organizations WHERE id = 'rd1'")).toEqual([]);
    release();
    await tx;
    expect(await db().get<{ id: string }>("SELECT id FROM organizations WHERE id = 'rd1'")).toEqual({ id: "rd1" });
    // A write answered through all/get (RETURNING) outside a transaction goes to the connection that writes.
    expect(await db().get<{ id: string }>("UPDATE organizations SET name = 'Rd2' WHERE id = 'rd1' RETURNING id")).toEqual({ id: "rd1" });
    expect(await db().get<{ name: string }>("SELECT name FROM organizations WHERE id = 'rd1'")).toEqual({ name: "Rd2" });
  });

  test("two connections writing at once both commit, with no lost update", async () => {
    // SQLite: the second connection is another process (bun:sqlite blocks its thread while it waits
    // for the write lock, so two connections in one thread would wait on each other).
    const dir = dialect === "sqlite" ? mkdtempSync(join(tmpdir(), "taskmgr-two-")) : null;
    const url = dir ? `sqlite:${join(dir, "two.db")}` : (db() as unknown as { label: string }).label;
    const a = dir ? openDatabase(url) : db();
    if (dir) await migrate(a);
    await a.run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", ["two", "Two", "two-conn", "x"]);
    await a.run("INSERT INTO org_feed_state (org_id, seq) VALUES (?, 0)", ["two"]);
    const writer = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures", "writer.ts"), url, "p", "25"], { stderr: "pipe" });
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        a.transaction(async (tx) => {
          await tx.run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", [`c${i}`, `C${i}`, `c${i}`, "x"]);
          await tx.run("UPDATE org_feed_state SET seq = seq + 1 WHERE org_id = ?", ["two"]);
        }),
      ),
    );
    expect(await writer.exited).toBe(0);
    const n = await a.get<{ n: number }>("SELECT COUNT(*) AS n FROM organizations WHERE id LIKE 'c%' OR id LIKE 'p%'");
    const seq = await a.get<{ seq: number }>("SELECT seq FROM org_feed_state WHERE org_id = ?", ["two"]);
    expect(Number(n!.n)).toBe(50);
    expect(Number(seq!.seq)).toBe(50);
    if (dir) {
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("migrations apply once even when two instances migrate at the same moment", async () => {
  for (const dialect of DIALECTS) {
    if (dialect === "sqlite") continue;
    const { url, drop, db } = await createTestDatabase(dialect, { migrate: false });
    const other = openDatabase(url);
    const [a, b] = await Promise.all([migrate(db), migrate(other)]);
    expect(a.length + b.length).toBe(MIGRATIONS.length);
    expect(await isMigrated(db)).toBe(true);
    await other.close();
    await drop();
  }
});
