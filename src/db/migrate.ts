import { MIGRATIONS, type Migration, migrationChecksum, migrationSql } from "./migrations";
import { createTracking, ensureTracking, trackingRows } from "./tracking";
import type { Database } from "./types";

export interface MigrationStatus {
  version: number;
  name: string;
  applied_at: string | null;
  /**
   * An applied migration's recorded checksum against this build's SQL: `ok`; `changed` (the migration
   * was edited after this database applied it: {@link ChangedMigrationError}); `unrecorded` (applied
   * before checksums were recorded: the next {@link migrate} records this build's). Null while pending,
   * and for a migration this build does not know.
   */
  checksum: "ok" | "changed" | "unrecorded" | null;
}

/** The applied migration versions that `all` (this build's migrations) does not know — a newer taskmgr's —, ascending. */
export function unknownVersions(applied: Iterable<number>, all: readonly Migration[] = MIGRATIONS): number[] {
  const known = new Set(all.map((m) => m.version));
  return [...applied].filter((v) => !known.has(v)).sort((a, b) => a - b);
}

/**
 * Lists every known migration with the time it was applied (null while pending), then those applied
 * that this build does not know (a newer taskmgr's). Reads only: a database never migrated has every
 * migration pending.
 */
export async function migrationStatus(db: Database, all: Migration[] = MIGRATIONS): Promise<MigrationStatus[]> {
  const rows = await trackingRows(db);
  const applied = new Map(rows.map((r) => [r.version, r]));
  const known = all.map((m): MigrationStatus => {
    const row = applied.get(m.version);
    if (!row) return { version: m.version, name: m.name, applied_at: null, checksum: null };
    const checksum = row.checksum === null ? "unrecorded" : row.checksum === migrationChecksum(m, db.dialect) ? "ok" : "changed";
    return { version: m.version, name: m.name, applied_at: row.applied_at, checksum };
  });
  const newer = new Set(unknownVersions(applied.keys(), all));
  const unknown = rows.filter((r) => newer.has(r.version));
  return [...known, ...unknown.map((r): MigrationStatus => ({ version: r.version, name: `${r.name} (unknown to this version)`, applied_at: r.applied_at, checksum: null }))];
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
 * Thrown when an applied migration's recorded checksum differs from this build's SQL: the migration was
 * edited after it landed, so this database's schema may not be the one the code expects (README, "Migration checksums").
 */
export class ChangedMigrationError extends Error {
  constructor(readonly names: string[]) {
    super(
      `the database applied another version of migration${names.length > 1 ? "s" : ""} ${names.join(", ")} than this taskmgr embeds ` +
        `(the SHA-256 recorded when it was applied differs): a migration was edited after it landed; see README, "Migration checksums"`,
    );
  }
}

/** Thrown when a pending migration fails: named, with the database's reason; nothing of it was applied (its transaction rolled back). */
export class MigrationFailedError extends Error {
  constructor(name: string, cause: unknown) {
    super(`migration ${name} failed, nothing of it applied: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Applies pending migrations, each in its own transaction together with its tracking row and checksum,
 * after checking the applied ones: refused when one is unknown ({@link NewerSchemaError}) or changed
 * ({@link ChangedMigrationError}); a failing one throws {@link MigrationFailedError}. Applied migrations without a checksum (recorded before there were
 * any) get this build's first. Every command but `migrate status` opens the database through here.
 * Safe when several instances start at once: the tracking row's primary key makes the
 * second one wait, fail, and then see the migration as applied. On Postgres an upgrade (migrations
 * applied to a database that had some) ends with `ANALYZE` ({@link analyzeAfterUpgrade}).
 */
export async function migrate(db: Database, all: Migration[] = MIGRATIONS): Promise<Migration[]> {
  // No tracking table yet: it is made with the first migration, in its transaction.
  let tracked = await ensureTracking(db);
  const done: Migration[] = [];
  const statuses = await migrationStatus(db, all);
  const unknown = unknownVersions(statuses.map((s) => s.version), all);
  if (unknown.length > 0) throw new NewerSchemaError(unknown);
  await recordMissingChecksums(db, statuses, all);
  const changed = statuses.filter((s) => s.checksum === "changed").map((s) => s.name);
  if (changed.length > 0) throw new ChangedMigrationError(changed);
  for (const status of statuses) {
    if (status.applied_at) continue;
    const m = all.find((x) => x.version === status.version)!;
    try {
      await db.transaction(async (tx) => {
        // A migration waits as long as it takes for its locks (another instance migrating the same
        // version, a running server's transactions), not the connections' lock_timeout.
        if (db.dialect === "postgres") await tx.exec("SET LOCAL lock_timeout = 0");
        if (!tracked) await createTracking(tx);
        await tx.run("INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES (?, ?, ?, ?)", [
          m.version,
          m.name,
          new Date().toISOString(),
          migrationChecksum(m, db.dialect),
        ]);
        await tx.exec(migrationSql(m, db.dialect));
      });
    } catch (err) {
      const again = await migrationStatus(db, all);
      if (again.find((x) => x.version === m.version)?.applied_at) {
        tracked = true;
        continue;
      }
      throw new MigrationFailedError(m.name, err);
    }
    tracked = true;
    done.push(m);
  }
  if (db.dialect === "postgres" && done.length > 0 && statuses.some((s) => s.applied_at !== null)) await analyzeAfterUpgrade(db);
  return done;
}

/**
 * Postgres plans by its statistics, which a migration that rebuilds a table or an index leaves stale
 * or missing until autovacuum comes by — never, where it is off: after migration 0005 a `?tag=` list
 * over 59,000 tasks took more than 30 s until `ANALYZE`, and without statistics a tag of 14,000 tasks
 * among 100,000 took 44 s instead of 0.1 s. So an upgrade gathers them at once (seconds for a million
 * tasks; it blocks neither reads nor writes). A fresh database has nothing to gather.
 */
async function analyzeAfterUpgrade(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    // Like a migration, it waits for its lock (a VACUUM, another instance's ANALYZE) as long as it
    // takes, not the connections' lock_timeout: failing here would fail the start after the migrations
    // committed, and the next start, with nothing pending, would never gather the statistics.
    await tx.exec("SET LOCAL lock_timeout = 0");
    await tx.exec("ANALYZE");
  });
}

/**
 * Records this build's checksum for applied migrations that have none: they were applied before
 * checksums were recorded, and are taken to be the SQL this build embeds (what they were run from
 * cannot be known any more).
 */
async function recordMissingChecksums(db: Database, statuses: MigrationStatus[], all: Migration[]): Promise<void> {
  for (const status of statuses) {
    if (status.checksum !== "unrecorded") continue;
    const m = all.find((x) => x.version === status.version)!;
    await db.run("UPDATE schema_migrations SET checksum = ? WHERE version = ? AND checksum IS NULL", [migrationChecksum(m, db.dialect), m.version]);
  }
}
