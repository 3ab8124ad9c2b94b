/**
 * `taskmgr backup` (README, "Backups"): a copy of the database that is ready to be restored as it is.
 * Besides the data at its last commit, the copy's feeds are moved on past every pull cursor the
 * database hands out (before the copy or after it), so that once it is restored every device's next
 * pull answers 410 `reset_required` and the device pulls a fresh snapshot: it may hold changes the
 * copy does not, and an old cursor would otherwise skip the changes written after the restore until
 * the feed caught up with it. (Other backups — `sqlite3 .backup`, a file copy, `pg_dump` — need the
 * same statement run by hand before the restored database is served.)
 */
import { existsSync, linkSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { syncToDisk } from "../db/durable";
import { isStorageFull } from "../db/errors";
import { openDatabase } from "../db/open";
import { trackingRows } from "../db/tracking";
import type { Database } from "../db/types";
import type { Deps } from "../deps";
import { moveFeedsOn } from "../records/feed";

/** Writes a restorable copy of the SQLite database while the server runs (`taskmgr backup`). */
export class BackupService {
  /** `sync` puts a file or a folder on its disk ({@link syncToDisk}; a test's spy in its place). */
  constructor(
    private readonly deps: Pick<Deps, "db">,
    private readonly sync: (path: string) => void = syncToDisk,
  ) {}

  /**
   * Writes the copy to `target`, a new file: never over an existing one, nor beside a `-wal` or `-shm`
   * of that name (which opening it would replay onto the copy). The copy is made and prepared under a
   * temporary name beside it (`FILE.partial-PID`, removed whatever happens) and only then linked to
   * `target`: a copy stopped half-way (the process killed) never stands under the name of a finished
   * one. Postgres refuses (pg_dump). So does a database that is not taskmgr's ({@link requireTaskmgrDatabase}, read on the copy).
   * It returns once the copy is on its disk: its content before it takes its name, then its folder
   * with the name in it, so that a power cut right after cannot leave the name without the content, or
   * lose the copy that was reported written.
   */
  async write(target: string): Promise<void> {
    if (this.deps.db.dialect !== "sqlite") return this.deps.db.backup(target); // refused: pg_dump's job
    const final = resolve(target);
    if (existsSync(target)) throw new Error(`${target} already exists: a backup never overwrites a file, name a new one`);
    for (const f of [`${target}-wal`, `${target}-shm`]) {
      if (existsSync(f)) throw new Error(`${f} already exists, and opening the copy would replay it onto the copy: remove it, or name another file`);
    }
    if (!existsSync(dirname(final))) throw new Error(`cannot create ${target}: its folder does not exist`);
    const partial = `${final}.partial-${process.pid}`;
    try {
      await this.deps.db.backup(partial);
      const copy = openDatabase(`sqlite:${partial}`);
      try {
        await requireTaskmgrDatabase(copy, this.deps.db.label);
        await moveFeedsOn(copy);
      } finally {
        await copy.close();
      }
      requireCheckpointed(partial, target);
      try {
        this.sync(partial);
      } catch (err) {
        throw new Error(`cannot write ${target}: the copy could not be synced to its disk (${(err as Error).message}); nothing was kept under that name`);
      }
      publish(partial, final, target);
      try {
        this.sync(dirname(final));
      } catch (err) {
        rmSync(final, { force: true }); // not known to be on its disk: not reported written either
        throw new Error(`cannot write ${target}: its folder could not be synced to its disk (${(err as Error).message}); nothing was kept under that name`);
      }
    } catch (err) {
      // SQLite says "database or disk is full", read as the database's disk: it is the copy's.
      if (isStorageFull(err)) throw new Error(`cannot write ${target}: its disk is full (nothing was kept under that name)`);
      throw err;
    } finally {
      for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
    }
  }
}

/**
 * Refuses, by the `copy` just made of database `source`, one that no taskmgr migration was applied
 * to (another application's, an empty file): its copy cannot be prepared for a restore, and the
 * command ended with SQLite's own words (`no such table: org_feed_state`). One whose
 * `schema_migrations` is another tool's is refused by {@link trackingRows} (ForeignTrackingTableError).
 */
async function requireTaskmgrDatabase(copy: Database, source: string): Promise<void> {
  if ((await trackingRows(copy)).length > 0) return;
  throw new Error(`${source} is not a taskmgr database (no migration was ever applied to it): nothing to back up; name taskmgr's database with --db or DATABASE_URL`);
}

/**
 * Refuses a copy whose last writes (the feed move) are still in its `-wal`: close() moves them into
 * the file only as the copy's last connection, and says nothing when it cannot (a statement left
 * compiled, another process reading the file); the `-wal`, removed with the temporary name, would
 * take them with it, and the copy published would let old pull cursors go on after a restore.
 */
function requireCheckpointed(partial: string, target: string): void {
  const wal = `${partial}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) {
    throw new Error(`cannot finish ${target}: the copy's last write could not be moved from ${wal} into it (is another process reading it?); nothing was kept under that name`);
  }
}

/**
 * Gives the finished copy `partial` its name `final`: a hard link, which fails rather than replace a
 * file created there meanwhile; where the file system has no hard links, a rename after one more look.
 */
function publish(partial: string, final: string, target: string): void {
  const taken = () => new Error(`${target} already exists: a backup never overwrites a file, name a new one`);
  try {
    linkSync(partial, final);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw taken();
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw err;
    if (existsSync(final)) throw taken();
    renameSync(partial, final);
  }
}
