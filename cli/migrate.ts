import type { Command } from "commander";
import { migrate, migrationStatus } from "../src/db/migrate";
import { withRuntime } from "./context";
import { printList } from "./output";

/** `taskmgr migrate` (apply pending migrations) and `taskmgr migrate status`. */
export function registerMigrate(program: Command): void {
  const cmd = program
    .command("migrate")
    .description("apply pending database migrations")
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
    .option("--json", "print a JSON array")
    .action((opts: { json?: boolean }, self: Command) =>
      withRuntime(
        self,
        async ({ db }) => {
          const rows = await migrationStatus(db);
          printList(
            rows,
            [
              { header: "VERSION", value: (r) => r.version },
              { header: "NAME", value: (r) => r.name },
              { header: "APPLIED_AT", value: (r) => r.applied_at ?? "pending" },
            ],
            opts.json === true,
          );
        },
        { migrate: false },
      ),
    );
}
