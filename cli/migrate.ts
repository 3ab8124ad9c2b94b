import { existsSync } from "node:fs";
import type { Command } from "commander";
import { type MigrationStatus, migrate, migrationStatus } from "../src/db/migrate";
import { sqlitePath } from "../src/db/url";
import { configOf, withRuntime } from "./context";
import { CliError } from "./failure";
import { printList } from "./output";

/** `taskmgr migrate` (apply pending migrations) and `taskmgr migrate status`. */
export function registerMigrate(program: Command): void {
  const cmd = program
    .command("migrate")
    .description("apply pending database migrations")
    // `migrate help [status]` as `orgs help` (Commander adds no help command to a command with its own
    // action), and `migrate bogus` is an unknown command as `orgs bogus` is, not "too many arguments".
    .helpCommand(true)
    .allowExcessArguments(true)
    .hook("preAction", (self, action) => {
      if (action === self && self.args.length > 0) self.error(`error: unknown command '${self.args[0]}'`, { code: "commander.unknownCommand" });
    })
    .action((_opts, self: Command) =>
      withRuntime(
        self,
        async ({ db }) => {
          const applied = await migrate(db);
          if (applied.length === 0) console.log(`database ${db.label} is up to date`);
          for (const m of applied) console.log(`applied ${m.name}`);
        },
        { migrate: false },
      ),
    );

  cmd
    .command("status")
    .description("list migrations and when each was applied (without applying any)")
    .allowExcessArguments(false)
    .option("--json", "print a JSON array")
    .action(async (opts: { json?: boolean }, self: Command) => {
      const print = (rows: MigrationStatus[]) =>
        printList(
          rows,
          [
            { header: "VERSION", value: (r) => r.version },
            { header: "NAME", value: (r) => r.name },
            { header: "APPLIED_AT", value: (r) => r.applied_at ?? "pending" },
            { header: "CHECKSUM", value: (r) => r.checksum },
          ],
          opts.json === true,
        );
      // A SQLite file that does not exist: said so (a mistyped path is not a database with nothing applied), and no file or folder created.
      const path = sqlitePath(configOf(self).databaseUrl);
      if (path !== null && path !== ":memory:" && !existsSync(path)) {
        throw new CliError(`database file ${path} does not exist (migrate status creates nothing; \`taskmgr migrate\` creates it and applies every migration)`);
      }
      await withRuntime(self, async ({ db }) => print(await migrationStatus(db)), { readOnly: true });
    });
}
