/**
 * Found by multi-instance QA: of three `serve` processes started at once on an empty Postgres
 * database, one sometimes stopped with "the database has a table schema_migrations that is not
 * taskmgr's (its columns: none)". It looked for the tracking table's columns, found none (another
 * instance's first migration, which creates the table, had not committed yet), and then asked
 * whether the table existed in a second statement, after that migration committed: a table with
 * no columns, taken for another application's. The columns and the table are now read together.
 */
import { expect, test } from "bun:test";
import { migrate, migrationStatus } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import type { Database } from "../../src/db/types";
import { createTestDatabase, DIALECTS } from "../support/db";

/**
 * `db`, whose first look at the tracking table that finds nothing is followed at once by `meanwhile`
 * (another instance's migrations committing), before the look's answer is handed back.
 */
function racedBy(db: Database, meanwhile: () => Promise<void>): Database {
  let raced = false;
  return new Proxy(db, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key !== "all") return typeof value === "function" ? value.bind(target) : value;
      return async (sql: string, params?: unknown[]) => {
        const rows = await target.all(sql, params as never);
        if (!raced && rows.length === 0 && sql.includes("schema_migrations")) {
          raced = true;
          await meanwhile();
        }
        return rows;
      };
    },
  });
}

for (const dialect of DIALECTS) {
  test(`another instance's first migrations committing while this one looks at the tracking table: both end migrated [${dialect}]`, async () => {
    const { db, url, drop } = await createTestDatabase(dialect, { migrate: false });
    const other = openDatabase(url);
    try {
      let first: number | undefined;
      const mine = racedBy(db, async () => {
        first = (await migrate(other)).length;
      });
      expect(await migrate(mine)).toEqual([]);
      expect(first).toBeGreaterThan(0);
      expect((await migrationStatus(db)).every((s) => s.applied_at !== null && s.checksum === "ok")).toBe(true);
    } finally {
      await other.close();
      await drop();
    }
  });
}
