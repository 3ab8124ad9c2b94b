/**
 * On Postgres an upgrade ends with ANALYZE (src/db/migrate.ts): the statistics that plans rest on are
 * there at once, not when autovacuum comes by (never, where it is off). A fresh database, and a
 * database with nothing pending, are not analyzed.
 */
import { expect, test } from "bun:test";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { PostgresDatabase } from "../../src/db/postgres";
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

test.skipIf(!PG_AVAILABLE)("postgres: the ANALYZE of an upgrade waits for a lock in its way (a VACUUM, another ANALYZE) instead of failing at the lock timeout", async () => {
  const { url, drop } = await createTestDatabase("postgres", { migrate: false });
  const holder = new PostgresDatabase(url);
  const db = new PostgresDatabase(url, { lockTimeoutMs: 200 });
  try {
    const last = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    await migrate(db, MIGRATIONS.filter((m) => m.version < last));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    // What a running VACUUM or ANALYZE holds on the table: the lock ANALYZE needs.
    const held = holder.transaction(async (tx) => {
      await tx.exec("LOCK TABLE tasks IN SHARE UPDATE EXCLUSIVE MODE");
      locked();
      await Bun.sleep(1_000); // five lock timeouts of the migrating connection
    });
    await holding;
    expect(await migrate(db)).toHaveLength(1);
    await held;
    expect((await tasksStats(db)).reltuples).toBe(0);
  } finally {
    await holder.close();
    await db.close();
    await drop();
  }
});
