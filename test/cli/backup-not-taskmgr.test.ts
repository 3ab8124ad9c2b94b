/**
 * `taskmgr backup` of a SQLite file that is not a taskmgr database — another application's, or one
 * no migration was ever applied to: one line saying so, exit 1, nothing written. Found by the CLI
 * reading: the copy was made, then its feeds could not be moved on, and the command ended with
 * SQLite's own words (`error: no such table: org_feed_state`).
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirs, taskmgr, tempDir } from "./support";

setDefaultTimeout(60_000);
afterAll(removeTempDirs);

/** A SQLite file at `path` holding `sql` (an empty file for none). */
function sqliteFile(path: string, sql: string): void {
  if (sql === "") return writeFileSync(path, "");
  const db = new Database(path);
  db.exec(sql);
  db.close();
}

test.each([
  ["another application's database (no schema_migrations)", "CREATE TABLE things (x TEXT)", "is not a taskmgr database (no migration was ever applied to it)"],
  ["a database with another tool's schema_migrations", "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY)", "has a table schema_migrations that is not taskmgr's"],
  ["an empty file", "", "is not a taskmgr database (no migration was ever applied to it)"],
])("%s: exit 1, one line saying so, no copy", async (_what, sql, says) => {
  const cwd = tempDir();
  const file = join(cwd, "other.db");
  sqliteFile(file, sql);
  const ran = await taskmgr(["backup", "copy.db", "--db", `sqlite:${file}`], { cwd });
  expect(ran.code).toBe(1);
  expect(ran.stderr).toStartWith("error: ");
  expect(ran.stderr).toContain(says);
  expect(ran.stderr).not.toContain("no such table");
  expect(ran.stderr.trim().split("\n")).toHaveLength(1);
  expect(ran.stdout).toBe("");
  expect(readdirSync(cwd).filter((f) => f.startsWith("copy.db"))).toEqual([]);
});
