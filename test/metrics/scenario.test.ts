import { beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../support/clock";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData } from "../sync/helpers";

/**
 * End to end: real pushes and pulls over HTTP (app.handle) by several users and devices of two
 * organizations, at known times, then every place that reports their figures — GET /api/metrics
 * (JSON and Prometheus text), the hourly snapshots, `jobs list`, health — against figures counted
 * by hand from the scenario below.
 */
const at = (hhmmss: string) => new Date(`2026-06-01T${hhmmss}.000Z`);

/**
 * Checks a Prometheus text exposition (0.0.4): every line a HELP, a TYPE or a sample; each family's
 * HELP and TYPE once, before its samples, which are contiguous; label values escaped; no series twice.
 * Returns the samples by `name{labels}`.
 */
function parseExposition(text: string): Map<string, string> {
  expect(text.endsWith("\n")).toBe(true);
  const label = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`;
  const sample = new RegExp(String.raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{${label}(?:,${label})*\})? (\S+)$`);
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const done = new Set<string>();
  const series = new Map<string, string>();
  let current: string | null = null;
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name] = meta;
      if (kind === "HELP") {
        expect(helps.has(name!)).toBe(false);
        helps.add(name!);
      } else {
        expect(types.has(name!)).toBe(false);
        expect(["counter", "gauge", "histogram"]).toContain(meta[3]!);
        types.set(name!, meta[3]!);
      }
      if (current !== name) {
        if (current !== null) done.add(current);
        expect(done.has(name!)).toBe(false);
        current = name!;
      }
      continue;
    }
    const m = sample.exec(line);
    if (!m) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const histogram = /^(.*)_(bucket|sum|count)$/.exec(m[1]!);
    const family = histogram && types.get(histogram[1]!) === "histogram" ? histogram[1]! : m[1]!;
    expect(family).toBe(current!);
    expect(types.has(family) && helps.has(family)).toBe(true);
    const key = `${m[1]}${m[2] ?? ""}`;
    expect(series.has(key)).toBe(false);
    expect(m[3] === "NaN" || m[3] === "+Inf" || Number.isFinite(Number(m[3]))).toBe(true);
    series.set(key, m[3]!);
  }
  return series;
}

