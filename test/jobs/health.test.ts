import { expect, test } from "bun:test";
import pkg from "../../package.json";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { HealthService } from "../../src/health/service";
import { ManualClock } from "../support/clock";
import { createTestApp } from "../support/app";
import { createTestDatabase, forEachDialect } from "../support/db";

forEachDialect("GET /api/health", ({ db, dialect }) => {
  test("keeps the contract fields and adds migration state and the latest run of every job", async () => {
    const t = await createTestApp(db(), { clock: new ManualClock(new Date("2026-06-01T03:00:00.000Z")) });
    const before = await t.request("GET", "/api/health");
    expect(before.status).toBe(200);
    expect(before.body).toEqual({
      status: "ok",
      database: dialect,
      version: pkg.version,
      migrations: "current",
      jobs: {
        "cleanup-tombstones": { last_run_at: null, ok: null },
        "cleanup-sync-logs": { last_run_at: null, ok: null },
        "sync-metrics": { last_run_at: null, ok: null },
      },
    });
    await t.services.jobs.tick("cleanup-tombstones");
    const after = await t.request("GET", "/api/health/");
    expect(after.body.jobs["cleanup-tombstones"]).toEqual({ last_run_at: "2026-06-01T03:00:00.000Z", ok: true });
    expect(after.body.jobs["sync-metrics"]).toEqual({ last_run_at: null, ok: null });
  });

  test("answers 503 at once when the database does not answer in time (every connection waiting for a lock, say)", async () => {
    const t = await createTestApp(db());
    const hang = () => new Promise(() => {});
    const stuck = new Proxy(t.deps.db, {
      get: (target, key, receiver) =>
        key === "monitor" ? { dialect: target.dialect, all: hang, get: hang, run: hang, rawRows: hang, exec: hang } : Reflect.get(target, key, receiver),
    });
    const health = new HealthService({ ...t.deps, db: stuck }, t.services.jobs, 100);
    await expect(health.check()).rejects.toMatchObject({ code: "unavailable", message: "the database does not answer" });
  });

  test("checks asked while one runs share it (a flood of public checks never queues past the timeout); the next check reads again", async () => {
    const t = await createTestApp(db());
    // The monitor's statements, counted; each may be held until released, so that checks overlap.
    let statements = 0;
    let hold: Promise<void> | null = null;
    const counted = new Proxy(t.deps.db, {
      get: (target, key, receiver) => {
        if (key !== "monitor") return Reflect.get(target, key, receiver);
        const monitor = target.monitor;
        const wrap =
          (f: (sql: string, params?: never[]) => Promise<unknown>) =>
          async (sql: string, params?: never[]) => {
            statements++;
            await hold;
            return f.call(monitor, sql, params);
          };
        return { ...monitor, dialect: monitor.dialect, all: wrap(monitor.all), get: wrap(monitor.get) };
      },
    });
    const health = new HealthService({ ...t.deps, db: counted }, t.services.jobs);
    await health.check();
    const perCheck = statements;
    expect(perCheck).toBeGreaterThan(0);

    let release!: () => void;
    hold = new Promise<void>((r) => (release = r));
    statements = 0;
    const answers = Array.from({ length: 500 }, () => health.check());
    release();
    const all = await Promise.all(answers);
    expect(all.every((a) => a.status === "ok")).toBe(true);
    expect(statements).toBe(perCheck); // 500 requests, one check's statements (was 500 checks' on one connection)

    // Nothing is kept once a check is over: the next one reads the database again.
    statements = 0;
    await health.check();
    await health.check();
    expect(statements).toBe(2 * perCheck);
  });

  test("answers 503 when the database lacks a migration this program knows (it serves nothing without its tables)", async () => {
    const old = await createTestDatabase(dialect, { migrate: false });
    try {
      await migrate(old.db, MIGRATIONS.slice(0, 1));
      const t = await createTestApp(old.db);
      const res = await t.request("GET", "/api/health");
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: "unavailable", message: "the database lacks migrations this version needs: run `taskmgr migrate`" });
    } finally {
      await old.drop();
    }
  });

  test("answers 503 unavailable when the database does not answer", async () => {
    const gone = await createTestDatabase(dialect);
    const t = await createTestApp(gone.db);
    await gone.drop();
    const res = await t.request("GET", "/api/health");
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("unavailable");
  });
});
