/**
 * Opening the SQLite database while another process holds an exclusive lock on it for a moment (a
 * database in rollback-journal mode being written, as a restored backup may be; the last connection
 * of a WAL database checkpointing as it closes) waits for it (busy_timeout) instead of failing at once
 * (an SQLiteError): the timeout is set before the pragmas that need the lock (journal_mode).
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteDatabase } from "../../src/db/sqlite";

const HOLD_MS = 400;

test("a database locked by another process for a moment is waited for, not refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "taskmgr-busy-"));
  const path = join(dir, "busy.db");
  try {
    const first = new SqliteDatabase(path);
    await first.exec("CREATE TABLE t (x INTEGER)");
    await first.close();
    const holder = Bun.spawn(
      [
        process.execPath,
        "-e",
        `const { Database } = require("bun:sqlite"); const db = new Database(${JSON.stringify(path)});
         db.exec("PRAGMA journal_mode = DELETE"); db.exec("BEGIN EXCLUSIVE"); db.exec("INSERT INTO t VALUES (1)"); console.log("locked");
         setTimeout(() => { db.exec("COMMIT"); db.close(); }, ${HOLD_MS});`,
      ],
      { stdout: "pipe" },
    );
    const reader = holder.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("locked");
    const db = new SqliteDatabase(path); // throws at once when busy_timeout is not set before journal_mode
    try {
      // The pragma that needed the lock took effect, and the holder's write is there: it was waited for.
      expect(await db.get<{ journal_mode: string }>("PRAGMA journal_mode")).toEqual({ journal_mode: "wal" });
      expect(await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM t")).toEqual({ n: 1 });
    } finally {
      await db.close();
      await holder.exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
