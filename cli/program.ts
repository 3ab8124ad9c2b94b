import { Command } from "commander";
import pkg from "../package.json";
import { registerBackup } from "./backup";
import { registerConflicts } from "./conflicts";
import { registerDevices } from "./devices";
import { registerJobs } from "./jobs";
import { registerMigrate } from "./migrate";
import { registerOrgs } from "./orgs";
import { registerServe } from "./serve";
import { registerUsers } from "./users";

/**
 * The `taskmgr` command line. Global flags (`--db`, `--log-level`) are accepted before or
 * after the sub-command. Errors are thrown (exitOverride) so that main.ts alone decides the
 * exit status. Each command group registers itself from its own file.
 */
export function buildProgram(): Command {
  const program = new Command("taskmgr")
    .description(pkg.description)
    .version(pkg.version, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .option("--db <url>", "database URL: sqlite:PATH, sqlite::memory: or postgres://… (env DATABASE_URL)")
    .option("--log-level <level>", "debug, info, warn or error (env LOG_LEVEL)")
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
    });
  registerServe(program);
  registerMigrate(program);
  registerOrgs(program);
  registerUsers(program);
  registerDevices(program);
  registerJobs(program);
  registerConflicts(program);
  registerBackup(program);
  return program;
}
