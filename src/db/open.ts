import { PostgresDatabase } from "./postgres";
import { SqliteDatabase } from "./sqlite";
import type { Database } from "./types";

/** Opens the database named by a `DATABASE_URL`: `sqlite:PATH`, `sqlite::memory:` or `postgres://…`. */
export function openDatabase(url: string): Database {
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) return new PostgresDatabase(url);
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    return new SqliteDatabase(path === ":memory:" || path === "" ? ":memory:" : path);
  }
  throw new Error(`unsupported DATABASE_URL "${url}": use sqlite:PATH, sqlite::memory: or postgres://…`);
}
