import type { Command } from "commander";
import { loadConfig, type Config, type ConfigFlags } from "../src/config";
import { loadEnvFile } from "./env-file";
import { migrate } from "../src/db/migrate";
import { isStorageFull } from "../src/db/errors";
import { openDatabase } from "../src/db/open";
import { redact, sqlitePath } from "../src/db/url";
import type { Database } from "../src/db/types";
import { createLogger, type Logger } from "../src/log/logger";
import { createServices, type Services } from "../src/services";
import { systemClock } from "../src/time";
import { CliError } from "./failure";

/** What a command works with once the database is open. */
export interface Runtime {
  config: Config;
  db: Database;
  services: Services;
  log: Logger;
}

/** Organization id → slug, to show users and conflicts by organization. */
export async function orgSlugs({ services }: Runtime): Promise<Map<string, string>> {
  return new Map((await services.orgs.list()).map((o) => [o.id, o.slug]));
}

export interface RuntimeOptions {
  /** Apply pending migrations first (every command but `migrate status`). Default true. */
  migrate?: boolean;
  /** Open the database without changing it (`migrate status`; implies `migrate: false`). */
  readOnly?: boolean;
  /** The logger; by default admin commands log to stderr only at `--log-level debug`. */
  log?: (config: Config) => Logger;
  /** The command serves HTTP (`serve`): only then are HOST, PORT, TRUSTED_PROXIES and CORS_ORIGINS read. */
  serving?: boolean;
}

/** The global flags (`--db`, `--log-level`) and the command's own, as loadConfig reads them. */
function flagsOf(cmd: Command): ConfigFlags {
  return cmd.optsWithGlobals<ConfigFlags>();
}

/** `.env` is read once per process (`migrate status` reads the configuration twice); the variables it set, null before. */
let fromEnvFile: ReadonlySet<string> | null = null;

/**
 * The configuration of command `cmd`: its flags, the environment and the working folder's `.env`
 * (read here, when a command needs its configuration: `--help` and `--version` never read it).
 */
export function configOf(cmd: Command, serving = false): Config {
  fromEnvFile ??= loadEnvFile();
  return loadConfig(flagsOf(cmd), process.env, { serving, fromFile: fromEnvFile });
}

/** The variables the working folder's `.env` set (none before a command read its configuration). */
export const envFileVariables = (): ReadonlySet<string> => fromEnvFile ?? new Set();

/**
 * What an admin command that succeeded on `sqlite::memory:` (which the contract lets every command use)
 * adds on stderr: the database started empty and vanishes, with what the command wrote, at its exit.
 */
export const IN_MEMORY_WARNING = "the database is in memory (sqlite::memory:): it starts empty, and what this command writes vanishes when it exits";

/**
 * Runs `fn` with the configuration, an open database (migrated unless told otherwise) and
 * the services built on it, and closes everything afterwards, whatever happens (the writes the
 * services make in the background first, then the database, then the log).
 */
export async function withRuntime<T>(cmd: Command, fn: (rt: Runtime) => Promise<T>, opts: RuntimeOptions = {}): Promise<T> {
  const config = configOf(cmd, opts.serving === true);
  const log = (opts.log ?? adminLogger)(config);
  try {
    const db = await connect(config.databaseUrl, opts.readOnly === true, config.databasePoolSize);
    try {
      if (opts.migrate !== false && opts.readOnly !== true) await migrate(db);
      const services = createServices({ db, config, clock: systemClock, log });
      try {
        const result = await fn({ config, db, log, services });
        // After the command's own output, and only when it succeeded: a failure stays one line.
        if (opts.serving !== true && sqlitePath(config.databaseUrl) === ":memory:") process.stderr.write(`warning: ${IN_MEMORY_WARNING}\n`);
        return result;
      } finally {
        await services.lastSeen.close(); // the last requests' last_seen_at, before the database closes
      }
    } finally {
      await db.close();
    }
  } finally {
    await log.close();
  }
}

/**
 * How long the database may take to answer its first statement. postgres.js gives up on a server
 * that never answers (its connect timeout), but reconnects forever to one that answers and hangs up
 * — an HTTP service or a proxy at that address rather than Postgres.
 */
const FIRST_ANSWER_MS = 15_000;

/** Opens the database and checks that it answers; a failure names the database (never its password). */
async function connect(url: string, readOnly = false, poolSize?: number): Promise<Database> {
  let db: Database | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    db = openDatabase(url, { readOnly, poolSize });
    const silence = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${FIRST_ANSWER_MS / 1000} s (is a database server at that address?)`)), FIRST_ANSWER_MS);
    });
    await Promise.race([db.get("SELECT 1"), silence]);
    return db;
  } catch (err) {
    // A database that does not answer may not close either: not waited for (the command exits).
    void db?.close().catch(() => {});
    throw new CliError(openFailure(url, err instanceof Error ? err.message : String(err), isStorageFull(err)));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The one line of a database that cannot be opened: named without its password; a SQLite file is
 * "opened" (not "connected to"), one that is read-only is said to need writing, and one on a full
 * disk (`full`: SQLite may say only "disk I/O error", when its `-shm` cannot be made) to need room.
 */
export function openFailure(url: string, message: string, full = false): string {
  const safe = redact(url);
  if (!url.startsWith("sqlite:")) return `cannot connect to database ${safe}: ${message.replaceAll(url, safe)}`;
  const hint = full
    ? " (its disk is full: taskmgr needs room beside the file for its -wal and -shm; free space there)"
    : /readonly|read-only/i.test(message)
      ? " (taskmgr writes the file, and its -wal and -shm beside it: the file and its folder must be writable)"
      : "";
  return `cannot open database ${safe}: ${message}${hint}`;
}

/** Admin commands print their own output; their service logs go to stderr only when debugging. */
function adminLogger(config: Config): Logger {
  const debug = config.logLevel === "debug";
  return createLogger({ level: config.logLevel, console: debug ? (line) => process.stderr.write(line + "\n") : null });
}
