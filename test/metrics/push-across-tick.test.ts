import { beforeAll, expect, test } from "bun:test";
import type { Database } from "../../src/db/types";
import { ManualClock } from "../support/clock";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData } from "../sync/helpers";

/** `db` whose next transaction, once armed, waits before it returns (so before its COMMIT) until released. */
function holdingOneCommit(db: Database) {
  let held: { reached: () => void; released: Promise<void> } | null = null;
  const wrapped = new Proxy(db, {
    get: (target, key, receiver) => {
      const v = Reflect.get(target, key, receiver);
      if (key !== "transaction") return typeof v === "function" ? v.bind(target) : v;
      return <T>(fn: (tx: never) => Promise<T>) =>
        target.transaction(async (tx) => {
          const hold = held;
          held = null;
          const r = await fn(tx as never);
          if (hold) {
            hold.reached();
            await hold.released;
          }
          return r;
        });
    },
  });
  /** Holds the next transaction: `atCommit` resolves when it is about to commit; `release` lets it. */
  const arm = () => {
    let reached!: () => void;
    let release!: () => void;
    const atCommit = new Promise<void>((r) => (reached = r));
    held = { reached, released: new Promise<void>((r) => (release = r)) };
    return { atCommit, release };
  };
  return { db: wrapped as Database, arm };
}

/**
 * A push whose log row is dated before the tick (10:59:59.500) but that commits after the
 * `sync-metrics` job started reading: the hour (10:00, 11:00] must count it (the next hour, by
 * its date, never will), as GET /api/metrics over the same hour does.
 */
forEachDialect("a push in flight at the hourly tick", ({ db }) => {
  let t: TestApp;
  let clock: ManualClock;
  let hold: ReturnType<typeof holdingOneCommit>;

  beforeAll(async () => {
    clock = new ManualClock(new Date("2026-06-01T10:30:00.000Z"));
    hold = holdingOneCommit(db());
    t = await createTestApp(hold.db, { clock, config: { accessTokenTtlSeconds: 86_400 } });
  });

  test("is in the hour's snapshot", async () => {
    const admin = await t.createUser({ role: "admin" });
    const d = Device.of(t, admin);
    clock.set(new Date("2026-06-01T10:59:59.500Z"));
    const held = hold.arm();
    const push = d.push1(d.create("task", taskData()));
    await held.atCommit;
    clock.set(new Date("2026-06-01T11:00:00.000Z"));
    const tick = t.services.jobs.tick("sync-metrics");
    // SQLite: the job's writes wait for the push's transaction; Postgres: they do not.
    await new Promise((r) => setTimeout(r, 100));
    held.release();
    expect((await push).status).toBe("applied");
    expect(await tick).toMatchObject({ ok: true, result: { window_end: "2026-06-01T11:00:00.000Z" } });

    const live = await t.request("GET", "/api/metrics?window=1h", { token: admin.token });
    expect(live.body).toMatchObject({ syncs: 1, pushes: 1, changes_pushed: 1 });
    const hours = await t.request("GET", "/api/metrics/hourly", { token: admin.token });
    expect(hours.body.results).toHaveLength(1);
    expect(hours.body.results[0]).toMatchObject({ to: "2026-06-01T11:00:00.000Z", syncs: 1, changes_pushed: 1, active_devices: 1 });
  });

  test("a push held past the bound does not hold up the job's flush for ever", async () => {
    const d = Device.of(t, await t.createUser({ role: "admin" }));
    const held = hold.arm();
    const push = d.push1(d.create("task", taskData()));
    await held.atCommit;
    const t0 = performance.now();
    await t.services.sync.settleLog(undefined, 50);
    expect(performance.now() - t0).toBeLessThan(5_000);
    held.release();
    expect((await push).status).toBe("applied");
  });

  test("a server stopping does not wait for the pushes in flight: the job's stop signal cuts the wait short (review)", async () => {
    const d = Device.of(t, await t.createUser({ role: "admin" }));
    const held = hold.arm();
    const push = d.push1(d.create("task", taskData()));
    await held.atCommit;
    const stop = new AbortController();
    let settled = false;
    const settling = t.services.sync.settleLog(stop.signal, 60_000).then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    stop.abort();
    await settling;
    expect(settled).toBe(true);
    held.release();
    expect((await push).status).toBe("applied");
  });
});