forEachDialect("metrics of a scripted scenario", ({ db }) => {
  let t: TestApp;
  let clock: ManualClock;
  let a: TestUser, m: TestUser, n: TestUser, b: TestUser;
  let aP: Device, mA: Device, mB: Device, nA: Device, bP: Device;

  beforeAll(async () => {
    clock = new ManualClock(at("09:30:00"));
    t = await createTestApp(db(), { clock, config: { tombstoneRetentionDays: 0, accessTokenTtlSeconds: 86_400 } });
    // Organization A: an admin (one device), a member with two devices, a member with one.
    a = await t.createUser({ role: "admin", device: "a phone" });
    m = await t.createUser({ org: a.org.slug, device: "m laptop" });
    n = await t.createUser({ org: a.org.slug, device: "n phone" });
    // Organization B: its admin, with one device.
    b = await t.createUser({ role: "admin", device: "b phone" });
    [aP, mA, nA, bP] = [Device.of(t, a), Device.of(t, m), Device.of(t, n), Device.of(t, b)];
    mB = await Device.another(t, m, "m tablet");
    const set = (hhmmss: string) => clock.set(at(hhmmss));

    // 10:00:00.000 exactly: in the hour (09:00, 10:00], not in (10:00, 11:00].
    set("10:00:00");
    expect((await mB.pullRaw(null)).status).toBe(200);

    set("10:05:00");
    const t1 = mA.create("task", taskData({ title: "A task" }));
    const created = await mA.push(mA.create("project", { name: "P" }), t1);
    expect(created.map((r) => r.status)).toEqual(["applied", "applied"]);
    aP.learn(t1.entity_id, created[1]!.record);

    set("10:10:00");
    const snapshot = await nA.pullRaw(null);
    expect(snapshot.status).toBe(200);

    set("10:15:00");
    const priority = mA.update("task", t1.entity_id, { priority: "high" });
    expect((await mA.push1(priority)).status).toBe("applied");
    const mKnew = structuredClone(mA.known.get(t1.entity_id)!);

    set("10:20:00");
    expect((await aP.push1(aP.update("task", t1.entity_id, { status: "done" }))).status).toBe("merged");
    set("10:20:30");
    expect((await bP.push1(bP.create("project", { name: "B" }))).status).toBe("applied");
    set("10:25:00");
    expect((await aP.push1(aP.update("task", t1.entity_id, { title: "Alpha" }))).status).toBe("applied");

    // One push of four changes: a conflict (both edited the title), a retry, an old clock, a bad entity.
    set("10:30:00");
    mA.known.set(t1.entity_id, mKnew);
    const title = mA.update("task", t1.entity_id, { title: "Mike" });
    const stale = { ...mA.update("task", t1.entity_id, { priority: "low" }), vector_clock: { [mA.id]: 1 } };
    const bad = { ...mA.create("task", taskData()), entity: "epic" };
    expect((await mA.push(title, priority, stale, bad)).map((r) => r.status)).toEqual(["conflict", "duplicate", "stale", "rejected"]);

    set("10:32:00");
    const t2 = mA.create("task", taskData({ title: "gone" }));
    expect((await mA.push1(t2)).status).toBe("applied");
    set("10:33:00");
    expect((await mA.push1(mA.delete("task", t2.entity_id))).status).toBe("applied");

    // Failed syncs of organization A.
    set("10:35:00");
    expect((await t.request("POST", "/api/sync/push", { token: m.token, body: { device_id: nA.id, changes: [] } })).status).toBe(403);
    set("10:36:00");
    expect((await mA.pushRaw(Array.from({ length: 1001 }, () => mA.create("project", { name: "x" })))).status).toBe(413);
    set("10:38:00");
    expect((await mA.pullRaw(null, 0)).status).toBe(422);
    set("10:39:00");
    // No caller: in no organization's figures.
    expect((await t.request("POST", "/api/sync/push", { body: { device_id: mA.id, changes: [] } })).status).toBe(401);
    set("10:39:30");
    expect((await t.services.jobs.run("cleanup-tombstones")).ok).toBe(true);
    set("10:40:00");
    expect((await nA.pullRaw(snapshot.body.cursor)).status).toBe(410);
    set("10:41:00");
    expect((await nA.pullRaw(null)).status).toBe(200);
    set("10:42:00");
    expect((await mA.pullRaw("nonsense")).status).toBe(400);

    // Organization B: a pull, and a push naming a device of organization A (403, in B's figures).
    set("10:50:00");
    expect((await bP.pullRaw(null)).status).toBe(200);
    expect((await t.request("POST", "/api/sync/push", { token: b.token, body: { device_id: mA.id, changes: [] } })).status).toBe(403);

    // 11:00:00.000 exactly: in (10:00, 11:00].
    set("11:00:00");
    expect((await aP.pullRaw(null)).status).toBe(200);
    await t.services.sync.flushLog();
  });

  /** The mean `duration_ms` of the organization's log rows in `(from, to]`, rounded as reported. */
  const meanDuration = async (orgId: string, from: string, to: string) => {
    const rows = await t.deps.db.all<{ d: number }>("SELECT duration_ms AS d FROM sync_log WHERE org_id = ? AND created_at > ? AND created_at <= ?", [orgId, from, to]);
    return Math.round((rows.reduce((s, r) => s + Number(r.d), 0) / rows.length) * 1000) / 1000;
  };

  // Organization A in (10:00, 11:00]: 7 processed pushes (11 changes) + 403 + 413; pulls at 10:10,
  // 10:38 (422), 10:40 (410), 10:41, 10:42 (400), 11:00. Failed: 403, 413, 422, 410, 400.
  const hourOfA = {
    syncs: 15,
    failed_syncs: 5,
    sync_success_rate: 0.666667,
    changes_pushed: 11,
    conflict_rate: 0.090909,
  };

  test("GET /api/metrics?window=1h: the hand-counted figures of (10:00, 11:00], organization A only", async () => {
    const res = await t.request("GET", "/api/metrics?window=1h", { token: a.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      window: "1h",
      from: "2026-06-01T10:00:00.000Z",
      to: "2026-06-01T11:00:00.000Z",
      ...hourOfA,
      pushes: 9,
      pulls: 6,
      push_results: { applied: 6, merged: 1, conflict: 1, duplicate: 1, stale: 1, rejected: 1 },
      open_conflicts: 1,
      average_sync_duration_ms: await meanDuration(a.org.id, "2026-06-01T10:00:00.000Z", "2026-06-01T11:00:00.000Z"),
    });
    // m's tablet synced at 10:00:00.000 only: outside the window.
    const active = Object.fromEntries(res.body.active_devices_per_user.map((u: { user_id: string; active_devices: number }) => [u.user_id, u.active_devices]));
    expect(active).toEqual({ [a.user.id]: 1, [m.user.id]: 1, [n.user.id]: 1 });
    const last = Object.fromEntries(res.body.devices.map((d: { device_id: string; last_sync_at: string | null }) => [d.device_id, d.last_sync_at]));
    expect(last).toEqual({
      [aP.id]: "2026-06-01T11:00:00.000Z",
      [mA.id]: "2026-06-01T10:42:00.000Z",
      [mB.id]: "2026-06-01T10:00:00.000Z",
      [nA.id]: "2026-06-01T10:41:00.000Z",
    });
  });

  test("the window's start is exclusive, its end inclusive", async () => {
    const two = await t.request("GET", "/api/metrics?window=2h", { token: a.token });
    expect(two.body).toMatchObject({ syncs: 16, pulls: 7, failed_syncs: 5 });
    expect(two.body.active_devices_per_user).toContainEqual({ user_id: m.user.id, email: m.email, active_devices: 2 });
    const minute = await t.request("GET", "/api/metrics?window=1m", { token: a.token });
    expect(minute.body).toMatchObject({ syncs: 1, pulls: 1, pushes: 0, changes_pushed: 0, conflict_rate: null, sync_success_rate: 1 });
  });

  test("organization B sees its own figures and nothing of A's", async () => {
    const res = await t.request("GET", "/api/metrics?window=1h", { token: b.token });
    expect(res.body).toMatchObject({
      syncs: 3,
      pushes: 2,
      pulls: 1,
      failed_syncs: 1,
      sync_success_rate: 0.666667,
      changes_pushed: 1,
      conflict_rate: 0,
      push_results: { applied: 1, merged: 0, conflict: 0, duplicate: 0, stale: 0, rejected: 0 },
      open_conflicts: 0,
      active_devices_per_user: [{ user_id: b.user.id, email: b.email, active_devices: 1 }],
      average_sync_duration_ms: await meanDuration(b.org.id, "2026-06-01T10:00:00.000Z", "2026-06-01T11:00:00.000Z"),
    });
    expect(res.body.devices.map((d: { device_id: string }) => d.device_id)).toEqual([bP.id]);
  });

  test("the Prometheus text is valid and says the same", async () => {
    const res = await t.request("GET", "/api/metrics?window=1h", { token: a.token, headers: { accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1" } });
    expect(res.status).toBe(200);
    const s = parseExposition(res.body);
    const w = 'window="1h"';
    expect(s.get(`taskmgr_sync_requests{${w},kind="push"}`)).toBe("9");
    expect(s.get(`taskmgr_sync_requests{${w},kind="pull"}`)).toBe("6");
    expect(s.get(`taskmgr_sync_failed_requests{${w}}`)).toBe("5");
    expect(s.get(`taskmgr_sync_success_rate{${w}}`)).toBe("0.666667");
    expect(s.get(`taskmgr_sync_conflict_rate{${w}}`)).toBe("0.090909");
    expect(s.get("taskmgr_sync_open_conflicts")).toBe("1");
    for (const [status, n] of Object.entries({ applied: 6, merged: 1, conflict: 1, duplicate: 1, stale: 1, rejected: 1 })) {
      expect(s.get(`taskmgr_sync_push_results{${w},status="${status}"}`)).toBe(String(n));
    }
    for (const u of [a, m, n]) expect(s.get(`taskmgr_sync_active_devices{${w},user_id="${u.user.id}"}`)).toBe("1");
    expect(s.get(`taskmgr_device_last_sync_timestamp_seconds{device_id="${mB.id}",user_id="${m.user.id}"}`)).toBe(String(Date.parse("2026-06-01T10:00:00.000Z") / 1000));
    const ofB = [...s.keys()].filter((k) => k.includes(b.user.id) || k.includes(bP.id));
    expect(ofB).toEqual([]);
  });

  test("the hourly snapshots (scheduled and manual), jobs list and health agree", async () => {
    clock.set(at("11:00:00"));
    const tick = await t.services.jobs.tick("sync-metrics");
    expect(tick).toMatchObject({ ok: true, result: { window_start: "2026-06-01T10:00:00.000Z", window_end: "2026-06-01T11:00:00.000Z", organizations: 2, snapshots: 2 } });
    clock.set(at("11:00:30"));
    expect(await t.services.jobs.run("sync-metrics")).toMatchObject({ ok: true, result: { window_end: "2026-06-01T11:00:30.000Z", snapshots: 2 } });

    const perUser = (body: { active_devices_per_user: { user_id: string; active_devices: number }[] }) =>
      Object.fromEntries(body.active_devices_per_user.map((u) => [u.user_id, u.active_devices]));
    const hours = await t.request("GET", "/api/metrics/hourly", { token: a.token });
    expect(hours.body.results.map((h: { to: string }) => h.to)).toEqual(["2026-06-01T11:00:30.000Z", "2026-06-01T11:00:00.000Z"]);
    for (const h of hours.body.results) {
      expect(h).toMatchObject({ ...hourOfA, conflicts: 1, active_devices: 3 });
      expect(perUser(h)).toEqual({ [a.user.id]: 1, [m.user.id]: 1, [n.user.id]: 1 });
    }
    expect(hours.body.results[1]).toMatchObject({
      from: "2026-06-01T10:00:00.000Z",
      generated_at: "2026-06-01T11:00:00.000Z",
      average_sync_duration_ms: await meanDuration(a.org.id, "2026-06-01T10:00:00.000Z", "2026-06-01T11:00:00.000Z"),
    });
    const onTheHour = await t.request("GET", "/api/metrics/hourly?from=2026-06-01T10:00:00Z&to=2026-06-01T13:00:00%2B02:00", { token: a.token });
    expect(onTheHour.body.results.map((h: { to: string }) => h.to)).toEqual(["2026-06-01T11:00:00.000Z"]);

    const hoursOfB = await t.request("GET", "/api/metrics/hourly", { token: b.token });
    // B's two hours too (the loop below checks nothing of a list that came back empty).
    expect(hoursOfB.body.results.map((h: { to: string }) => h.to)).toEqual(["2026-06-01T11:00:30.000Z", "2026-06-01T11:00:00.000Z"]);
    for (const h of hoursOfB.body.results) {
      expect(h).toMatchObject({ syncs: 3, failed_syncs: 1, changes_pushed: 1, conflicts: 0, active_devices: 1 });
      expect(perUser(h)).toEqual({ [b.user.id]: 1 });
    }

    const jobs = Object.fromEntries((await t.services.jobs.list()).map((j) => [j.name, j]));
    expect(jobs["sync-metrics"]!.last_run).toMatchObject({ started_at: "2026-06-01T11:00:30.000Z", ok: true, kind: "manual" });
    expect(jobs["sync-metrics"]!.next_run_at).toBe("2026-06-01T12:00:00.000Z");
    expect(jobs["cleanup-tombstones"]!.last_run).toMatchObject({ started_at: "2026-06-01T10:39:30.000Z", ok: true, result: { tasks: 1 } });
    const health = await t.request("GET", "/api/health");
    expect(health.body.jobs).toEqual({
      "cleanup-tombstones": { last_run_at: "2026-06-01T10:39:30.000Z", ok: true },
      "cleanup-sync-logs": { last_run_at: null, ok: null },
      "sync-metrics": { last_run_at: "2026-06-01T11:00:30.000Z", ok: true },
    });
  });
});
