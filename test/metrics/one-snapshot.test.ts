import { beforeEach, expect, test } from "bun:test";
import type { Database } from "../../src/db/types";
import { MetricsService } from "../../src/metrics/service";
import { jobServices } from "../jobs/helpers";
import { iso, resetTables, seedOrg, seedSyncLog, snapshotsOf } from "../jobs/seed";
import { testConfig, testLogger } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";

const NOW = Date.parse("2026-06-01T10:00:00.000Z");
const at = (minutesBefore: number) => iso(NOW - minutesBefore * 60_000);

/**
 * `db`, where the first read of `sync_log` is followed, before its answer comes back, by `flush`:
 * as the sync log buffer's write of pull rows could land between two statements.
 */
function flushingAfterFirstRead(db: Database, flush: () => Promise<void>): Database {
  let flushed = false;
  const after = async <T>(sql: string, read: Promise<T>): Promise<T> => {
    const r = await read;
    if (!flushed && /\bsync_log\b/.test(sql)) {
      flushed = true;
      await flush();
    }
    return r;
  };
  return new Proxy(db, {
    get: (target, key, receiver) => {
      const v = Reflect.get(target, key, receiver);
      if (key === "all" || key === "get") return (sql: string, params?: never) => after(sql, (v as Database["all"]).call(target, sql, params));
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** The totals and the active devices of one window are read in one statement: they describe the same rows. */
forEachDialect("metrics read in one snapshot", ({ db }) => {
  beforeEach(() => resetTables(db()));

  const seed = async () => {
    const org = await seedOrg(db());
    await seedSyncLog(db(), { org, at: at(30), kind: "pull", device: "d1", user: "u1" });
    // A pull of another device, buffered when the reads start and written between them.
    const flush = () => seedSyncLog(db(), { org, at: at(1), kind: "pull", device: "d2", user: "u2" });
    return { org, flush };
  };

  test("the hourly snapshot's active devices agree with its syncs", async () => {
    const { org, flush } = await seed();
    const { services } = jobServices(flushingAfterFirstRead(db(), flush), { now: iso(NOW) });
    expect((await services.jobs.tick("sync-metrics"))?.ok).toBe(true);
    const [snap] = await snapshotsOf(db(), org);
    expect([Number(snap!.sync_count), Number(snap!.active_devices)]).toEqual([1, 1]);
    expect(JSON.parse(snap!.active_devices_per_user)).toEqual([{ user_id: "u1", active_devices: 1 }]);
  });

  test("GET /api/metrics's active devices agree with its syncs", async () => {
    const { org, flush } = await seed();
    const clock = new ManualClock(new Date(NOW));
    const metrics = new MetricsService({ db: flushingAfterFirstRead(db(), flush), clock, log: testLogger(), config: testConfig() });
    const r = await metrics.report(org, "1h");
    expect(r.syncs).toBe(1);
    expect(r.active_devices_per_user.map((u) => [u.user_id, u.active_devices])).toEqual([["u1", 1]]);
  });
});
