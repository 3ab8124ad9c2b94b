/**
 * `taskmgr backup` on SQLite: a consistent copy of the database written to a new file with
 * `VACUUM INTO`, which reads one snapshot (the last commit; writers go on meanwhile, in WAL mode) and
 * writes a compact, standalone file (no `-wal` beside it: nothing else is needed to open it).
 */
import type { Database as BunSqlite, Statement } from "bun:sqlite";
import { closeSync, openSync, rmSync } from "node:fs";

/**
 * Writes the database of connection `conn` to `target`, a file that must not exist yet: it is created
 * first, readable by its owner only (the copy holds password and token hashes), and removed again if
 * the copy fails. The connection's `query_only` (set on read connections) is lifted for the statement
 * and restored after. bun:sqlite is synchronous: nothing else runs on `conn` meanwhile.
 */
export function vacuumInto(conn: BunSqlite, target: string): void {
  createNew(target);
  const queryOnly = once(conn, "PRAGMA query_only", (s) => (s.get() as { query_only: number }).query_only);
  try {
    if (queryOnly) conn.exec("PRAGMA query_only = OFF");
    try {
      once(conn, "VACUUM INTO ?", (s) => s.run(target));
    } finally {
      if (queryOnly) conn.exec("PRAGMA query_only = ON");
    }
  } catch (err) {
    rmSync(target, { force: true });
    throw err;
  }
}

/**
 * Runs `sql` once and finalizes it: a statement left compiled keeps its connection open past
 * `close()`, whose checkpoint of the `-wal` into the file is then skipped.
 */
function once<T>(conn: BunSqlite, sql: string, use: (stmt: Statement) => T): T {
  const stmt = conn.prepare(sql);
  try {
    return use(stmt);
  } finally {
    stmt.finalize();
  }
}

/** Creates `target` empty with mode 0600; a backup never overwrites a file. */
function createNew(target: string): void {
  try {
    closeSync(openSync(target, "wx", 0o600));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new Error(`${target} already exists: a backup never overwrites a file, name a new one`);
    if (code === "ENOENT") throw new Error(`cannot create ${target}: its folder does not exist`);
    throw new Error(`cannot create ${target}: ${(err as Error).message}`);
  }
}
