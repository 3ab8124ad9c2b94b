import { beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../support/clock";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { seedSyncLog } from "../jobs/seed";
import { Device } from "../sync/helpers";

const NOW = Date.parse("2026-06-01T12:00:00.000Z");

/**
 * "Active" devices (GET /api/metrics, the hourly snapshot) are those with at least one successful
 * push or pull in the window: failed requests count as syncs and failures, not as activity.
 */
forEachDialect("active devices", ({ db }) => {
  let t: TestApp;
  let admin: TestUser;
  let ok: Device;

  beforeAll(async () => {
    t = await createTestApp(db(), { clock: new ManualClock(new Date(NOW)) });
    admin = await t.createUser({ role: "admin", device: "pulls fine" });
    ok = Device.of(t, admin);
    await ok.push1(ok.create("project", { name: "P" }));
    const old = (await ok.pullRaw(null)).body.cursor;
    await ok.push1(ok.create("project", { name: "Q" }));
    await t.deps.db.run("UPDATE org_feed_state SET purged_through = seq WHERE org_id = ?", [admin.org.id]);

    const badCursor = await Device.another(t, admin, "bad cursor");
    expect((await badCursor.pullRaw("nonsense")).status).toBe(400);
    const reset = await Device.another(t, admin, "reset");
    expect((await reset.pullRaw(old)).status).toBe(410);
    const badLimit = await Device.another(t, admin, "bad limit");
    expect((await badLimit.pullRaw(null, 0)).status).toBe(422);
    // Pushes refused after the device check (e.g. 503 on a lock timeout): logged with the device.
    const failing = await Device.another(t, admin, "failing pushes");
    await seedSyncLog(t.deps.db, { org: admin.org.id, at: new Date(NOW - 60_000).toISOString(), kind: "push", device: failing.id, user: admin.user.id, outcome: "error" });
    await t.services.sync.flushLog();
  });

  test("GET /api/metrics counts only the devices that synced successfully", async () => {
    const res = await t.request("GET", "/api/metrics?window=1h", { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ pushes: 3, pulls: 4, failed_syncs: 4 });
    expect(res.body.active_devices_per_user).toEqual([{ user_id: admin.user.id, email: admin.email, active_devices: 1 }]);
  });

  test("the hourly snapshot counts only the devices that synced successfully", async () => {
    await t.services.jobs.run("sync-metrics");
    const rows = await t.deps.db.all<{ sync_count: number; error_count: number; active_devices: number; active_devices_per_user: string }>(
      "SELECT sync_count, error_count, active_devices, active_devices_per_user FROM sync_metrics_snapshots WHERE org_id = ?",
      [admin.org.id],
    );
    expect(rows.map((r) => [Number(r.sync_count), Number(r.error_count), Number(r.active_devices)])).toEqual([[7, 4, 1]]);
    expect(JSON.parse(rows[0]!.active_devices_per_user)).toEqual([{ user_id: admin.user.id, active_devices: 1 }]);
  });
});

/** The job writes out its own process's buffered pull rows before it reads (`serve` runs it beside the requests). */
forEachDialect("sync-metrics and the sync log buffer", ({ db }) => {
  test("a pull still buffered when the job runs is in its snapshot", async () => {
    const t = await createTestApp(db(), { clock: new ManualClock(new Date(NOW)) });
    const u = await t.createUser();
    expect((await Device.of(t, u).pullRaw(null)).status).toBe(200);
    // No flushLog here: the row is still in the buffer (written within a second otherwise).
    await t.services.jobs.run("sync-metrics");
    const rows = await t.deps.db.all<{ sync_count: number; active_devices: number }>("SELECT sync_count, active_devices FROM sync_metrics_snapshots WHERE org_id = ?", [u.org.id]);
    expect(rows.map((r) => [Number(r.sync_count), Number(r.active_devices)])).toEqual([[1, 1]]);
  });
});
