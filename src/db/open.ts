import { PostgresDatabase } from "./postgres";
import { SqliteDatabase } from "./sqlite";
import type { Database } from "./types";

/** The SQLite file (or `:memory:`) a `sqlite:` URL names; null for another kind of URL. */
export function sqlitePath(url: string): string | null {
  if (!url.startsWith("sqlite:")) return null;
  const path = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
  return path === ":memory:" || path === "" ? ":memory:" : path;
}

/** Opens the database named by a `DATABASE_URL`: `sqlite:PATH`, `sqlite::memory:` or `postgres://…`. */
export function openDatabase(url: string): Database {
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) return new PostgresDatabase(url);
  const path = sqlitePath(url);
  if (path !== null) return new SqliteDatabase(path);
  throw new Error(`unsupported DATABASE_URL "${url}": use sqlite:PATH, sqlite::memory: or postgres://…`);
}
