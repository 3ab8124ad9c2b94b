import type { Executor } from "./types";

/**
 * The table of applied migrations. `checksum` (the SHA-256 of the SQL applied) came later: a table made
 * before has no such column until {@link ensureTracking} adds it, and its rows have none until the
 * migration runner records this build's (src/db/migrate.ts).
 */
const TRACKING = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  checksum TEXT
)`;

/** A row of the tracking table (`checksum` null where none was recorded, or the column is missing). */
export interface TrackingRow {
  version: number;
  name: string;
  applied_at: string;
  checksum: string | null;
}

/** The tracking table's rows by version; none where the table does not exist (a database `migrate` never ran on). Reads only. */
export async function trackingRows(db: Executor): Promise<TrackingRow[]> {
  if (!(await hasTable(db))) return [];
  const checksum = (await hasChecksumColumn(db)) ? "checksum" : "NULL AS checksum";
  const rows = await db.all<TrackingRow>(`SELECT version, name, applied_at, ${checksum} FROM schema_migrations ORDER BY version`);
  return rows.map((r) => ({ ...r, version: Number(r.version) }));
}

/**
 * Creates the tracking table, or adds the `checksum` column to one made before it existed; changes
 * nothing (no DDL) where both are there. Several
 * instances may start at once: a concurrent creator on Postgres can make `IF NOT EXISTS` fail (one retry
 * follows), and of two that add the column the second fails and then finds it there.
 */
export async function ensureTracking(db: Executor): Promise<void> {
  // Only when missing: even with IF NOT EXISTS, Postgres wants the right to create in the schema, which a
  // role given only the rights to read and write the tables (migrated by their owner) does not have.
  if (!(await hasTable(db))) {
    try {
      await db.exec(TRACKING);
    } catch {
      await db.exec(TRACKING);
    }
  }
  if (await hasChecksumColumn(db)) return;
  try {
    await db.exec("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT");
  } catch (err) {
    if (!(await hasChecksumColumn(db))) throw err;
  }
}

async function hasTable(db: Executor): Promise<boolean> {
  return found(
    db,
    "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
    "SELECT 1 AS found FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'",
  );
}

async function hasChecksumColumn(db: Executor): Promise<boolean> {
  return found(
    db,
    "SELECT 1 AS found FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'",
    "SELECT 1 AS found FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'checksum'",
  );
}

/** Whether the dialect's query finds a row (catalog lookups differ between SQLite and Postgres). */
async function found(db: Executor, sqlite: string, postgres: string): Promise<boolean> {
  return (await db.get(db.dialect === "sqlite" ? sqlite : postgres)) !== undefined;
}
