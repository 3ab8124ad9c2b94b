import { beforeEach, expect, test } from "bun:test";
import { forEachDialect } from "../support/db";
import { createTestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { jobServices } from "./helpers";
import { count, DAY, HOUR, iso, resetTables, seedJobRun, seedOrg, seedSnapshot, seedSyncLog } from "./seed";

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

  test("deletes metrics snapshots whose window ended before the cutoff", async () => {
    const org = await seedOrg(db());
    for (const end of [NOW - 31 * DAY, NOW - 30 * DAY - 1, NOW - 30 * DAY, NOW - DAY]) await seedSnapshot(db(), org, iso(end));
    const { services } = jobServices(db(), { now: iso(NOW) });
    const run = await services.jobs.run("cleanup-sync-logs");
    expect(run.result).toMatchObject({ metrics_snapshot_rows: 2 });
    const left = await db().all<{ window_end: string }>("SELECT window_end FROM sync_metrics_snapshots ORDER BY window_end");
    expect(left.map((r) => r.window_end)).toEqual([iso(NOW - 30 * DAY), iso(NOW - DAY)]);
  });

  test("deletes job runs older than the retention but keeps each job's latest run, which health still shows", async () => {
    await seedJobRun(db(), "cleanup-tombstones", iso(NOW - 40 * DAY));
    const keptTombstones = await seedJobRun(db(), "cleanup-tombstones", iso(NOW - 35 * DAY));
    await seedJobRun(db(), "sync-metrics", iso(NOW - 40 * DAY));
    await seedJobRun(db(), "sync-metrics", iso(NOW - 31 * DAY));
    const recent = [await seedJobRun(db(), "sync-metrics", iso(NOW - 29 * DAY)), await seedJobRun(db(), "sync-metrics", iso(NOW - HOUR))];
    await seedJobRun(db(), "retired-job", iso(NOW - 50 * DAY), "run-a");
    await seedJobRun(db(), "retired-job", iso(NOW - 50 * DAY), "run-b");
    await seedJobRun(db(), "cleanup-sync-logs", iso(NOW - 45 * DAY));
    const { services } = jobServices(db(), { now: iso(NOW) });
    const run = await services.jobs.run("cleanup-sync-logs");
    expect(run.result).toMatchObject({ job_run_rows: 5 });
    const left = await db().all<{ id: string }>("SELECT id FROM job_runs ORDER BY id");
    expect(left.map((r) => r.id).sort()).toEqual([keptTombstones, ...recent, "run-b", run.id].sort());
    expect((await services.jobs.health())["cleanup-tombstones"]).toEqual({ last_run_at: iso(NOW - 35 * DAY), ok: true });
    expect((await services.jobs.run("cleanup-sync-logs")).result).toMatchObject({ job_run_rows: 0 });
  });

  test("keeps a run without an end for a day, whatever the retention: it may still be running (found by concurrency QA at retention 0)", async () => {
    const running = await seedJobRun(db(), "sync-metrics", iso(NOW - 10 * 60_000), undefined, { unfinished: true });
    const abandoned = await seedJobRun(db(), "sync-metrics", iso(NOW - DAY - 1), undefined, { unfinished: true });
    const later = await seedJobRun(db(), "sync-metrics", iso(NOW - 60_000));
    const { services } = jobServices(db(), { now: iso(NOW), config: { syncLogRetentionDays: 0 } });
    const run = await services.jobs.run("cleanup-sync-logs");
    expect(run.result).toMatchObject({ job_run_rows: 1 });
    const left = (await db().all<{ id: string }>("SELECT id FROM job_runs")).map((r) => r.id);
    expect(left.sort()).toEqual([running, later, run.id].sort());
    expect(left).not.toContain(abandoned);
  });

  test("prunes the four tables together in batches of batchSize rows each, and reports every count", async () => {
    const org = await seedOrg(db());
    for (let i = 1; i <= 5; i++) await seedSyncLog(db(), { org, at: iso(NOW - 40 * DAY - i) });
    for (let i = 1; i <= 3; i++) await seedSnapshot(db(), org, iso(NOW - 40 * DAY - i * HOUR));
    for (let i = 1; i <= 4; i++) await seedJobRun(db(), "sync-metrics", iso(NOW - 40 * DAY - i * HOUR));
    await seedJobRun(db(), "sync-metrics", iso(NOW - HOUR));
    const { services } = jobServices(db(), { now: iso(NOW), jobs: { batchSize: 2 } });
    const run = await services.jobs.run("cleanup-sync-logs");
    expect(run.result).toEqual({
      retention_days: 30,
      cutoff: iso(NOW - 30 * DAY),
      sync_log_rows: 5,
      metrics_snapshot_rows: 3,
      job_run_rows: 4,
      refresh_token_rows: 0,
      batches: 3,
      interrupted: false,
    });
    expect(await count(db(), "SELECT COUNT(*) AS n FROM sync_log")).toBe(0);
    expect(await count(db(), "SELECT COUNT(*) AS n FROM sync_metrics_snapshots")).toBe(0);
    expect(await count(db(), "SELECT COUNT(*) AS n FROM job_runs")).toBe(2);
  });

  test("deletes refresh tokens that expired longer ago than any access token lives (a day); a live session, and its refresh, are untouched", async () => {
    const clock = new ManualClock(new Date(NOW));
    const t = await createTestApp(db(), { clock });
    const u = await t.createUser();
    const login = async () => (await t.request("POST", "/api/auth/login", { body: { email: u.email, password: u.password } })).body;
    const old = await login();
    clock.advance(20 * DAY);
    const recent = await login();
    clock.advance(11 * DAY + HOUR); // the first login's refresh token (and the test user's own session) expired a day and an hour ago (30 days), the second's has 19 days left
    const run = await t.services.jobs.run("cleanup-sync-logs");
    expect(run.result).toMatchObject({ refresh_token_rows: 2 });
    expect(await count(db(), "SELECT COUNT(*) AS n FROM refresh_tokens WHERE user_id = ?", [u.user.id])).toBe(1);
    expect((await t.request("POST", "/api/auth/refresh", { body: { refresh: old.refresh } })).status).toBe(401);
    const renewed = await t.request("POST", "/api/auth/refresh", { body: { refresh: recent.refresh } });
    expect(renewed.status).toBe(200);
    expect((await t.request("GET", "/api/users/me", { token: renewed.body.access })).status).toBe(200);
  });

  // Found by mutation testing: with the tokens' cutoff at `now` (every expired refresh token deleted),
  // every test passed. The rows of an ended session are what refuses its access tokens (a revoked
  // one in the family): deleted while an access token of the session lives, it is accepted again.
  test("keeps an ended session's expired refresh tokens while one of its access tokens may live: a logged-out access token stays refused", async () => {
    const clock = new ManualClock(new Date(NOW));
    // Both lifetimes are configurable: here an access token outlives its refresh token.
    const t = await createTestApp(db(), { clock, config: { accessTokenTtlSeconds: 3600, refreshTokenTtlSeconds: 60 } });
    const u = await t.createUser();
    const s = (await t.request("POST", "/api/auth/login", { body: { email: u.email, password: u.password } })).body;
    expect((await t.request("POST", "/api/auth/logout", { token: s.access, body: { refresh: s.refresh } })).status).toBe(204);
    expect((await t.request("GET", "/api/users/me", { token: s.access })).status).toBe(401);
    const tokens = () => count(db(), "SELECT COUNT(*) AS n FROM refresh_tokens WHERE user_id = ?", [u.user.id]);
    const before = await tokens();
    expect(before).toBeGreaterThanOrEqual(1);

    clock.advance(30 * 60_000); // the refresh tokens expired 29 minutes ago; the access token lives 30 more
    const run = await t.services.jobs.run("cleanup-sync-logs");
    expect(run.result).toMatchObject({ refresh_token_rows: 0 });
    expect(await tokens()).toBe(before);
    expect((await t.request("GET", "/api/users/me", { token: s.access })).status).toBe(401);

    clock.advance(32 * 60_000); // every access token of the session has expired, but one issued with a longer lifetime might not have
    expect((await t.services.jobs.run("cleanup-sync-logs")).result).toMatchObject({ refresh_token_rows: 0 });
    expect((await t.request("GET", "/api/users/me", { token: s.access })).status).toBe(401);

    clock.advance(DAY); // no access token lives a day longer than its session's refresh tokens: the rows go
    expect((await t.services.jobs.run("cleanup-sync-logs")).result).toMatchObject({ refresh_token_rows: before });
    expect(await tokens()).toBe(0);
    expect((await t.request("GET", "/api/users/me", { token: s.access })).status).toBe(401);
  });

  // Found by security review: the purge kept an ended session's rows for the purging process's own
  // ACCESS_TOKEN_TTL_SECONDS. Run with a shorter one than the tokens were issued with — `taskmgr jobs
  // run cleanup-sync-logs` from a shell without the server's environment (default 900 s), an instance
  // configured otherwise, a TTL lowered since — it deleted them while an access token of the session
  // still lived, and that logged-out (or password-changed) token was accepted again until it expired.
  test("a purge by a process configured with a shorter access-token lifetime keeps the rows that refuse an ended session's longer-lived tokens", async () => {
    const clock = new ManualClock(new Date(NOW));
    const t = await createTestApp(db(), { clock, config: { accessTokenTtlSeconds: 86400, refreshTokenTtlSeconds: 60 } });
    const u = await t.createUser();
    const s = (await t.request("POST", "/api/auth/login", { body: { email: u.email, password: u.password } })).body;
    expect((await t.request("POST", "/api/auth/logout", { token: s.access, body: { refresh: s.refresh } })).status).toBe(204);
    expect((await t.request("GET", "/api/users/me", { token: s.access })).status).toBe(401);

    clock.advance(2 * HOUR); // the refresh tokens expired long ago; the access token lives 22 more hours
    const cli = jobServices(db(), { now: clock.now().toISOString(), config: { accessTokenTtlSeconds: 900 } });
    expect((await cli.services.jobs.run("cleanup-sync-logs")).result).toMatchObject({ refresh_token_rows: 0 });
    expect((await t.request("GET", "/api/users/me", { token: s.access })).status).toBe(401);
  });
});
