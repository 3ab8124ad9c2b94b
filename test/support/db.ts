import { afterAll, beforeAll, describe } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import type { Database, Executor } from "../../src/db/types";

export type Dialect = "sqlite" | "postgres";

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

let pgReachable: Promise<boolean> | null = null;

/** Whether the test Postgres answers; with `CI` set, an unreachable Postgres is an error, not a skip. */
export function postgresAvailable(): Promise<boolean> {
  pgReachable ??= (async () => {
    const sql = postgres(ADMIN_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
    try {
      await sql`SELECT 1`;
      return true;
    } catch {
      if (process.env.CI) throw new Error(`CI is set but Postgres is not reachable at ${ADMIN_URL}`);
      return false;
    } finally {
      await sql.end({ timeout: 1 });
    }
  })();
  return pgReachable;
}

/** Resolved once per test process (top-level await), so suites can be skipped at definition time. */
export const PG_AVAILABLE = await postgresAvailable();
if (!PG_AVAILABLE) console.log(`Postgres not reachable at ${ADMIN_URL}: Postgres tests skipped`);

/** The dialects this run tests: SQLite always, Postgres when reachable (always under CI). */
export const DIALECTS: Dialect[] = PG_AVAILABLE ? ["sqlite", "postgres"] : ["sqlite"];

/**
 * The prefix of the Postgres databases tests create (and drop): `TEST_DB_PREFIX` (letters, digits and
 * `_`), so that several checkouts testing against one server at once can tell theirs apart; `taskmgr_test_` by default.
 */
const DB_PREFIX = (() => {
  const prefix = process.env.TEST_DB_PREFIX?.trim() || "taskmgr_test_";
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) throw new Error(`TEST_DB_PREFIX must be lower-case letters, digits and _ (at most 41), not ${JSON.stringify(prefix)}`);
  return prefix;
})();

/** A fresh, migrated database of one dialect and a function that drops it. Postgres gets its own database. */
export async function createTestDatabase(dialect: Dialect, opts: { migrate?: boolean } = {}): Promise<{ db: Database; url: string; drop: () => Promise<void> }> {
  if (dialect === "sqlite") {
    // A file, as deployed: WAL, the checkpoint worker and the read connection are all exercised.
    const dir = mkdtempSync(join(tmpdir(), "taskmgr-test-"));
    const url = `sqlite:${join(dir, "test.db")}`;
    const db = openDatabase(url);
    if (opts.migrate !== false) await migrate(db);
    return {
      db,
      url,
      drop: async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `${DB_PREFIX}${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = openDatabase(url);
  if (opts.migrate !== false) await migrate(db);
  return {
    db,
    url,
    drop: async () => {
      await db.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end({ timeout: 1 });
    },
  };
}

/**
 * Declares the suite `fn` once per available dialect, each with its own fresh migrated
 * database (created before, dropped after the suite).
 */
export function forEachDialect(name: string, fn: (ctx: { dialect: Dialect; db: () => Database; url: () => string }) => void): void {
  for (const dialect of DIALECTS) {
    describe(`${name} [${dialect}]`, () => {
      let handle: Awaited<ReturnType<typeof createTestDatabase>> | null = null;
      beforeAll(async () => {
        handle = await createTestDatabase(dialect);
      });
      afterAll(async () => {
        await handle?.drop();
      });
      fn({ dialect, db: () => handle!.db, url: () => handle!.url });
    });
  }
}

/** The `n` of a `SELECT COUNT(*) AS n …` query. */
export async function count(db: Executor, sql: string, params: (string | number)[] = []): Promise<number> {
  const r = await db.get<{ n: number }>(sql, params);
  return Number(r?.n ?? 0);
}

/** Index name → its definition as the database states it (columns and WHERE, spaces folded), of the tables named. */
export async function indexDefinitions(db: Executor, tables: readonly string[]): Promise<Map<string, string>> {
  const marks = tables.map(() => "?").join(", ");
  const rows =
    db.dialect === "sqlite"
      ? await db.all<{ name: string; def: string }>(`SELECT name, sql AS def FROM sqlite_master WHERE type = 'index' AND tbl_name IN (${marks}) AND sql IS NOT NULL`, [...tables])
      : await db.all<{ name: string; def: string }>(`SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename IN (${marks})`, [...tables]);
  return new Map(rows.map((r) => [r.name, r.def.replace(/\s+/g, " ")]));
}
