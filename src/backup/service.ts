/**
 * `taskmgr backup` (README, "Backups"): a copy of the database that is ready to be restored as it is.
 * Besides the data at its last commit, the copy's feeds are moved on past every pull cursor the
 * database hands out (before the copy or after it), so that once it is restored every device's next
 * pull answers 410 `reset_required` and the device pulls a fresh snapshot: it may hold changes the
 * copy does not, and an old cursor would otherwise skip the changes written after the restore until
 * the feed caught up with it. (Other backups — `sqlite3 .backup`, a file copy, `pg_dump` — need the
 * same statement run by hand before the restored database is served.)
 */
import { rmSync } from "node:fs";
import { openDatabase } from "../db/open";
import type { Deps } from "../deps";
import { moveFeedsOn } from "../records/feed";

export class BackupService {
  constructor(private readonly deps: Pick<Deps, "db">) {}

  /** Writes the copy to `target`, a new file (see `Database.backup`); removed again if preparing it fails. Postgres refuses (pg_dump). */
  async write(target: string): Promise<void> {
    await this.deps.db.backup(target);
    try {
      const copy = openDatabase(`sqlite:${target}`);
      try {
        await moveFeedsOn(copy);
      } finally {
        await copy.close();
      }
    } catch (err) {
      rmSync(target, { force: true });
      throw err;
    }
  }
}
