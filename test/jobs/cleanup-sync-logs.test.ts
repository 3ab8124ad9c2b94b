import { beforeEach, expect, test } from "bun:test";
import { forEachDialect } from "../support/db";
import { jobServices } from "./helpers";
import { count, DAY, iso, resetTables, seedOrg, seedSyncLog } from "./seed";

const NOW = Date.parse("2026-06-01T03:30:00.000Z");

forEachDialect("cleanup-sync-logs", ({ db }) => {
  beforeEach(() => resetTables(db()));
  const remaining = () => count(db(), "SELECT COUNT(*) AS n FROM sync_log");

  test("deletes sync log rows older than SYNC_LOG_RETENTION_DAYS and keeps the rest", async () => {
    const org = await seedOrg(db());
    await seedSyncLog(db(), { org, at: iso(NOW - 31 * DAY) });
    await seedSyncLog(db(), { org, at: iso(NOW - 30 * DAY - 1) });
    await seedSyncLog(db(), { org, at: iso(NOW - 29 * DAY) });
    await seedSyncLog(db(), { org, at: iso(NOW) });
    const { services } = jobServices(db(), { now: iso(NOW) });
    const run = await services.jobs.run("cleanup-sync-logs");
    expect(run.ok).toBe(true);
    expect(run.result).toMatchObject({ retention_days: 30, cutoff: iso(NOW - 30 * DAY), sync_log_rows: 2 });
    expect(await remaining()).toBe(2);
  });

  test("uses the configured retention and deletes in batches", async () => {
    const org = await seedOrg(db());
    for (let i = 1; i <= 5; i++) await seedSyncLog(db(), { org, at: iso(NOW - 2 * DAY - i) });
    await seedSyncLog(db(), { org, at: iso(NOW - DAY) });
    const { services } = jobServices(db(), { now: iso(NOW), config: { syncLogRetentionDays: 2 }, jobs: { batchSize: 2 } });
    const run = await services.jobs.run("cleanup-sync-logs");
    expect(run.result).toMatchObject({ retention_days: 2, sync_log_rows: 5, batches: 3 });
    expect(await remaining()).toBe(1);
  });

  test("stops between batches when the server shuts down, and says so", async () => {
    const org = await seedOrg(db());
    await seedSyncLog(db(), { org, at: iso(NOW - 40 * DAY) });
    const { services } = jobServices(db(), { now: iso(NOW) });
    const shutdown = new AbortController();
    shutdown.abort();
    const run = await services.jobs.tick("cleanup-sync-logs", { signal: shutdown.signal });
    expect(run).toMatchObject({ ok: true, result: { sync_log_rows: 0, interrupted: true } });
    expect(await remaining()).toBe(1);
    expect((await services.jobs.run("cleanup-sync-logs")).result).toMatchObject({ sync_log_rows: 1, interrupted: false });
  });
});
