/**
 * Found by failure-injection QA: with another process holding the SQLite file's write lock (a
 * `sqlite3` shell's `BEGIN IMMEDIATE`, a long CLI command), the writer connection waited for it inside
 * bun:sqlite (`busy_timeout`), which blocks: the whole event loop stopped, health checks, reads and pulls
 * of every client included, for up to 5 s per write. The wait must leave the event loop free: reads
 * (their own connection, WAL) answer while a write waits, and the write then goes through — or, held
 * past SQLITE_BUSY_TIMEOUT_MS, fails busy as before (503 over HTTP).
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectionLostError, isDatabaseBusy } from "../../src/db/errors";
import { SQLITE_BUSY_TIMEOUT_MS, SqliteDatabase } from "../../src/db/sqlite";

setDefaultTimeout(30_000);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A database file with a table `t`, closed again. */
async function newFile(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "taskmgr-busy-wait-"));
  dirs.push(dir);
  const path = join(dir, "t.db");
  const db = new SqliteDatabase(path);
  await db.exec("CREATE TABLE t (x TEXT)");
  await db.close();
  return path;
}

/** Another process that takes the file's write lock, inserts `holder`, and commits after `holdMs` (null: holds it until killed). */
async function holdWriteLock(path: string, holdMs: number | null) {
  const holder = Bun.spawn(
    [
      process.execPath,
      "-e",
      `const { Database } = require("bun:sqlite"); const db = new Database(${JSON.stringify(path)});
       db.exec("BEGIN IMMEDIATE"); db.exec("INSERT INTO t VALUES ('holder')"); console.log("locked");
       ${holdMs === null ? "setInterval(() => {}, 1000);" : `setTimeout(() => { db.exec("COMMIT"); db.close(); }, ${holdMs});`}`,
    ],
    { stdout: "pipe" },
  );
  const line = await holder.stdout.getReader().read();
  expect(new TextDecoder().decode(line.value)).toContain("locked");
  return holder;
}

/** How long `p` takes to settle, in ms from `start`. */
const settledAt = (p: Promise<unknown>, start: number): Promise<number> =>
  p.then(
    () => performance.now() - start,
    () => performance.now() - start,
  );

const count = (db: SqliteDatabase) => db.get<{ n: number }>("SELECT COUNT(*) AS n FROM t").then((r) => r?.n);

/** Writes that take the write lock, each answering what it saw: the holder's row is there, so it ran after the holder's COMMIT. */
const WRITES: Record<string, (db: SqliteDatabase) => Promise<unknown>> = {
  "a transaction": (db) =>
    db.transaction(async (t) => {
      await t.run("INSERT INTO t VALUES ('tx')");
      return (await t.get<{ n: number }>("SELECT COUNT(*) AS n FROM t WHERE x = 'holder'"))?.n;
    }),
  "a write outside transactions": async (db) => {
    await db.run("INSERT INTO t SELECT 'run' WHERE EXISTS (SELECT 1 FROM t WHERE x = 'holder')");
    return (await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM t WHERE x = 'run'"))?.n;
  },
  "a script": async (db) => {
    await db.exec("INSERT INTO t VALUES ('script'); INSERT INTO t SELECT 'script 2' WHERE EXISTS (SELECT 1 FROM t WHERE x = 'holder')");
    return (await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM t WHERE x = 'script 2'"))?.n;
  },
};

test.each(Object.keys(WRITES))("while another process holds the write lock, %s waits for it with reads answering, then goes through", async (kind) => {
  const path = await newFile();
  const db = new SqliteDatabase(path);
  const holder = await holdWriteLock(path, 1500);
  try {
    const start = performance.now();
    const write = WRITES[kind](db);
    await Bun.sleep(50);
    const before = await count(db);
    // Generous bound: the lock is held for 1.5 s, a blocked event loop answers after it.
    expect(performance.now() - start).toBeLessThan(500);
    expect(before).toBe(0);
    expect(await write).toBe(1);
  } finally {
    holder.kill();
    await holder.exited;
    await db.close();
  }
});

test("a write lock held past the busy timeout: the transaction and the write fail busy after it, as before, and reads answered meanwhile", async () => {
  const path = await newFile();
  const db = new SqliteDatabase(path);
  const holder = await holdWriteLock(path, null);
  try {
    const start = performance.now();
    const tx = db.transaction(async (t) => t.run("INSERT INTO t VALUES ('tx')"));
    const write = db.run("INSERT INTO t VALUES ('run')");
    const txSettled = settledAt(tx, start);
    const writeSettled = settledAt(write, start);
    await Bun.sleep(50);
    const before = await count(db);
    expect(performance.now() - start).toBeLessThan(500);
    expect(before).toBe(0);
    const txError = await tx.then(() => null, (err: unknown) => err);
    const writeError = await write.then(() => null, (err: unknown) => err);
    for (const err of [txError, writeError]) {
      expect(isDatabaseBusy(err)).toBe(true);
      expect((err as Error).message).toBe("database is locked");
    }
    // At least the full wait each, as busy_timeout waited (less a margin for timers' granularity).
    expect(await txSettled).toBeGreaterThan(SQLITE_BUSY_TIMEOUT_MS - 100);
    expect(await writeSettled).toBeGreaterThan(SQLITE_BUSY_TIMEOUT_MS - 100);
  } finally {
    holder.kill();
    await holder.exited;
    await db.close();
  }
});

test.each(Object.keys(WRITES))("a -wal removed while %s waits for another process's lock: the write is refused once the lock is free, not acknowledged", async (kind) => {
  const path = await newFile();
  const db = new SqliteDatabase(path);
  const holder = await holdWriteLock(path, 600);
  try {
    const write = WRITES[kind](db).then(
      () => null,
      (err: unknown) => err,
    );
    await Bun.sleep(100);
    rmSync(`${path}-wal`);
    // The wait ended by the holder's COMMIT: what the write would commit goes to a -wal nobody opens again.
    expect(await write).toBeInstanceOf(ConnectionLostError);
  } finally {
    holder.kill();
    await holder.exited;
    await db.close();
  }
});
