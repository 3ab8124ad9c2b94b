import { resolve } from "node:path";
import type { Command } from "commander";
import { createApp } from "../src/app";
import { exposedSecret, secretPath } from "../src/auth/secret";
import { type Config, ConfigError, DEFAULT_DATABASE_URL } from "../src/config";
import { fileExposure } from "../src/file-exposure";
import { gathersStatistics } from "../src/db/planner";
import { sqlitePath } from "../src/db/url";
import { startJobs } from "../src/jobs/schedule";
import type { BootstrapAccount } from "../src/orgs/service";
import { createLogger, type Logger } from "../src/log/logger";
import { startServer } from "../src/server";
import { tolerateClosedOutput } from "./closed-output";
import { envFileVariables, withRuntime, type Runtime } from "./context";
import { secretsFromEnvFile } from "./env-file";
import { CliError } from "./failure";
import { StopSignals } from "./stop-signals";

/**
 * After SIGINT/SIGTERM the server still accepts for this long before it stops listening: connections
 * that waited in the listen backlog while the event loop was busy are taken in and answered, not reset.
 */
const ACCEPT_GRACE_MS = 50;

/** A `TASKMGR_SECRET` shorter than this is warned about at start (a generated one has 64 characters). */
const MIN_SECRET_CHARS = 32;

/** How long requests in flight may take to finish after SIGINT/SIGTERM before they are cut off. */
const DRAIN_TIMEOUT_MS = 30_000;

/** `taskmgr serve [--host H] [--port P]`. */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("apply migrations, create the first admin on an empty database, and serve the HTTP API")
    .option("--host <host>", "address to listen on (env HOST, default 127.0.0.1)")
    .option("--port <port>", "port to listen on, 0 picks a free one (env PORT, default 8000)")
    .action((_opts, self: Command) => {
      tolerateClosedOutput(); // `taskmgr serve | head` must not stop the server when head exits
      // From the start: a signal while the database is opened and migrated stops the command once
      // that step is done (exit 0) instead of killing it halfway; insisting exits at once.
      const stop = new StopSignals((signal) => {
        console.error(`stopped by ${signal} while starting`);
        process.exit(1);
      });
      return withRuntime(self, (rt) => serve(rt, stop), { log: serverLogger, serving: true });
    });
}

/**
 * Migrates (withRuntime), creates the first organization and admin on an empty database,
 * listens, and on SIGINT/SIGTERM ends the job schedule, stops accepting, finishes requests in flight,
 * stops a job run under way after its current batch and returns
 * (withRuntime then closes the database and the log); requests still running after
 * DRAIN_TIMEOUT_MS are cut off.
 */
async function serve({ config, db, services, log }: Runtime, stop: StopSignals): Promise<void> {
  if (stop.signal !== null) {
    log.info("server_stopped", { signal: stop.signal, before: "listening" });
    return;
  }
  services.auth.loadKey();
  const server = listen(services, config, log);
  // After the listen: a start that fails (the port taken) has not used up the admin's one showing of its password.
  // An operator insisting meanwhile is heard once the password is shown: exiting between the
  // admin's COMMIT and its password's one showing would leave an account nobody can log in to.
  await stop.holdingForce(async () => {
    await services.orgs.ensureBootstrap((admin) => showFirstAdmin(admin, SHOW_WAIT_MS, config.databaseUrl));
  });
  console.log(`taskmgr listening on ${server.url}`);
  log.info("server_started", { url: server.url, database: db.label });
  if (config.secret !== null && config.secret.length < MIN_SECRET_CHARS) {
    log.warn("short_secret", { hint: `TASKMGR_SECRET has fewer than ${MIN_SECRET_CHARS} characters: anyone who guesses it can sign access tokens; use a long random value` });
  }
  const exposed = exposedSecret(config);
  if (exposed !== null) {
    log.warn("secret_file_mode", {
      path: secretPath(config.dataDir),
      mode: exposed.mode,
      reason: exposed.reason,
      hint: "the token-signing secret may be read or replaced by other users of this machine, who could sign access tokens of any account: make the file and its folder the server user's own, chmod 600 the file (and its backups), and no write permission on the folder for others",
    });
  }
  warnOfExposedEnvFile(log);
  if (!(await gathersStatistics(db))) {
    log.warn("postgres_autovacuum_off", { hint: "pull pages may scan the whole feed without planner statistics: turn autovacuum on or run ANALYZE regularly" });
  }

  const stopJobs = startJobs(services.jobs, log);

  // A signal that came while the first start created the admin stops the server now, its password shown.
  const signal = await stop.first;
  log.info("server_stopping", { signal });
  // No run starts from now on: a tick during the drain claimed it (no other instance ran it), then
  // stopped after its first batch. A run under way goes on until the requests are finished (the
  // sync-metrics run waits for pushes in flight, which commit meanwhile), then stops after its batch.
  stopJobs.unschedule();
  server.drain();
  const cutOff = () => void server.stop(true);
  stop.onForce((again) => {
    log.warn("server_forced_stop", { signal: again });
    cutOff();
  });
  await receivedRequests();
  const timer = setTimeout(cutOff, DRAIN_TIMEOUT_MS);
  await server.stop();
  clearTimeout(timer);
  await afterResponseHooks();
  await stopJobs();
  await services.sync.flushLog(); // the buffered sync_log rows (pulls), before withRuntime closes the database
  log.info("server_stopped", { signal });
}

