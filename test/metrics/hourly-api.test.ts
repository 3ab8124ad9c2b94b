import { beforeAll, expect, test } from "bun:test";
import { REPEATED_REASON } from "../../src/wire/query";
import { ManualClock } from "../support/clock";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { HOUR, iso, seedSnapshot, seedSyncLog } from "../jobs/seed";

const NOW = Date.parse("2026-06-01T12:00:00.000Z");
const ago = (minutes: number) => iso(NOW - minutes * 60_000);
/** The end of an hour the day before NOW: `hourEnd(8)` is 2026-05-31T08:00:00.000Z. */
const hourEnd = (h: number) => iso(Date.parse("2026-05-31T00:00:00.000Z") + h * HOUR);

/** The `to` of each row of a list answer, in order. */
const ends = (body: { results: { to: string }[] }) => body.results.map((r) => r.to);
/** The path and query of a `next`/`previous` link, to request it again. */
const pathOf = (link: string) => {
  const u = new URL(link);
  return u.pathname + u.search;
};

forEachDialect("GET /api/metrics/hourly", ({ db }) => {
  let t: TestApp;
  let admin: TestUser;
  let member: TestUser;

  beforeAll(async () => {
    t = await createTestApp(db(), { clock: new ManualClock(new Date(NOW)) });
    admin = await t.createUser({ role: "admin" });
    member = await t.createUser({ org: admin.org.slug, role: "member" });
  });

  /** An admin of a new organization that has a zero snapshot for each hour ending at `hourEnd(h)`. */
  const orgWithHours = async (hours: number[]) => {
    const a = await t.createUser({ role: "admin", device: false });
    for (const h of hours) await seedSnapshot(db(), a.org.id, hourEnd(h));
    return a;
  };

  test("401 without a token, 403 for a member, before the query is validated", async () => {
    for (const path of ["/api/metrics/hourly", "/api/metrics/hourly?from=nope&page=0"]) {
      const anonymous = await t.request("GET", path);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error.code).toBe("unauthenticated");
      const res = await t.request("GET", path, { token: member.token });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("forbidden");
    }
    expect((await t.request("GET", "/api/metrics/hourly", { token: admin.token })).status).toBe(200);
  });

  test("an offset's + sent unencoded (a space): the 422 says to send it as %2B", async () => {
    const res = await t.request("GET", "/api/metrics/hourly?from=2026-06-01T10:00:00+02:00", { token: admin.token });
    expect(res.status).toBe(422);
    expect(res.body.error.details.fields.from).toContain("must be sent as %2B");
    expect((await t.request("GET", "/api/metrics/hourly?from=2026-06-01T10:00:00%2B02:00", { token: admin.token })).status).toBe(200);
  });

  test("the hour the sync-metrics job stored, with the figures GET /api/metrics gives for that hour, under the same names", async () => {
    const a = await t.createUser({ role: "admin", device: "phone" });
    const laptop = (await t.services.devices.create({ userId: a.user.id, orgId: a.org.id }, { name: "laptop" })).id;
    const org = a.org.id;
    await seedSyncLog(db(), { org, at: ago(50), kind: "push", device: a.deviceId, user: a.user.id, changes: 4, applied: 2, merged: 1, conflicts: 1, durationMs: 10 });
    await seedSyncLog(db(), { org, at: ago(30), kind: "pull", device: laptop, user: a.user.id, durationMs: 20 });
    await seedSyncLog(db(), { org, at: ago(5), kind: "push", outcome: "error", device: a.deviceId, user: a.user.id, changes: 9, durationMs: 60 });
    await seedSyncLog(db(), { org, at: ago(70), kind: "push", device: a.deviceId, user: a.user.id, changes: 50, conflicts: 50 }); // the hour before
    const run = await t.services.jobs.run("sync-metrics"); // a manual run: the hour ending now
    expect(run.ok).toBe(true);

    const res = await t.request("GET", "/api/metrics/hourly", { token: a.token });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.body).toMatchObject({ count: 1, next: null, previous: null });
    const [hour] = res.body.results;
    expect(hour).toEqual({
      from: ago(60),
      to: ago(0),
      syncs: 3,
      failed_syncs: 1,
      sync_success_rate: 0.666667,
      changes_pushed: 4,
      conflicts: 1,
      conflict_rate: 0.25,
      average_sync_duration_ms: 30,
      active_devices: 2,
      active_devices_per_user: [{ user_id: a.user.id, active_devices: 2 }],
      generated_at: ago(0),
    });

    // The live report over the same hour says the same under the same names.
    const live = (await t.request("GET", "/api/metrics?window=1h", { token: a.token })).body;
    for (const field of ["from", "to", "syncs", "failed_syncs", "sync_success_rate", "changes_pushed", "conflict_rate", "average_sync_duration_ms"]) {
      expect({ field, value: hour[field] }).toEqual({ field, value: live[field] });
    }
    expect(hour.conflicts).toBe(live.push_results.conflict);
    expect(hour.active_devices_per_user).toEqual(live.active_devices_per_user.map(({ email: _email, ...rest }: { email: string }) => rest));
  });

  test("newest first, in the list envelope, paginated with page and page_size", async () => {
    const a = await orgWithHours([10, 8, 12, 9, 11]);
    const first = await t.request("GET", "/api/metrics/hourly?page_size=2", { token: a.token });
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(["count", "next", "previous", "results"]);
    expect(first.body.count).toBe(5);
    expect(ends(first.body)).toEqual([hourEnd(12), hourEnd(11)]);
    expect(first.body.results[0]).toMatchObject({ from: hourEnd(11), syncs: 0, sync_success_rate: null, conflict_rate: null, average_sync_duration_ms: null, active_devices_per_user: [] });
    expect(first.body.previous).toBeNull();
    expect(new URL(first.body.next).searchParams.get("page")).toBe("2");

    const second = await t.request("GET", pathOf(first.body.next), { token: a.token });
    expect(ends(second.body)).toEqual([hourEnd(10), hourEnd(9)]);
    const third = await t.request("GET", pathOf(second.body.next), { token: a.token });
    expect(ends(third.body)).toEqual([hourEnd(8)]);
    expect(third.body.next).toBeNull();
    expect(new URL(third.body.previous).searchParams.get("page")).toBe("2");

    const all = await t.request("GET", "/api/metrics/hourly/", { token: a.token });
    expect(ends(all.body)).toEqual([12, 11, 10, 9, 8].map(hourEnd));
    const past = await t.request("GET", "/api/metrics/hourly?page=4&page_size=2", { token: a.token });
    expect(past.body).toMatchObject({ count: 5, results: [], next: null });
    expect(new URL(past.body.previous).searchParams.get("page")).toBe("3");
  });

  test("from and to: the hours whose end lies in (from, to], and the count and links of that selection", async () => {
    const a = await orgWithHours([8, 9, 10, 11, 12]);
    const list = async (qs: string) => {
      const res = await t.request("GET", `/api/metrics/hourly?${qs}`, { token: a.token });
      expect({ qs, status: res.status }).toEqual({ qs, status: 200 });
      return res.body;
    };
    expect(ends(await list(`from=${hourEnd(9)}`))).toEqual([12, 11, 10].map(hourEnd));
    expect(ends(await list(`to=${hourEnd(11)}`))).toEqual([11, 10, 9, 8].map(hourEnd));
    // Aligned bounds: exactly the hours that make up the window (09:00, 11:00].
    expect(ends(await list(`from=${hourEnd(9)}&to=${hourEnd(11)}`))).toEqual([11, 10].map(hourEnd));
    // An hour that ends after `from` is listed though it started before; one that ends after `to` is not.
    expect(ends(await list("from=2026-05-31T09:30:00Z&to=2026-05-31T11:59:59.999Z"))).toEqual([11, 10].map(hourEnd));
    // Any zone, lower-case t and z, and a precision finer than the millisecond.
    expect(ends(await list("from=2026-05-31T11:00:00%2B02:00&to=2026-05-31t10:00:00.0009z"))).toEqual([10].map(hourEnd));
    expect(ends(await list("from=2026-05-31T08:00:00.0001Z&to=2026-05-31T09:00:00Z"))).toEqual([9].map(hourEnd));
    // A date is its start, UTC.
    expect(ends(await list("to=2026-05-31"))).toEqual([]);
    expect((await list("from=2026-05-31")).count).toBe(5);
    expect((await list("from=2026-06-01")).count).toBe(0);
    // An empty range is no error.
    expect(await list(`from=${hourEnd(10)}&to=${hourEnd(10)}`)).toEqual({ count: 0, next: null, previous: null, results: [] });

    const paged = await list(`from=${hourEnd(8)}&to=${hourEnd(12)}&page_size=3`);
    expect(paged.count).toBe(4);
    expect(ends(paged)).toEqual([12, 11, 10].map(hourEnd));
    const next = new URL(paged.next);
    expect([next.searchParams.get("from"), next.searchParams.get("to"), next.searchParams.get("page")]).toEqual([hourEnd(8), hourEnd(12), "2"]);
    expect(ends(await list(next.search.slice(1)))).toEqual([hourEnd(9)]);
  });

  test("a from or to that is no ISO date or date-time is 422 naming it, as is a to before from or a bound given twice", async () => {
    const fields = async (qs: string) => {
      const res = await t.request("GET", `/api/metrics/hourly?${qs}`, { token: admin.token });
      expect({ qs, status: res.status, code: res.body.error?.code }).toEqual({ qs, status: 422, code: "validation_failed" });
      return res.body.error.details.fields;
    };
    for (const bad of ["yesterday", "", "2026-05-31T10:00:00", "2026-05-31 10:00:00Z", "1717236000", "2026-02-30", "2026-05-31T25:00:00Z", "2026-05-31T10:61:00Z"]) {
      const q = encodeURIComponent(bad);
      expect({ bad, fields: await fields(`from=${q}`) }).toEqual({ bad, fields: { from: expect.stringContaining("ISO date-time") } });
      expect({ bad, fields: await fields(`to=${q}`) }).toEqual({ bad, fields: { to: expect.stringContaining("ISO date-time") } });
    }
    expect(Object.keys(await fields("from=2026-02-30&to=2026-02-31")).sort()).toEqual(["from", "to"]);
    expect(await fields(`from=${hourEnd(11)}&to=${hourEnd(10)}`)).toEqual({ to: "must not be before from" });
    expect(await fields(`from=${hourEnd(8)}&from=${hourEnd(9)}`)).toEqual({ from: REPEATED_REASON });
    expect(Object.keys(await fields("page_size=501"))).toEqual(["page_size"]);
  });

  test("each organization's admin sees only their organization's hours", async () => {
    const a = await orgWithHours([8, 9, 10]);
    const b = await orgWithHours([9, 11, 12]);
    await seedSnapshot(db(), b.org.id, hourEnd(10), { sync_count: 7, active_devices: 1, active_devices_per_user: JSON.stringify([{ user_id: b.user.id, active_devices: 1 }]) });
    const listOf = async (u: TestUser, qs = "") => (await t.request("GET", `/api/metrics/hourly${qs}`, { token: u.token })).body;
    expect((await listOf(a)).count).toBe(3);
    expect(ends(await listOf(a))).toEqual([10, 9, 8].map(hourEnd));
    expect((await listOf(b)).count).toBe(4);
    expect(ends(await listOf(b))).toEqual([12, 11, 10, 9].map(hourEnd));
    // The same hour in both organizations: each admin gets their own figures only.
    const [ofA] = (await listOf(a, `?from=${hourEnd(9)}&to=${hourEnd(10)}`)).results;
    const [ofB] = (await listOf(b, `?from=${hourEnd(9)}&to=${hourEnd(10)}`)).results;
    expect([ofA.syncs, ofA.active_devices_per_user]).toEqual([0, []]);
    expect([ofB.syncs, ofB.active_devices_per_user]).toEqual([7, [{ user_id: b.user.id, active_devices: 1 }]]);
    expect((await listOf(a, `?from=${hourEnd(10)}`)).results).toEqual([]);
    expect((await listOf(admin)).results.every((r: { to: string }) => !r.to.startsWith("2026-05-31"))).toBe(true);
  });

  test("answers JSON only: Accept: text/plain (the Prometheus format of GET /api/metrics) changes nothing here", async () => {
    const a = await orgWithHours([10]);
    for (const accept of ["text/plain", "application/openmetrics-text; version=1.0.0", "text/plain;q=1, application/json;q=0.1"]) {
      const res = await t.request("GET", "/api/metrics/hourly", { token: a.token, headers: { accept } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(res.body).toMatchObject({ count: 1, results: [{ to: hourEnd(10) }] });
    }
    const prometheus = await t.request("GET", "/api/metrics", { token: a.token, headers: { accept: "text/plain" } });
    expect(prometheus.headers.get("content-type")).toStartWith("text/plain");
  });
});
