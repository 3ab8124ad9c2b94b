import { dirname, resolve } from "node:path";
import { parseTrustedProxies } from "./http/client-address";

/** Everything taskmgr reads from flags, environment and `.env` (Bun loads `.env` without overriding the environment). */
export interface Config {
  databaseUrl: string;
  host: string;
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
}

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];

/** Flags given on the command line; each beats its environment variable. */
export interface ConfigFlags {
  db?: string;
  host?: string;
  port?: string | number;
  logLevel?: string;
}

export const DEFAULT_DATABASE_URL = "sqlite:./data/taskmgr.db";

/** Builds the configuration: flags beat environment variables, which beat `.env`, which beats defaults. */
export function loadConfig(flags: ConfigFlags = {}, env: Record<string, string | undefined> = process.env): Config {
  const databaseUrl = flags.db ?? env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const logLevel = (flags.logLevel ?? env.LOG_LEVEL ?? "info").toLowerCase();
  if (!LEVELS.includes(logLevel as LogLevel)) {
    const name = flags.logLevel !== undefined ? "--log-level" : "LOG_LEVEL";
    throw new ConfigError(`${name} must be one of ${LEVELS.join(", ")}, not "${logLevel}"`, name.startsWith("--"));
  }
  return {
    databaseUrl,
    host: flags.host ?? env.HOST ?? "127.0.0.1",
    port: intIn(flags.port !== undefined ? "--port" : "PORT", flags.port ?? env.PORT, 8000, 0, 65535),
    dataDir: resolve(env.TASKMGR_DATA_DIR ?? defaultDataDir(databaseUrl)),
    logDir: resolve(env.LOG_DIR ?? "./logs"),
    logLevel: logLevel as LogLevel,
    secret: env.TASKMGR_SECRET || null,
    tombstoneRetentionDays: intIn("TOMBSTONE_RETENTION_DAYS", env.TOMBSTONE_RETENTION_DAYS, 90, 0, 36500),
    syncLogRetentionDays: intIn("SYNC_LOG_RETENTION_DAYS", env.SYNC_LOG_RETENTION_DAYS, 30, 0, 36500),
    accessTokenTtlSeconds: intIn("ACCESS_TOKEN_TTL_SECONDS", env.ACCESS_TOKEN_TTL_SECONDS, 900, 1, 86400),
    refreshTokenTtlSeconds: intIn("REFRESH_TOKEN_TTL_SECONDS", env.REFRESH_TOKEN_TTL_SECONDS, 30 * 86400, 60, 365 * 86400),
    trustedProxies: trustedProxies(env.TRUSTED_PROXIES),
  };
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

function intIn(name: string, raw: string | number | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, not "${raw}"`, name.startsWith("--"));
  return n;
}

function trustedProxies(raw: string | undefined): ReadonlySet<string> {
  try {
    return parseTrustedProxies(raw);
  } catch (err) {
    throw new ConfigError(`TRUSTED_PROXIES must be a comma-separated list of IP addresses: ${(err as Error).message}`);
  }
}

/** The SQLite file's folder, or `./data` for Postgres and in-memory databases. */
function defaultDataDir(databaseUrl: string): string {
  if (databaseUrl.startsWith("sqlite:") && !databaseUrl.includes(":memory:")) return dirname(databaseUrl.slice("sqlite:".length));
  return "./data";
}
