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

/** The columns every taskmgr tracking table has (`checksum` came later). */
const TRACKING_COLUMNS = ["version", "name", "applied_at"];

/** A row of the tracking table (`checksum` null where none was recorded, or the column is missing). */
export interface TrackingRow {
  version: number;
  name: string;
  applied_at: string;
  checksum: string | null;
}

/**
 * Thrown when the database has a `schema_migrations` table that is not taskmgr's (found by QA: a
 * DATABASE_URL naming another application's database, one migrated by golang-migrate or Rails, whose
 * table of that name got a `checksum` column added before the command failed on `column "name" does
 * not exist`). Nothing is changed.
 */
export class ForeignTrackingTableError extends Error {
  constructor(columns: string[]) {
    super(
      `the database has a table schema_migrations that is not taskmgr's (its columns: ${columns.join(", ")}): ` +
        "it looks like another application's database; point --db or DATABASE_URL at taskmgr's own",
    );
  }
}

/** The tracking table's rows by version; none where the table does not exist (a database `migrate` never ran on). Reads only. */
export async function trackingRows(db: Executor): Promise<TrackingRow[]> {
  const columns = await trackingColumns(db);
  if (columns === null) return [];
  const checksum = columns.includes("checksum") ? "checksum" : "NULL AS checksum";
  const rows = await db.all<TrackingRow>(`SELECT version, name, applied_at, ${checksum} FROM schema_migrations ORDER BY version`);
  return rows.map((r) => ({ ...r, version: Number(r.version) }));
}

/**
 * Adds the `checksum` column to a tracking table made before it existed; changes nothing (no DDL)
 * where it is there: even `CREATE TABLE IF NOT EXISTS` wants, on Postgres, the right to create in the
 * schema, which a role given only the rights to read and write the tables (migrated by their owner)
 * does not have. Answers false where there is no tracking table: {@link createTracking} makes it in
 * the transaction of the first migration, so that a first migration that fails leaves no table behind
 * (a DATABASE_URL naming another application's database got a `schema_migrations` of ours). Of two
 * instances that add the column at once the second fails and then finds it there.
 */
export async function ensureTracking(db: Executor): Promise<boolean> {
  const columns = await trackingColumns(db);
  if (columns === null) return false;
  if (columns.includes("checksum")) return true;
  try {
    await db.exec("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT");
  } catch (err) {
    if (!(await trackingColumns(db))?.includes("checksum")) throw err;
  }
  return true;
}

/** Creates the tracking table where it does not exist (inside the transaction of the first migration). */
export async function createTracking(tx: Executor): Promise<void> {
  await tx.exec(TRACKING);
}

/**
 * The tracking table's column names, null where there is no such table; refused
 * ({@link ForeignTrackingTableError}) when it lacks a column every taskmgr tracking table has.
 * One statement reads the table and its columns together: asked one after the other, another
 * instance's first migration committing in between made its new table look like one without columns.
 */
async function trackingColumns(db: Executor): Promise<string[] | null> {
  const rows = await db.all<{ name: string | null }>(
    db.dialect === "sqlite"
      ? "SELECT p.name AS name FROM sqlite_master m LEFT JOIN pragma_table_info('schema_migrations') p WHERE m.type = 'table' AND m.name = 'schema_migrations' ORDER BY p.cid"
      : // The catalog, not information_schema, which hides the columns of a table the role may not read.
        "SELECT a.attname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
          "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped " +
          "WHERE n.nspname = current_schema() AND c.relname = 'schema_migrations' AND c.relkind IN ('r', 'p') ORDER BY a.attnum",
  );
  if (rows.length === 0) return null;
  const columns = rows.flatMap((r) => (r.name === null ? [] : [r.name]));
  if (columns.length === 0) throw new ForeignTrackingTableError(["none"]);
  if (!TRACKING_COLUMNS.every((c) => columns.includes(c))) throw new ForeignTrackingTableError(columns);
  return columns;
}
