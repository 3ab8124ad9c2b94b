import { MIGRATIONS, type Migration, migrationSql } from "./migrations";
import type { Database } from "./types";

export interface MigrationStatus {
  version: number;
  name: string;
  applied_at: string | null;
}

const TRACKING = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

/**
 * Lists every known migration with the time it was applied (null while pending), then those applied
 * that this build does not know (a newer taskmgr's). Reads only: a database never migrated has every
 * migration pending.
 */
export async function migrationStatus(db: Database, all: Migration[] = MIGRATIONS): Promise<MigrationStatus[]> {
  const rows = (await hasTracking(db)) ? await db.all<{ version: number; name: string; applied_at: string }>("SELECT version, name, applied_at FROM schema_migrations ORDER BY version") : [];
  const applied = new Map(rows.map((r) => [Number(r.version), r.applied_at]));
  const known = all.map((m) => ({ version: m.version, name: m.name, applied_at: applied.get(m.version) ?? null }));
  const unknown = rows.filter((r) => !all.some((m) => m.version === Number(r.version)));
  return [...known, ...unknown.map((r) => ({ version: Number(r.version), name: `${r.name} (unknown to this version)`, applied_at: r.applied_at }))];
}

/**
 * Thrown when the database holds migrations this build does not know: a newer taskmgr migrated it,
 * and this one would run on a schema it was not written for.
 */
export class NewerSchemaError extends Error {
  constructor(readonly versions: number[]) {
    super(`the database has migrations this taskmgr does not know (${versions.join(", ")}): a newer version migrated it; run that version or newer`);
  }
}

/**
 * Applies pending migrations, each in its own transaction together with its tracking row.
 * Safe when several instances start at once: the tracking row's primary key makes the
 * second one wait, fail, and then see the migration as applied.
 */
export async function migrate(db: Database, all: Migration[] = MIGRATIONS): Promise<Migration[]> {
  await ensureTracking(db);
  const done: Migration[] = [];
  const statuses = await migrationStatus(db, all);
  const unknown = statuses.filter((s) => !all.some((m) => m.version === s.version)).map((s) => s.version);
  if (unknown.length > 0) throw new NewerSchemaError(unknown);
  for (const status of statuses) {
    if (status.applied_at) continue;
    const m = all.find((x) => x.version === status.version)!;
    try {
      await db.transaction(async (tx) => {
        await tx.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [
          m.version,
          m.name,
          new Date().toISOString(),
        ]);
        await tx.exec(migrationSql(m, db.dialect));
      });
    } catch (err) {
      const again = await migrationStatus(db, all);
      if (again.find((x) => x.version === m.version)?.applied_at) continue;
      throw err;
    }
    done.push(m);
  }
  return done;
}

/** Whether the tracking table exists (a database `migrate` never ran on has none). */
async function hasTracking(db: Database): Promise<boolean> {
  const sql =
    db.dialect === "sqlite"
      ? "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
      : "SELECT 1 AS found FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'";
  return (await db.get(sql)) !== undefined;
}

/** Creates the tracking table; a concurrent creator on Postgres can make `IF NOT EXISTS` fail, so one retry follows. */
async function ensureTracking(db: Database): Promise<void> {
  try {
    await db.exec(TRACKING);
  } catch {
    await db.exec(TRACKING);
  }
}

/** True when every known migration is applied (and none unknown: see {@link NewerSchemaError}). */
export async function isMigrated(db: Database): Promise<boolean> {
  const statuses = await migrationStatus(db);
  return statuses.length === MIGRATIONS.length && statuses.every((s) => s.applied_at !== null);
}
