import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { isAmbiguousSqliteUrl, redact, sqlitePath } from "./db/url";
import { parseTrustedProxies } from "./wire/client-address";
import { type CorsOrigins, parseCorsOrigins } from "./wire/cors";

/** Everything taskmgr reads from flags, environment and `.env` (Bun loads `.env` without overriding the environment). */
export interface Config {
  databaseUrl: string;
  /** Postgres: connections in the server's pool (health has one more of its own). */
  databasePoolSize: number;
  host: string;
  /** The setting that gave `host` (`--host`, `HOST`, `HOST (in .env)`): named when no server can listen there. */
  hostFrom: string;
  port: number;
  /** Folder for the generated secret (and the SQLite file by default). */
  dataDir: string;
  logDir: string;
  logLevel: LogLevel;
  /** Explicit JWT secret; when absent one is generated into `dataDir/secret` (mode 0600). */
  secret: string | null;
  tombstoneRetentionDays: number;
  syncLogRetentionDays: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Peers whose `X-Forwarded-For` names the client (reverse proxies, load balancers); empty: none. */
  trustedProxies: ReadonlySet<string>;
  /** Origins of web clients whose pages may call the API (CORS); `*`: any; empty: CORS off. */
  corsOrigins: CorsOrigins;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * The longest an access token can live (`ACCESS_TOKEN_TTL_SECONDS` at most): a day. What must be kept
 * while one may still be presented (the refresh-token rows that end its session) is kept this long,
 * whatever lifetime the process doing the purge was configured with.
 */
export const ACCESS_TOKEN_TTL_MAX_SECONDS = 86400;
const LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];

/** Flags given on the command line; each beats its environment variable. */
export interface ConfigFlags {
  db?: string;
  host?: string;
  port?: string | number;
  logLevel?: string;
}

/** `DATABASE_URL` when neither `--db` nor the variable names one. */
export const DEFAULT_DATABASE_URL = "sqlite:./data/taskmgr.db";

export interface LoadOptions {
  /**
   * false: the command does not serve HTTP (an admin command), so `HOST`, `PORT`, `TRUSTED_PROXIES`
   * and `CORS_ORIGINS` are not read (their defaults stand): a bad value there does not stop `users set-password` while
   * a broken deployment's environment is loaded. Default true.
   */
  serving?: boolean;
  /** The variables whose value came from `.env` (not the environment): a bad value names the file. */
  fromFile?: ReadonlySet<string>;
}

/** A setting's raw value, and the name to blame it on: the flag's when given, else the variable's (and `.env`'s when it came from there). */
interface Raw {
  name: string;
  value: string | undefined;
}

/**
 * `DATABASE_POOL_SIZE`'s default for a machine of `cores` CPUs: two connections per core, at least 4
 * and at most 10 (the driver's own default, kept from 5 cores up). More connections than the cores
 * can serve cost Postgres CPU without adding throughput: on a 2-core machine with Postgres beside
 * taskmgr, 4 connections instead of 10 took 30–50% off Postgres's CPU per change in the concurrent
 * sync benchmark and raised its rate by about 15% (docs/performance.md, "Postgres in the concurrent phase").
 */
export function defaultPoolSize(cores: number): number {
  return Math.min(10, Math.max(4, 2 * cores));
}

/**
 * Builds the configuration: flags beat environment variables, which beat `.env`, which beats defaults.
 * An empty variable counts as unset (a template that leaves `HOST=` empty gets 127.0.0.1, not every
 * interface); an empty flag value is bad usage.
 */
export function loadConfig(flags: ConfigFlags = {}, env: Record<string, string | undefined> = process.env, opts: LoadOptions = {}): Config {
  const pick = (flag: string | number | undefined, flagName: string, varName: string): Raw => {
    if (flag !== undefined) {
      const value = String(flag).trim();
      if (value === "") throw new ConfigError(`${flagName} needs a value`, true);
      return { name: flagName, value };
    }
    const value = env[varName]?.trim();
    return { name: opts.fromFile?.has(varName) ? `${varName} (in .env)` : varName, value: value === "" ? undefined : value };
  };
  const variable = (name: string): Raw => pick(undefined, "", name);
  const envValue = (name: string) => variable(name).value;
  const db = pick(flags.db, "--db", "DATABASE_URL");
  const serving = opts.serving !== false;
  const host = serving ? pick(flags.host, "--host", "HOST") : { name: "HOST", value: undefined };
  const databaseUrl = checkDatabaseUrl({ name: db.name, value: db.value ?? DEFAULT_DATABASE_URL });
  const level = pick(flags.logLevel, "--log-level", "LOG_LEVEL");
  const logLevel = (level.value ?? "info").toLowerCase();
  if (!LEVELS.includes(logLevel as LogLevel)) {
    throw new ConfigError(`${level.name} must be one of ${LEVELS.join(", ")}, not "${logLevel}"`, level.name.startsWith("--"));
  }
  return {
    databaseUrl,
    databasePoolSize: intIn(variable("DATABASE_POOL_SIZE"), defaultPoolSize(availableParallelism()), 1, 1000),
    host: host.value ?? "127.0.0.1",
    hostFrom: host.name,
    port: serving ? intIn(pick(flags.port, "--port", "PORT"), 8000, 0, 65535) : 8000,
    dataDir: folder(variable("TASKMGR_DATA_DIR"), defaultDataDir(databaseUrl)),
    logDir: folder(variable("LOG_DIR"), "./logs"),
    logLevel: logLevel as LogLevel,
    secret: envValue("TASKMGR_SECRET") ?? null,
    tombstoneRetentionDays: intIn(variable("TOMBSTONE_RETENTION_DAYS"), 90, 0, 36500),
    syncLogRetentionDays: intIn(variable("SYNC_LOG_RETENTION_DAYS"), 30, 0, 36500),
    accessTokenTtlSeconds: intIn(variable("ACCESS_TOKEN_TTL_SECONDS"), 900, 1, ACCESS_TOKEN_TTL_MAX_SECONDS),
    refreshTokenTtlSeconds: intIn(variable("REFRESH_TOKEN_TTL_SECONDS"), 30 * 86400, 60, 365 * 86400),
    trustedProxies: trustedProxies(serving ? variable("TRUSTED_PROXIES") : { name: "TRUSTED_PROXIES", value: undefined }),
    corsOrigins: corsOrigins(serving ? variable("CORS_ORIGINS") : { name: "CORS_ORIGINS", value: undefined }),
  };
}

