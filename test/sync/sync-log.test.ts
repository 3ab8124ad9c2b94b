import { beforeAll, expect, test } from "bun:test";
import { SyncService } from "../../src/sync/service";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData, twoDevices } from "./helpers";

interface LogRow {
  org_id: string;
  device_id: string | null;
  user_id: string;
  kind: string;
  change_count: number;
  applied: number;
  merged: number;
  conflicts: number;
  duplicates: number;
  stale: number;
  rejected: number;
  record_count: number;
  duration_ms: number;
  outcome: string;
  error: string | null;
  created_at: string;
}

forEachDialect("sync_log", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  // Pull rows (and those of refused requests) are buffered in memory: write them out before reading.
  // Rows of the same millisecond (a fast push then pull) are ordered push first, as the tests issue them.
  const rows = async (orgId: string) => {
    await t.services.sync.flushLog();
    return t.deps.db.all<LogRow>("SELECT * FROM sync_log WHERE org_id = ? ORDER BY created_at, kind DESC", [orgId]);
  };

  test("one row per push with the counts by status, records written and the duration", async () => {
    const { a, b } = await twoDevices(t);
    const c = a.create("task", taskData());
    b.learn(c.entity_id, (await a.push1(c)).record);
    await a.push1(a.update("task", c.entity_id, { priority: "high" }));
    const stale = { ...a.update("task", c.entity_id, {}), vector_clock: { [a.id]: 1 } };
    const results = await b.push(b.update("task", c.entity_id, { status: "done" }), b.create("task", { title: "" }), { ...c, entity: "epic" }, stale);
    expect(results.map((r) => r.status)).toEqual(["merged", "rejected", "rejected", "stale"]);

    const log = (await rows(a.user.org.id)).filter((r) => r.device_id === b.id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      kind: "push",
      user_id: b.user.user.id,
      change_count: 4,
      applied: 0,
      merged: 1,
      conflicts: 0,
      duplicates: 0,
      stale: 1,
      rejected: 2,
      record_count: 1,
      outcome: "ok",
      error: null,
    });
    expect(Number(log[0].duration_ms)).toBeGreaterThanOrEqual(0);
  });

  test("one row per pull with the number of changes delivered", async () => {
    const d = Device.of(t, await t.createUser());
    await d.push(d.create("project", { name: "P" }), d.create("project", { name: "Q" }));
    await d.pullAll();
    const pulls = (await rows(d.user.org.id)).filter((r) => r.kind === "pull");
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ device_id: d.id, change_count: 0, record_count: 2, outcome: "ok" });
  });

  test("a refused sync is logged with outcome error (and no device when it was not the caller's)", async () => {
    const u = await t.createUser();
    const other = await t.createUser({ org: u.org.slug });
    const r = await t.request("POST", "/api/sync/push", { token: u.token, body: { device_id: other.deviceId, changes: [] } });
    expect(r.status).toBe(403);
    const bad = await t.request("GET", `/api/sync/pull?device_id=${u.deviceId}&cursor=nonsense`, { token: u.token });
    expect(bad.status).toBe(400);
    const log = await rows(u.org.id);
    expect(log.map((x) => [x.kind, x.outcome, x.device_id])).toEqual([
      ["push", "error", null],
      ["pull", "error", u.deviceId],
    ]);
    expect(log[0].error).toContain("forbidden");
    expect(log[1].error).toContain("invalid_cursor");
  });

  test("a snapshot whose page cannot be read after its device was checked is logged with that device", async () => {
    const d = Device.of(t, await t.createUser());
    await d.push(d.create("project", { name: "P" }));
    // The page's statement fails (the feed's range read), after the feed state and the device check.
    const failing = new Proxy(t.deps.db, {
      get: (target, key, receiver) => {
        const v = Reflect.get(target, key, receiver);
        if (key !== "rawRows") return typeof v === "function" ? v.bind(target) : v;
        return (sql: string, params?: unknown[]) => (sql.includes("FROM feed WHERE org_id = ? AND pos >") ? Promise.reject(new Error("page read failed")) : target.rawRows(sql, params as never));
      },
    });
    const sync = new SyncService({ ...t.deps, db: failing });
    await expect(sync.pullBody({ userId: d.user.user.id, orgId: d.user.org.id, deviceId: d.id }, { device_id: d.id })).rejects.toThrow("page read failed");
    await sync.flushLog();
    const log = await t.deps.db.all<LogRow>("SELECT * FROM sync_log WHERE org_id = ? AND kind = 'pull'", [d.user.org.id]);
    expect(log.map((r) => [r.device_id, r.outcome])).toEqual([[d.id, "error"]]);
  });

  test("a push's row commits with the push: it is there without any flush", async () => {
    const d = Device.of(t, await t.createUser());
    await d.push(d.create("project", { name: "P" }));
    const log = await t.deps.db.all<LogRow>("SELECT * FROM sync_log WHERE org_id = ? AND kind = 'push'", [d.user.org.id]);
    expect(log.map((r) => [r.device_id, r.applied, r.record_count, r.outcome])).toEqual([[d.id, 1, 1, "ok"]]);
  });

  test("buffered rows are written by close() (the server's graceful stop)", async () => {
    const d = Device.of(t, await t.createUser());
    await d.pullAll();
    await d.pullAll();
    await t.services.sync.flushLog();
    const log = await t.deps.db.all<LogRow>("SELECT * FROM sync_log WHERE org_id = ? AND kind = 'pull'", [d.user.org.id]);
    expect(log).toHaveLength(2);
  });
});
