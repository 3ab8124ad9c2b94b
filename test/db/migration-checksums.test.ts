/**
 * Applied migrations are checksummed: applying one records the SHA-256 of the SQL it ran, and every
 * `migrate` (which every command but `migrate status` runs first) compares the recorded checksums with
 * this build's SQL, refusing a database where one differs (a migration edited after it landed).
 * A database migrated before checksums existed (its tracking table without the column) gets the
 * column and this build's checksums on its first `migrate`, on both dialects, also from two instances
 * at once; `migrationStatus` only reads, and reports each migration's checksum as ok, changed or unrecorded.
 */
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { ChangedMigrationError, migrate, migrationStatus } from "../../src/db/migrate";
import { MIGRATIONS, type Migration, migrationSql } from "../../src/db/migrations";
import { openDatabase } from "../../src/db/open";
import type { Database } from "../../src/db/types";
import { createTestDatabase, DIALECTS } from "../support/db";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The tracking table and runner as they were before checksums: what an existing database holds. */
async function migrateAsBefore(db: Database, migrations: Migration[]): Promise<void> {
  await db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  for (const m of migrations) {
    await db.transaction(async (tx) => {
      await tx.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [m.version, m.name, "2026-01-01T00:00:00.000Z"]);
      await tx.exec(migrationSql(m, db.dialect));
    });
  }
}

const recorded = (db: Database) => db.all<{ version: number; checksum: string | null }>("SELECT version, checksum FROM schema_migrations ORDER BY version");
const expected = (db: Database) => MIGRATIONS.map((m) => ({ version: m.version, checksum: sha256(migrationSql(m, db.dialect)) }));
const checksums = async (db: Database) => (await migrationStatus(db)).map((s) => [s.name, s.checksum]);

/** `m`'s SQL edited after it landed (a comment added), in both dialects' forms. */
const edited = (version: number) =>
  MIGRATIONS.map((m) => (m.version !== version ? m : { ...m, sql: `${m.sql}\n-- edited`, sqlite: m.sqlite === undefined ? undefined : `${m.sqlite}\n-- edited` }));

for (const dialect of DIALECTS) {
  test(`applying a migration records the SHA-256 of the SQL it ran on the dialect; status: ok [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect);
    try {
      expect((await recorded(db)).map((r) => ({ ...r, version: Number(r.version) }))).toEqual(expected(db));
      expect(await checksums(db)).toEqual(MIGRATIONS.map((m) => [m.name, "ok"]));
      expect(await migrate(db)).toEqual([]);
    } finally {
      await drop();
    }
  });

  /** The migrations these tests leave pending after applying 1–5. */
  const AFTER_5 = MIGRATIONS.filter((m) => m.version > 5).map((m) => m.version);

  test(`a migration edited after it landed: migrate refuses naming it and applies nothing; status reports it changed [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect, { migrate: false });
    try {
      await migrate(db, MIGRATIONS.filter((m) => m.version <= 5));
      await expect(migrate(db, edited(2))).rejects.toThrow(new ChangedMigrationError(["0002_jobs"]).message);
      expect((await migrationStatus(db)).map((s) => [s.version, s.applied_at !== null])).toEqual(MIGRATIONS.map((m) => [m.version, m.version <= 5]));
      expect((await migrationStatus(db, edited(2))).map((s) => s.checksum)).toEqual(MIGRATIONS.map((m) => (m.version === 2 ? "changed" : m.version <= 5 ? "ok" : null)));
      // The build whose SQL was applied still opens it (and applies what is pending).
      expect((await migrate(db)).map((m) => m.version)).toEqual(AFTER_5);
    } finally {
      await drop();
    }
  });

  test(`a database migrated before checksums: status reads it as unrecorded, the first migrate adds the column and records this build's [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect, { migrate: false });
    try {
      await migrateAsBefore(db, MIGRATIONS.filter((m) => m.version <= 5));
      expect(await checksums(db)).toEqual(MIGRATIONS.map((m) => [m.name, m.version <= 5 ? "unrecorded" : null]));
      await expect(db.get("SELECT checksum FROM schema_migrations")).rejects.toThrow(); // status added nothing

      expect((await migrate(db)).map((m) => m.version)).toEqual(AFTER_5);
      expect((await recorded(db)).map((r) => ({ ...r, version: Number(r.version) }))).toEqual(expected(db));
      expect(await checksums(db)).toEqual(MIGRATIONS.map((m) => [m.name, "ok"]));
      // From now on an edit is caught.
      await expect(migrate(db, edited(5))).rejects.toThrow(new ChangedMigrationError(["0005_task_tags_by_tag"]).message);
    } finally {
      await drop();
    }
  });

  test(`two instances opening a database from before checksums at once: both start, the column added once [${dialect}]`, async () => {
    const { db, url, drop } = await createTestDatabase(dialect, { migrate: false });
    const other = openDatabase(url);
    try {
      await migrateAsBefore(db, MIGRATIONS);
      await other.get("SELECT 1"); // connected: the two start together
      expect(await Promise.all([migrate(db), migrate(other)])).toEqual([[], []]);
      expect(await checksums(db)).toEqual(MIGRATIONS.map((m) => [m.name, "ok"]));
    } finally {
      await other.close();
      await drop();
    }
  });
}
