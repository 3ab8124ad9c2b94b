import { PostgresDatabase } from "./postgres";
import { SqliteDatabase } from "./sqlite";
import type { Database } from "./types";
import { sqlitePath } from "./url";

/**
 * Opens the database named by a `DATABASE_URL`: `sqlite:PATH`, `sqlite::memory:` or `postgres://…`.
 * `readOnly`: a SQLite file is opened without changing it (it must exist); Postgres is read only by what is sent.
 * `poolSize`: Postgres connections (default 10 here; `serve` and the CLI pass `DATABASE_POOL_SIZE`, src/config.ts; SQLite has one writer and one reader).
 */
export function openDatabase(url: string, opts: { readOnly?: boolean; poolSize?: number } = {}): Database {
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) return new PostgresDatabase(url, { max: opts.poolSize });
  const path = sqlitePath(url);
  if (path !== null && path !== "") return new SqliteDatabase(path, { readOnly: opts.readOnly === true && path !== ":memory:" });
  throw new Error(`unsupported DATABASE_URL "${url}": use sqlite:PATH, sqlite::memory: or postgres://…`);
}
