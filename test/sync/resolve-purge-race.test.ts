/**
 * A conflict resolved while the tombstone purge removes its record (Postgres: two transactions
 * that really overlap). The purge deletes the record, then its conflicts; a resolution that took
 * the conflict's row first and the record's second deadlocked with it (found by
 * test/sync/concurrent-fuzz.test.ts: 503 `unavailable` to the resolver, or the purge run failed).
 *
 * The interleaving is constructed: the purge runs over a wrapper that holds its transaction right
 * after it deleted the task (its row locked), the resolution is sent and runs until it waits for a
 * lock, then the purge goes on to delete the task's conflicts.
 */
import { describe, expect, test } from "bun:test";
import type { Database, Tx } from "../../src/db/types";
import { JobsService } from "../../src/jobs/service";
import { PG_AVAILABLE } from "../support/db";
import { postgresTestApp } from "../support/pg-app";
import { taskData, twoDevices } from "./helpers";

/** `inner`, whose transactions wait for `gate` right after their first statement matching `after`. */
function pausingAfter(inner: Database, after: RegExp, reached: () => void, gate: Promise<void>): Database {
  const pausing = (tx: Tx): Tx =>
    new Proxy(tx, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== "all" && prop !== "get" && prop !== "run") return typeof value === "function" ? value.bind(target) : value;
        return async (sql: string, params?: unknown[]) => {
          const result = await value.call(target, sql, params);
          if (after.test(sql)) {
            reached();
            await gate;
          }
          return result;
        };
      },
    });
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "transaction") return <T>(fn: (tx: Tx) => Promise<T>) => target.transaction((tx) => fn(pausing(tx)));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe.skipIf(!PG_AVAILABLE)("resolution racing the tombstone purge [postgres]", () => {
  const pg = postgresTestApp({ tombstoneRetentionDays: 0 });

  test("a resolution and the purge of its record wait for each other instead of deadlocking", async () => {
    const [t, db] = [pg.app(), pg.db()];
    const { a, b, ua } = await twoDevices(t);
    const task = a.create("task", taskData({ title: "shared" }));
    await a.push(task);
    await b.pullAll();
    await a.push1(a.update("task", task.entity_id, { title: "A's title" }));
    const conflicted = await b.push1(b.update("task", task.entity_id, { title: "B's title" }));
    expect(conflicted.status).toBe("conflict");
    expect((await a.push1(a.delete("task", task.entity_id))).status).toBe("conflict");

    let deleted!: () => void;
    const taskDeleted = new Promise<void>((resolve) => (deleted = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const jobs = new JobsService({ ...t.deps, db: pausingAfter(db, /^\s*DELETE FROM tasks\b/i, deleted, gate) });
    const purge = jobs.run("cleanup-tombstones");
    await taskDeleted;

    const resolution = t.request("POST", `/api/sync/conflicts/${conflicted.conflict_id}/resolve`, { token: ua.token, body: { resolution: "remote" } });
    // Until the resolution waits for a lock the purge holds.
    for (let i = 0; ; i++) {
      const waiting = await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      if (Number(waiting?.n) > 0) break;
      if (i > 200) throw new Error("the resolution never waited for the purge");
      await Bun.sleep(10);
    }
    release();

    const run = await purge;
    const answer = await resolution;
    expect({ ok: run.ok, error: run.error ?? null }).toEqual({ ok: true, error: null });
    expect(run.result!.tasks).toBe(1);
    // The conflict went with its record.
    expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: 404, code: "not_found" });
  });
});
