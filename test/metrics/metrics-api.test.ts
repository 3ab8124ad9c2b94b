import { beforeAll, expect, test } from "bun:test";
import { ManualClock } from "../support/clock";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { seedConflict, seedSyncLog } from "../jobs/seed";

const NOW = Date.parse("2026-06-01T12:00:00.000Z");
/** Elysia runs after-response hooks (which feed the HTTP metrics) once the event loop turns. */
const afterResponseHooks = () => new Promise((done) => setImmediate(done));
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();

forEachDialect("GET /api/metrics", ({ db }) => {
  let t: TestApp;
  let admin: TestUser;
  let member: TestUser;
  let laptop: string;

  beforeAll(async () => {
    t = await createTestApp(db(), { clock: new ManualClock(new Date(NOW)) });
    admin = await t.createUser({ role: "admin", device: "phone" });
    member = await t.createUser({ org: admin.org.slug, role: "member", device: "member phone" });
    laptop = (await t.services.devices.create({ userId: admin.user.id, orgId: admin.org.id }, { name: "laptop" })).id;
    const other = await t.createUser({ role: "admin" });
    const org = admin.org.id;
    await seedSyncLog(db(), { org, at: ago(30), kind: "push", device: admin.deviceId, user: admin.user.id, changes: 6, applied: 3, merged: 1, conflicts: 1, stale: 1, durationMs: 10 });
    await seedSyncLog(db(), { org, at: ago(20), kind: "pull", device: laptop, user: admin.user.id, durationMs: 20 });
    // Refused whole (e.g. 413): its changes are not counted as pushed.
    await seedSyncLog(db(), { org, at: ago(5), kind: "push", device: member.deviceId, user: member.user.id, outcome: "error", changes: 1001, durationMs: 60 });
    await seedSyncLog(db(), { org, at: ago(3 * 60), kind: "push", device: member.deviceId, user: member.user.id, changes: 2, applied: 1, duplicates: 1, durationMs: 30 });
    await seedSyncLog(db(), { org, at: ago(3 * 24 * 60), kind: "pull", device: admin.deviceId, user: admin.user.id, durationMs: 100 });
    await seedSyncLog(db(), { org: other.org.id, at: ago(10), kind: "push", device: other.deviceId, user: other.user.id, outcome: "error" });
    await seedConflict(db(), org, "task", crypto.randomUUID());
    await seedConflict(db(), org, "task", crypto.randomUUID(), true);
    await seedConflict(db(), other.org.id, "task", crypto.randomUUID());
  });

  test("401 without a token, 403 for a member", async () => {
    expect((await t.request("GET", "/api/metrics")).status).toBe(401);
    const res = await t.request("GET", "/api/metrics", { token: member.token });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
  });

  test("JSON over the default 24h window for the admin's organization only", async () => {
    const res = await t.request("GET", "/api/metrics/", { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      window: "24h",
      from: ago(24 * 60),
      to: ago(0),
      generated_at: ago(0),
      syncs: 4,
      pushes: 3,
      pulls: 1,
      failed_syncs: 1,
      sync_success_rate: 0.75,
      changes_pushed: 8,
      conflict_rate: 0.125,
      average_sync_duration_ms: 30,
      push_results: { applied: 4, merged: 1, conflict: 1, duplicate: 1, stale: 1, rejected: 0 },
      open_conflicts: 1,
    });
    expect(res.body.active_devices_per_user).toEqual([
      { user_id: admin.user.id, email: admin.email, active_devices: 2 },
      { user_id: member.user.id, email: member.email, active_devices: 1 },
    ]);
    const devices = Object.fromEntries(res.body.devices.map((d: { device_id: string; last_sync_at: string | null }) => [d.device_id, d]));
    expect(Object.keys(devices).sort()).toEqual([admin.deviceId!, member.deviceId!, laptop].sort());
    expect(devices[admin.deviceId!]).toMatchObject({ user_id: admin.user.id, name: "phone", last_sync_at: ago(30) });
    expect(devices[laptop]).toMatchObject({ last_sync_at: ago(20) });
    expect(devices[member.deviceId!]).toMatchObject({ user_id: member.user.id, last_sync_at: ago(5) });
  });

  test("?window narrows or widens the window", async () => {
    const hour = await t.request("GET", "/api/metrics?window=1h", { token: admin.token });
    expect(hour.body).toMatchObject({ window: "1h", syncs: 3, failed_syncs: 1, changes_pushed: 6, conflict_rate: 0.166667 });
    const week = await t.request("GET", "/api/metrics?window=7d", { token: admin.token });
    expect(week.body).toMatchObject({ window: "7d", syncs: 5, pulls: 2 });
    const empty = await t.request("GET", "/api/metrics?window=1m", { token: admin.token });
    expect(empty.body).toMatchObject({ syncs: 0, sync_success_rate: null, conflict_rate: null, average_sync_duration_ms: null, active_devices_per_user: [] });
  });

  test("an invalid window is 422 naming the field", async () => {
    for (const w of ["forever", "0h", "10y"]) {
      const res = await t.request("GET", `/api/metrics?window=${w}`, { token: admin.token });
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: "validation_failed", details: { fields: { window: expect.any(String) } } });
    }
  });

  test("Accept: text/plain answers the Prometheus text format, HTTP metrics included", async () => {
    await t.request("GET", "/api/health");
    await t.request("GET", "/api/no-such-route/123");
    // Its own 403 (it counted the one of "401 without a token, 403 for a member", and failed when run before it).
    expect((await t.request("GET", "/api/metrics", { token: member.token })).status).toBe(403);
    // Refused before routing (the body is not JSON; JSON nested too deep): counted with their status, not 200.
    expect((await t.request("POST", "/api/tasks", { token: admin.token, body: "title=x", headers: { "content-type": "text/plain" } })).status).toBe(400);
    expect((await t.request("POST", "/api/tasks", { token: admin.token, body: "[".repeat(40) + "]".repeat(40) })).status).toBe(422);
    expect((await t.request("POST", "/api/tasks", { token: admin.token, body: "x", headers: { "content-length": String(6 * 1024 * 1024) } })).status).toBe(413);
    expect((await t.request("PUT", `/api/tasks/${crypto.randomUUID()}`, { token: admin.token, body: {} })).status).toBe(405);
    await afterResponseHooks();
    const res = await t.request("GET", "/api/metrics", { token: admin.token, headers: { accept: "text/plain" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    // Found by reading the HTTP layer: the format follows Accept, which the answer did not say to caches.
    expect(res.headers.get("vary")).toBe("Accept");
    expect((await t.request("GET", "/api/metrics", { token: admin.token })).headers.get("vary")).toBe("Accept");
    const text: string = res.body;
    expect(text).toContain("# TYPE taskmgr_sync_success_rate gauge\n");
    expect(text).toContain('taskmgr_sync_success_rate{window="24h"} 0.75\n');
    expect(text).toContain('taskmgr_sync_conflict_rate{window="24h"} 0.125\n');
    expect(text).toContain('taskmgr_sync_duration_average_seconds{window="24h"} 0.03\n');
    expect(text).toContain('taskmgr_sync_requests{window="24h",kind="push"} 3\n');
    expect(text).toContain('taskmgr_sync_push_results{window="24h",status="applied"} 4\n');
    expect(text).toContain("taskmgr_sync_open_conflicts 1\n");
    expect(text).toContain(`taskmgr_sync_active_devices{window="24h",user_id="${admin.user.id}"} 2\n`);
    expect(text).toContain(`taskmgr_device_last_sync_timestamp_seconds{device_id="${laptop}",user_id="${admin.user.id}"} ${(NOW - 20 * 60_000) / 1000}\n`);
    expect(text).toContain('taskmgr_http_requests_total{method="GET",route="/api/health",status="200"} ');
    expect(text).toContain('taskmgr_http_requests_total{method="GET",route="/api/metrics",status="403"} ');
    expect(text).toContain('taskmgr_http_requests_total{method="GET",route="unmatched",status="404"} 1\n');
    expect(text).toContain('taskmgr_http_requests_total{method="PUT",route="/api/tasks/:id",status="405"} 1\n');
    expect(text).toContain('taskmgr_http_requests_total{method="POST",route="/api/tasks",status="400"} 1\n');
    expect(text).toContain('taskmgr_http_requests_total{method="POST",route="/api/tasks",status="422"} 1\n');
    expect(text).toContain('taskmgr_http_requests_total{method="POST",route="/api/tasks",status="413"} 1\n');
    expect(text).not.toMatch(/taskmgr_http_requests_total\{method="POST",route="[^"]*",status="200"\}/);
    expect(text).toMatch(/taskmgr_http_request_duration_seconds_bucket\{method="GET",route="\/api\/health",status="200",le="\+Inf"\} \d+\n/);
    for (const line of text.trimEnd().split("\n")) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{.*\})? (-?[0-9.e+-]+|NaN|\+Inf))$/);
  });
});
