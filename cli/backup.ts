import { existsSync, statSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { sqlitePath } from "../src/db/url";
import { configOf, withRuntime } from "./context";
import { CliError } from "./failure";
import { nonEmpty } from "./text-option";

/**
 * `taskmgr backup FILE`: a consistent copy of a SQLite database, as of its last commit, written to a
 * new file while the server runs or not, and ready to be restored (src/backup/service.ts). The
 * database is not migrated or otherwise changed: a backup taken before an upgrade is the database the
 * old version ran.
 */
export function registerBackup(program: Command): void {
  program
    .command("backup")
    .description("write a consistent copy of the SQLite database to a new file (while the server runs or not; Postgres: use pg_dump)")
    .argument("<file>", "the file to write: a new one, created readable by its owner only", backupFile)
    .action((file: string, _opts: unknown, self: Command) => {
      // A database file that does not exist is said so, not created empty and copied; an in-memory
      // database is this process's own, empty: no other process's data can be copied from it.
      const path = sqlitePath(configOf(self).databaseUrl);
      if (path === ":memory:") throw new CliError("sqlite::memory: is this command's own empty database, not a server's: name the database file to back up (--db sqlite:PATH)");
      if (path !== null && !existsSync(path)) throw new CliError(`database file ${path} does not exist`);
      return withRuntime(
        self,
        async ({ db, services }) => {
          await services.backup.write(file);
          const mb = (statSync(file).size / 1024 / 1024).toFixed(1);
          console.log(`wrote ${file} (${mb} MB), a copy of ${db.label} as of its last commit, ready to restore; keep the secret with it (TASKMGR_SECRET, or the secret file of TASKMGR_DATA_DIR)`);
        },
        { migrate: false }, // the copy is of the database as it is
      );
    });
}

/** The backup's file: not empty, and not `-`, which would read as standard output but name a file `-` (bad usage, exit 2). */
function backupFile(raw: string): string {
  if (raw === "-") throw new InvalidArgumentError("must name a file: a backup is not written to standard output.");
  return nonEmpty(raw);
}