/**
 * Listens on the configured address. A host no server can listen on is the setting's fault: one
 * line naming the setting and its value (exit 1, as another unusable configuration value); any
 * other failure (the port in use) names the address, the settings that chose it and the cause.
 */
function listen(services: Runtime["services"], config: Config, log: Logger) {
  try {
    return startServer(createApp(services, { config, log }), { host: config.host, port: config.port, log });
  } catch (err) {
    if (!hostListens(config.host)) throw new ConfigError(`${config.hostFrom} must be an address of this machine or a name of one, not "${config.host}"`);
    throw new CliError(`cannot listen on ${config.host}:${config.port} (--host/HOST, --port/PORT): ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Whether a server can listen on `host` at all. Bun's error does not tell the host from the port,
 * nor in words a user reads (a host that is no address of this machine, or a name that does not
 * resolve, has answered "Is port 0 in use?", EINVAL, ENOENT or EEXIST), so the host alone is tried
 * on a port the system picks: if that fails too, the host is the cause.
 */
function hostListens(host: string): boolean {
  try {
    Bun.serve({ hostname: host, port: 0, fetch: () => new Response(null) }).stop(true);
    return true;
  } catch {
    return false;
  }
}

/**
 * Lets the event loop take in the connections and requests that arrived while it was busy (a SQLite
 * push runs synchronously): `server.stop()` finishes the requests it has been handed, and the
 * connections still waiting to be accepted would be reset unanswered.
 */
async function receivedRequests(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ACCEPT_GRACE_MS));
}

/**
 * Lets the after-response hooks of the last requests run (each request's log line and metrics):
 * Elysia schedules them with `setImmediate` when a handler returns, and the steps of the stop that
 * follow may never give the event loop a turn, so `server_stopped` came before those lines.
 */
async function afterResponseHooks(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

/** How long the first admin's password waits for a stalled standard output to take it before the start goes on. */
const SHOW_WAIT_MS = 10_000;

/**
 * Shows the first admin's password, inside the transaction that creates the account (see
 * `OrgService.ensureBootstrap`), and waits until the standard output has taken it (the write's
 * callback: the lines are with the reader, a pipe, a terminal, a file), so that a process killed
 * right after COMMIT cannot take them with it. Through `process.stdout`, behind the lines it still
 * holds: written straight to its descriptor, a pipe its reader had not emptied answered EAGAIN and
 * the password was dropped without a word, while the account was committed. A reader stalled
 * longer than {@link SHOW_WAIT_MS} is not waited for (the lines stay queued for it); a standard
 * output that cannot be written is tolerated, as everywhere in `serve` (`taskmgr users
 * set-password` recovers the account).
 */
export function showFirstAdmin(admin: BootstrapAccount, waitMs = SHOW_WAIT_MS, databaseUrl = DEFAULT_DATABASE_URL): Promise<void> {
  const text = `created organization "${admin.orgSlug}" and its admin ${admin.email} with password: ${admin.password}\n${changeHint(admin.email, databaseUrl)}\n`;
  return new Promise<void>((done) => {
    const timer = setTimeout(done, waitMs);
    const written = () => {
      clearTimeout(timer);
      done();
    };
    try {
      process.stdout.write(text, written);
    } catch {
      written(); // closed or unwritable
    }
  });
}

/**
 * The line after the first admin's password: how to change it on this server's database. An
 * in-memory database is the server's alone (a command would open another, empty one), and a
 * command given no `--db` opens the default file, not the one this server was started on.
 */
function changeHint(email: string, databaseUrl: string): string {
  if (sqlitePath(databaseUrl) === ":memory:") {
    return "this password is shown only once, and the database is in memory (sqlite::memory:): the account, like everything else, is gone when the server stops";
  }
  const hint = `this password is shown only once: change it with \`taskmgr users set-password ${email}\` (from a checkout: \`npx taskmgr users set-password ${email}\`)`;
  return databaseUrl === DEFAULT_DATABASE_URL ? hint : `${hint}, given this server's database (the same --db or DATABASE_URL)`;
}

/** The server logs JSON lines to stdout and to `LOG_DIR/taskmgr.log` (rotated at 15 MB, 10 files kept). */
function serverLogger(config: Config) {
  try {
    return createLogger({ level: config.logLevel, dir: config.logDir });
  } catch (err) {
    throw new ConfigError(`LOG_DIR (${config.logDir}) cannot be used: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Warns (`env_file_mode`) when the working folder's `.env` gave a secret (TASKMGR_SECRET, a
 * DATABASE_URL password) and other users of the machine may read or replace it: as the secret file's
 * warning (`secret_file_mode`) says of that file, whoever reads TASKMGR_SECRET signs any account's
 * tokens, and whoever rewrites it chooses it.
 */
function warnOfExposedEnvFile(log: Logger): void {
  const variables = secretsFromEnvFile(envFileVariables(), process.env);
  if (variables.length === 0) return;
  const path = resolve(".env");
  const exposed = fileExposure(path);
  if (exposed === null) return;
  log.warn("env_file_mode", {
    path,
    mode: exposed.mode,
    reason: exposed.reason,
    variables,
    hint: "the .env file gives secrets that other users of this machine may read or replace (whoever holds TASKMGR_SECRET signs access tokens of any account): make it and its folder the server user's own and chmod 600 it",
  });
}
