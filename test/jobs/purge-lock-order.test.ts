/**
 * The tombstone purge takes its row locks in id order, as a push does (`ORDER BY id FOR UPDATE`),
 * so that the two wait for each other instead of deadlocking (Postgres). Its multi-row DELETE
 * locked rows in the order the plan met them — table order on a small table — and a push holding
 * the lower id while waiting for the higher one deadlocked with it (found by
 * test/sync/concurrent-fuzz.test.ts: the purge run failed with "deadlock detected").
 *
 * Constructed: the higher id is written first (first in the table), a transaction holds the lower
 * one's lock as a push that locked it first would, and while the purge waits for it the higher
 * one must still be free.
 */
import { describe, expect, test } from "bun:test";
import { PG_AVAILABLE } from "../support/db";
import { postgresTestApp } from "../support/pg-app";
import { taskData, twoDevices } from "../sync/helpers";

describe.skipIf(!PG_AVAILABLE)("tombstone purge lock order [postgres]", () => {
  const pg = postgresTestApp({ tombstoneRetentionDays: 0 });

  test("while the purge waits for a tombstone's row lock, it holds none of a higher id", async () => {
    const [t, db] = [pg.app(), pg.db()];
    const { a } = await twoDevices(t);
    const [low, high] = [crypto.randomUUID(), crypto.randomUUID()].sort();
    for (const id of [high, low]) await a.push1(a.create("task", taskData(), id));
    for (const id of [high, low]) expect((await a.push1(a.delete("task", id))).status).toBe("applied");

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lowLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = db.transaction(async (tx) => {
      await tx.all("SELECT id FROM tasks WHERE id = ? FOR UPDATE", [low]);
      locked();
      await gate;
    });
    await lowLocked;
    const purge = t.services.jobs.run("cleanup-tombstones");
    for (let i = 0; ; i++) {
      const waiting = await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      if (Number(waiting?.n) > 0) break;
      if (i > 200) throw new Error("the purge never waited for the lock");
      await Bun.sleep(10);
    }
    let highFree: boolean;
    try {
      await db.transaction((tx) => tx.all("SELECT id FROM tasks WHERE id = ? FOR UPDATE NOWAIT", [high]));
      highFree = true;
    } catch (err) {
      if ((err as { code?: string }).code !== "55P03") throw err;
      highFree = false;
    }
    release();
    await holder;
    const run = await purge;
    expect(highFree).toBe(true);
    expect({ ok: run.ok, tasks: run.result?.tasks }).toEqual({ ok: true, tasks: 2 });
  });
});
