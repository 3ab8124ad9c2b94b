/**
 * On Postgres an upgrade ends with ANALYZE (src/db/migrate.ts): the statistics that plans rest on are
 * there at once, not when autovacuum comes by (never, where it is off). A fresh database, and a
 * database with nothing pending, are not analyzed.
 */
import { expect, test } from "bun:test";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import type { Database } from "../../src/db/types";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";

/** When `tasks` was last analyzed by hand (null: never), and the planner's row count of it (-1: never gathered). */
async function tasksStats(db: Database): Promise<{ analyzed: boolean; reltuples: number }> {
  const s = await db.get<{ last_analyze: string | null }>("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'tasks'");
  const c = await db.get<{ reltuples: number }>("SELECT reltuples FROM pg_class WHERE relname = 'tasks' AND relkind = 'r'");
  return { analyzed: s?.last_analyze != null, reltuples: Number(c!.reltuples) };
}

test.skipIf(!PG_AVAILABLE)("postgres: an upgrade gathers statistics; a fresh database and a current one are not analyzed", async () => {
  const { db, drop } = await createTestDatabase("postgres", { migrate: false });
  try {
    const last = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    await migrate(db, MIGRATIONS.filter((m) => m.version < last));
    expect((await tasksStats(db)).analyzed).toBe(false);

    await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', '2026-01-01T00:00:00.000Z')");
    for (let i = 0; i < 40; i++) {
      await db.run(
        `INSERT INTO tasks (id, org_id, title, status, priority, priority_rank, created_by, version, vector_clock, created_at, updated_at)
         VALUES (?, 'o', ?, 'todo', 'high', 2, 'u', 1, '{}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`,
        [`t${i}`, `task ${i}`],
      );
    }
    expect(await migrate(db)).toHaveLength(1);
    expect(await tasksStats(db)).toEqual({ analyzed: true, reltuples: 40 });

    // Nothing pending: no second ANALYZE (its time would be the first's).
    const first = await db.get<{ last_analyze: string }>("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'tasks'");
    expect(await migrate(db)).toHaveLength(0);
    expect(await db.get<{ last_analyze: string }>("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'tasks'")).toEqual(first);
  } finally {
    await drop();
  }
});