/**
 * Found by QA: no shell expands a `~` after `sqlite:` or in `.env`, so `sqlite:~/taskmgr.db` made a
 * folder named `~` in the working folder (which a later `rm -rf ~` would mistake for the home folder).
 */
const startsWithTilde = (path: string) => path === "~" || /^~[\w.-]*[\\/]/.test(path);
/** A folder setting may also not be `~name` alone (a user's home folder): it made a folder named `~bob` (ops QA). A file may (`sqlite:~x.db`). */
const folderStartsWithTilde = (path: string) => /^~[\w.-]*([\\/]|$)/.test(path);
const TILDE_REASON = "starts with ~, which is not expanded (it would make a folder of that name here): write the path out";

/** A folder setting (`TASKMGR_DATA_DIR`, `LOG_DIR`) made absolute against the working folder; `~/…` is refused naming it. */
function folder(raw: Raw, fallback: string): string {
  if (raw.value !== undefined && folderStartsWithTilde(raw.value)) throw new ConfigError(`${raw.name} ${TILDE_REASON}, not "${raw.value}"`);
  return resolve(raw.value ?? fallback);
}

/**
 * `sqlite:PATH`, `sqlite::memory:` or `postgres://…` (`postgresql://…`); anything else, or `sqlite:` without a path, is refused naming the setting.
 * The scheme is read in any letter case (RFC 3986, 3.1: `SQLITE:`, `Postgres://`) and answered in lower case.
 */
function checkDatabaseUrl(raw: { name: string; value: string }): string {
  // Spaces after `sqlite:` (`sqlite: ./x.db`) are no part of the path: bun:sqlite opens the file without
  // them, and the folder, the file's mode 0600 and the watch for its removal went to the path with them.
  const url = raw.value.replace(/^[a-z][a-z0-9+.-]*:/i, (scheme) => scheme.toLowerCase()).replace(/^sqlite:\s+/, "sqlite:");
  const refuse = (why: string) => new ConfigError(`${raw.name} ${why}, not "${redact(url)}"`, raw.name.startsWith("--"));
  // The rest of a postgres:// URL is the driver's to read (it also takes several hosts: h1,h2).
  if (/^postgres(ql)?:\/\//.test(url)) return url;
  if (url.startsWith("sqlite:")) {
    if (isAmbiguousSqliteUrl(url)) throw refuse("must say sqlite:./relative/path or sqlite:///absolute/path (sqlite://path is ambiguous)");
    const path = sqlitePath(url) ?? "";
    if (path === "") throw refuse("needs a file after sqlite: (e.g. sqlite:./data/taskmgr.db), or sqlite::memory:");
    if (/[\\/]$/.test(path)) throw refuse("names a folder: add the file's name (e.g. sqlite:./data/taskmgr.db)");
    if (startsWithTilde(path)) throw refuse(`${TILDE_REASON}, e.g. sqlite:///home/me/taskmgr.db`);
    // Found by CLI QA: `sqlite:./x.db?mode=ro` and `sqlite::memory:?cache=shared` opened files named so.
    if (path.includes("?")) throw refuse("takes no parameters after ? (SQLite URI options such as mode=ro are not read): name the file only");
    return path === ":memory:" ? "sqlite::memory:" : url; // `sqlite::Memory:` too
  }
  throw refuse("must be sqlite:PATH, sqlite::memory: or postgres://…");
}

/** A configuration value that cannot be used; the CLI prints its message and exits 1 (2 when a flag gave it: bad usage). */
export class ConfigError extends Error {
  constructor(
    message: string,
    /** The value came from a command-line flag (named in the message), not from the environment. */
    readonly fromFlag = false,
  ) {
    super(message);
  }
}

/** A whole number in decimal digits (`0x10`, `1e3`, `+5` or `1.0` are refused) from `min` to `max`; `fallback` when unset. */
function intIn(raw: Raw, fallback: number, min: number, max: number): number {
  if (raw.value === undefined) return fallback;
  const text = raw.value.trim();
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${raw.name} must be an integer from ${min} to ${max}, not "${raw.value}"`, raw.name.startsWith("--"));
  }
  return n;
}

function trustedProxies(raw: Raw): ReadonlySet<string> {
  try {
    return parseTrustedProxies(raw.value);
  } catch (err) {
    throw new ConfigError(`${raw.name} must be a comma-separated list of IP addresses: ${(err as Error).message}`);
  }
}

function corsOrigins(raw: Raw): CorsOrigins {
  try {
    return parseCorsOrigins(raw.value);
  } catch (err) {
    throw new ConfigError(`${raw.name} must be * or a comma-separated list of origins: ${(err as Error).message}`);
  }
}

/** The SQLite file's folder, or `./data` for Postgres and in-memory databases. */
function defaultDataDir(databaseUrl: string): string {
  const path = sqlitePath(databaseUrl);
  return path === null || path === ":memory:" ? "./data" : dirname(path);
}
