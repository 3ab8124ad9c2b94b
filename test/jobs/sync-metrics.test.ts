import { beforeEach, expect, test } from "bun:test";
import { forEachDialect } from "../support/db";
import { jobServices } from "./helpers";
import { HOUR, iso, resetTables, seedOrg, seedSyncLog, snapshotsOf } from "./seed";

const TICK = Date.parse("2026-06-01T10:00:00.000Z");
const at = (minutesBeforeTick: number) => iso(TICK - minutesBeforeTick * 60_000);

forEachDialect("sync-metrics", ({ db }) => {
  beforeEach(() => resetTables(db()));

  test("stores one snapshot per organization for the hour ending at the tick", async () => {
    const a = await seedOrg(db());
    const quiet = await seedOrg(db());
    await seedSyncLog(db(), { org: a, at: at(50), kind: "push", device: "d1", user: "u1", changes: 4, applied: 3, conflicts: 1, durationMs: 10 });
    await seedSyncLog(db(), { org: a, at: at(40), kind: "pull", device: "d2", user: "u1", durationMs: 20 });
    await seedSyncLog(db(), { org: a, at: at(0), kind: "push", outcome: "error", device: "d3", user: "u2", durationMs: 30 });
    await seedSyncLog(db(), { org: a, at: at(61), kind: "push", device: "d4", user: "u3", changes: 100, conflicts: 100 });
    await seedSyncLog(db(), { org: a, at: iso(TICK + 1000), kind: "push", device: "d5", user: "u3", outcome: "error" });

    const { services } = jobServices(db(), { now: iso(TICK + 30_000) });
    const run = await services.jobs.tick("sync-metrics");
    expect(run?.ok).toBe(true);
    expect(run?.scheduled_for).toBe(iso(TICK));
    expect(run?.result).toMatchObject({ window_start: iso(TICK - HOUR), window_end: iso(TICK) });

    const [snap] = await snapshotsOf(db(), a);
    expect({ ...snap }).toMatchObject({
      window_start: iso(TICK - HOUR),
      window_end: iso(TICK),
      sync_count: 3,
      error_count: 1,
      change_count: 4,
      conflict_count: 1,
      // d3's one push failed: a sync and a failure, not an active device.
      active_devices: 2,
    });
    expect(Number(snap!.sync_success_rate)).toBeCloseTo(2 / 3, 5);
    expect(Number(snap!.conflict_rate)).toBe(0.25);
    expect(Number(snap!.average_sync_duration_ms)).toBe(20);
    expect(JSON.parse(snap!.active_devices_per_user)).toEqual([
      { user_id: "u1", active_devices: 2 },
    ]);

    const [none] = await snapshotsOf(db(), quiet);
    expect({ ...none }).toMatchObject({ sync_count: 0, error_count: 0, active_devices: 0, sync_success_rate: null, conflict_rate: null, average_sync_duration_ms: null });
  });

  test("a window is snapshotted once: a manual run for the same end adds nothing", async () => {
    const a = await seedOrg(db());
    await seedSyncLog(db(), { org: a, at: at(5) });
    const { services } = jobServices(db(), { now: iso(TICK) });
    await services.jobs.tick("sync-metrics");
    const again = await services.jobs.run("sync-metrics");
    expect(again.result).toMatchObject({ window_end: iso(TICK), snapshots: 0 });
    expect(await snapshotsOf(db(), a)).toHaveLength(1);
  });

  test("a manual run exactly on the hour does not take the scheduled run's place: the tick's run stores the hour over it, with the rows written since", async () => {
    const a = await seedOrg(db());
    await seedSyncLog(db(), { org: a, at: at(5) });
    const { services } = jobServices(db(), { now: iso(TICK) });
    const manual = await services.jobs.run("sync-metrics");
    expect(manual.result).toMatchObject({ window_end: iso(TICK) });
    expect((await snapshotsOf(db(), a))[0]!.sync_count).toBe(1);
    // A pull of the hour's last instant that the server's buffer wrote out after the manual run read
    // (what the scheduled run, in that server, writes out before it reads).
    await seedSyncLog(db(), { org: a, at: at(0), kind: "pull", device: "d2" });

    const scheduled = await services.jobs.tick("sync-metrics");
    expect(scheduled?.result).toMatchObject({ window_end: iso(TICK), snapshots: scheduled!.result!.organizations });
    const snaps = await snapshotsOf(db(), a);
    expect(snaps).toHaveLength(1);
    expect({ ...snaps[0] }).toMatchObject({ window_start: iso(TICK - HOUR), window_end: iso(TICK), sync_count: 2 });

    // A manual run after it, for the same end, still adds nothing.
    expect((await services.jobs.run("sync-metrics")).result).toMatchObject({ snapshots: 0 });
    expect((await snapshotsOf(db(), a))[0]!.sync_count).toBe(2);
  });
});
