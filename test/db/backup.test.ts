/**
 * `Database.backup` (src/db/sqlite-backup.ts): a consistent copy as of the last commit, taken without
 * waiting for a transaction in progress, written to a new file readable by its owner only; never over
 * an existing file. Postgres refuses (pg_dump's job).
 */
import { afterAll, expect, test } from "bun:test";
import { Database as BunSqlite } from "bun:sqlite";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackupService } from "../../src/backup/service";
import { migrate, migrationStatus } from "../../src/db/migrate";
import { readFeedState } from "../../src/records/feed";
import { openDatabase } from "../../src/db/open";
import type { Database } from "../../src/db/types";
import { forEachDialect } from "../support/db";

const dir = mkdtempSync(join(tmpdir(), "taskmgr-backup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const orgRow = (id: string) => [id, `Org ${id.slice(0, 8)}`, `org-${id}`, new Date().toISOString()];
const INSERT_ORG = "INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)";

forEachDialect("backup", ({ dialect, db }) => {
  if (dialect === "postgres") {
    test("Postgres refuses and names pg_dump; no file is written", async () => {
      const target = join(dir, "pg.db");
      await expect(db().backup(target)).rejects.toThrow(/pg_dump/);
      expect(existsSync(target)).toBe(false);
    });
    return;
  }

  test("a copy as of the last commit, taken while a transaction is in progress (not waiting for it), readable by its owner only", async () => {
    const committed = crypto.randomUUID();
    const pending = crypto.randomUUID();
    await db().run(INSERT_ORG, orgRow(committed));
    const release = Promise.withResolvers<void>();
    const inserted = Promise.withResolvers<void>();
    const writer = db().transaction(async (tx) => {
      await tx.run(INSERT_ORG, orgRow(pending));
      inserted.resolve();
      await release.promise;
    });
    await inserted.promise;
    const target = join(dir, "copy.db");
    await db().backup(target); // would never settle if it waited for the writer
    release.resolve();
    await writer;

    expect(statSync(target).mode & 0o777).toBe(0o600);
    const copy = openDatabase(`sqlite:${target}`, { readOnly: true });
    try {
      const ids = (await copy.all<{ id: string }>("SELECT id FROM organizations")).map((r) => r.id);
      expect(ids).toContain(committed);
      expect(ids).not.toContain(pending);
      expect((await copy.get<{ integrity_check: string }>("PRAGMA integrity_check"))?.integrity_check).toBe("ok");
      expect((await migrationStatus(copy)).every((m) => m.applied_at !== null)).toBe(true);
    } finally {
      await copy.close();
    }
    // Restored where the server opens it, it is an ordinary database again.
    const restored = openDatabase(`sqlite:${target}`);
    try {
      await restored.run(INSERT_ORG, orgRow(crypto.randomUUID()));
      expect((await restored.all("SELECT id FROM organizations")).length).toBeGreaterThanOrEqual(2);
    } finally {
      await restored.close();
    }
  });

  test("never over an existing file (left as it was), nor into a missing folder", async () => {
    const existing = join(dir, "taken.db");
    writeFileSync(existing, "not a database");
    await expect(db().backup(existing)).rejects.toThrow(/already exists/);
    expect(readFileSync(existing, "utf8")).toBe("not a database");
    const missing = join(dir, "no-such-folder", "x.db");
    await expect(db().backup(missing)).rejects.toThrow(/folder does not exist/);
    expect(existsSync(missing)).toBe(false);
  });

  test("the read connection is read-only again afterwards, and the database goes on taking writes", async () => {
    // A SELECT goes to the read connection: its own query_only setting.
    const readOnly = async () => (await db().get<{ query_only: number }>("SELECT query_only FROM pragma_query_only()"))?.query_only;
    expect(await readOnly()).toBe(1);
    await db().backup(join(dir, "again.db"));
    expect(await readOnly()).toBe(1);
    const before = (await db().get<{ n: number }>("SELECT count(*) AS n FROM organizations"))!.n;
    await db().run(INSERT_ORG, orgRow(crypto.randomUUID()));
    expect((await db().get<{ n: number }>("SELECT count(*) AS n FROM organizations"))!.n).toBe(before + 1);
  });
});

test("taskmgr backup's copy carries every feed moved on, in the file itself (no -wal beside it): a restore sends every device back to a snapshot", async () => {
  // The move is written to the copy after VACUUM INTO, through a connection whose close() must leave it
  // in the file: the copy's -wal is removed before it is published. Found by QA (a CLI restore test that
  // failed under load): close() left the -wal un-checkpointed while compiled statements kept the
  // connection open, and the published copy lacked the move, so cursors from before it went on.
  const source = openDatabase(`sqlite:${join(dir, "feeds.db")}`);
  try {
    await migrate(source);
    const org = crypto.randomUUID();
    await source.run(INSERT_ORG, orgRow(org));
    await source.run("INSERT INTO org_feed_state (org_id, seq, purged_through) VALUES (?, 5, 0)", [org]);
    const target = join(dir, "feeds-copy.db");
    await new BackupService({ db: source }).write(target);
    expect(existsSync(`${target}-wal`)).toBe(false);
    // The file as published, alone (copied, so that opening it cannot find anything beside it).
    const alone = join(dir, "feeds-alone.db");
    copyFileSync(target, alone);
    const copy = openDatabase(`sqlite:${alone}`);
    try {
      expect(await readFeedState(copy, org)).toEqual({ seq: 1_000_000_005, purgedThrough: 1_000_000_005 });
    } finally {
      await copy.close();
    }
  } finally {
    await source.close();
  }
});

test("close() leaves every commit in the file itself, the -wal checkpointed away", async () => {
  const path = join(dir, "closed.db");
  const db = openDatabase(`sqlite:${path}`);
  await migrate(db);
  const id = crypto.randomUUID();
  await db.run(INSERT_ORG, orgRow(id));
  expect((await db.get<{ id: string }>("SELECT id FROM organizations WHERE id = ?", [id]))?.id).toBe(id);
  await db.close();
  expect(existsSync(`${path}-wal`)).toBe(false);
});

test("sqlite::memory: is copied from its one connection, which still writes afterwards", async () => {
  const mem = openDatabase("sqlite::memory:");
  try {
    await mem.exec("CREATE TABLE t (a INTEGER)");
    await mem.run("INSERT INTO t VALUES (1)");
    const target = join(dir, "memory.db");
    await mem.backup(target);
    await mem.run("INSERT INTO t VALUES (2)");
    const copy = openDatabase(`sqlite:${target}`, { readOnly: true });
    expect(await copy.all("SELECT a FROM t")).toEqual([{ a: 1 }]);
    await copy.close();
  } finally {
    await mem.close();
  }
});

test("close() after a backup leaves no -wal either: the backup's own statements are finalized", async () => {
  const path = join(dir, "backed-up.db");
  const db = openDatabase(`sqlite:${path}`);
  await migrate(db);
  await db.run(INSERT_ORG, orgRow(crypto.randomUUID()));
  await new BackupService({ db }).write(join(dir, "backed-up-copy.db"));
  await db.close();
  expect(existsSync(`${path}-wal`)).toBe(false);
});

test("a copy whose feed move was left in its -wal (close() did not checkpoint it) is never published without it", async () => {
  // close() checkpoints the copy's -wal into the file only as the last connection to it, and says
  // nothing when it cannot (a statement left compiled did so before): the -wal, removed with the
  // temporary name, then took the feed move with it, and a restore of the published copy let every
  // device's old cursor go on. Here another connection holds the copy open while it is prepared.
  const source = openDatabase(`sqlite:${join(dir, "held.db")}`);
  let holder: BunSqlite | null = null;
  try {
    await migrate(source);
    const org = crypto.randomUUID();
    await source.run(INSERT_ORG, orgRow(org));
    await source.run("INSERT INTO org_feed_state (org_id, seq, purged_through) VALUES (?, 5, 0)", [org]);
    const held = {
      dialect: "sqlite",
      backup: async (partial: string) => {
        await source.backup(partial);
        holder = new BunSqlite(partial);
        holder.exec("PRAGMA journal_mode = WAL");
        holder.exec("BEGIN");
        holder.query("SELECT * FROM org_feed_state").all(); // a read transaction from before the move
      },
    } as unknown as Database;
    const target = join(dir, "held-copy.db");
    const outcome = await new BackupService({ db: held }).write(target).then(
      () => "written",
      (e: Error) => e.message,
    );
    if (outcome === "written") {
      const alone = join(dir, "held-alone.db");
      copyFileSync(target, alone);
      const copy = openDatabase(`sqlite:${alone}`);
      try {
        expect(await readFeedState(copy, org)).toEqual({ seq: 1_000_000_005, purgedThrough: 1_000_000_005 });
      } finally {
        await copy.close();
      }
    } else {
      expect(outcome).toContain(target);
      expect(existsSync(target)).toBe(false);
    }
  } finally {
    (holder as BunSqlite | null)?.close();
    await source.close();
  }
});
