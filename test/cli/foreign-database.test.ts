/**
 * Found by QA: a DATABASE_URL that names another application's database (an operator's mistake). One
 * migrated by golang-migrate or Rails has a `schema_migrations` of its own: taskmgr added a
 * `checksum` column to it, then failed on `column "name" does not exist`. One without such a table but
 * with a table taskmgr also has (`users`): the command failed on migration 0001 and left an empty
 * `schema_migrations` of ours behind. Now the first is refused in one line naming the table, changing
 * nothing, and the second leaves the database as it found it (the tracking table is made in the
 * transaction of the first migration).
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Database } from "../../src/db/types";
import { createTestDatabase, DIALECTS } from "../support/db";
import { removeTempDirs, taskmgr, tempDir } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

/** The database's tables and their columns, `table(col,col)` sorted: what must not change. */
async function shape(db: Database): Promise<string[]> {
  const rows =
    db.dialect === "sqlite"
      ? await db.all<{ t: string; c: string }>("SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'")
      : await db.all<{ t: string; c: string }>("SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()");
  const byTable = new Map<string, string[]>();
  for (const r of rows) byTable.set(r.t, [...(byTable.get(r.t) ?? []), r.c]);
  return [...byTable].map(([t, cs]) => `${t}(${cs.sort().join(",")})`).sort();
}

for (const dialect of DIALECTS) {
  describe(`a DATABASE_URL naming another application's database [${dialect}]`, () => {
    const cwd = tempDir();

    test("with a schema_migrations table that is not taskmgr's: every command refuses it in one line, changing nothing", async () => {
      const { db, url, drop } = await createTestDatabase(dialect, { migrate: false });
      try {
        await db.exec("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, dirty BOOLEAN NOT NULL)");
        await db.run("INSERT INTO schema_migrations (version, dirty) VALUES (20240101, false)");
        const before = await shape(db);
        for (const args of [["orgs", "list"], ["migrate"], ["migrate", "status"], ["serve", "--port", "0"]]) {
          const r = await taskmgr([...args, "--db", url], { cwd });
          expect(r.code).toBe(1);
          expect(r.stderr).toStartWith("error: the database has a table schema_migrations that is not taskmgr's (its columns: version, dirty)");
          expect(r.stderr.trim().split("\n")).toHaveLength(1);
        }
        expect(await shape(db)).toEqual(before);
      } finally {
        await drop();
      }
    });

    test("with a table of taskmgr's name: migration 0001 fails and leaves no table of taskmgr's behind", async () => {
      const { db, url, drop } = await createTestDatabase(dialect, { migrate: false });
      try {
        await db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT)");
        const before = await shape(db);
        const r = await taskmgr(["migrate", "--db", url], { cwd });
        expect(r.code).toBe(1);
        expect(r.stderr).toStartWith("error: migration 0001_initial failed, nothing of it applied: ");
        expect(await shape(db)).toEqual(before);
      } finally {
        await drop();
      }
    });
  });
}
