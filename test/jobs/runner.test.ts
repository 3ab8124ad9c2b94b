import { beforeEach, expect, test } from "bun:test";
import { startJobs } from "../../src/jobs/schedule";
import { ABANDONED_GRACE_MS } from "../../src/jobs/service";
import type { Job } from "../../src/jobs/types";
import { forEachDialect } from "../support/db";
import { jobServices, memoryLogger } from "./helpers";
import { count, HOUR, resetTables } from "./seed";

/** Hourly test jobs: one that always throws, one that counts its runs. */
function testJobs() {
  const calls = { boom: 0, counter: 0 };
  const jobs: Job[] = [
    {
      name: "boom",
      schedule: "0 * * * *",
      description: "always fails",
      run: async () => {
        calls.boom++;
        throw new Error("disk on fire");
      },
    },
    { name: "counter", schedule: "15 * * * *", description: "counts", run: async () => ({ calls: ++calls.counter }) },
  ];
  return { jobs, calls };
}

forEachDialect("job runner", ({ db }) => {
  beforeEach(() => resetTables(db()));

  test("a throwing job is logged and recorded as failed, the runner keeps going, and the next tick retries", async () => {
    const { jobs, calls } = testJobs();
    const { log, lines } = memoryLogger();
    const { services, clock } = jobServices(db(), { jobs: { jobs }, log, now: "2026-06-01T10:00:00.000Z" });

    const failed = await services.jobs.tick("boom");
    expect(failed).toMatchObject({ job: "boom", kind: "schedule", scheduled_for: "2026-06-01T10:00:00.000Z", ok: false, error: "disk on fire" });
    const logged = lines.find((l) => l.event === "job_failed");
    expect(logged).toMatchObject({ level: "error", job: "boom", error: "disk on fire" });
    expect(typeof logged!.duration_ms).toBe("number");

    clock.advance(15 * 60_000);
    expect(await services.jobs.tick("counter")).toMatchObject({ ok: true, result: { calls: 1 } });
    expect(lines.find((l) => l.event === "job_finished")).toMatchObject({ level: "info", job: "counter", calls: 1 });

    clock.advance(HOUR);
    expect(await services.jobs.tick("boom")).toMatchObject({ scheduled_for: "2026-06-01T11:00:00.000Z", ok: false });
    expect(calls.boom).toBe(2);
    const recorded = await db().all<{ ok: number; error: string }>("SELECT ok, error FROM job_runs WHERE job = 'boom'");
    expect(recorded.map((r) => [Number(r.ok), r.error])).toEqual([
      [0, "disk on fire"],
      [0, "disk on fire"],
    ]);
  });

  test("a tick runs once per instance too; manual runs always run", async () => {
    const { jobs, calls } = testJobs();
    const { services } = jobServices(db(), { jobs: { jobs }, now: "2026-06-01T10:20:00.000Z" });
    expect(await services.jobs.tick("counter")).toMatchObject({ scheduled_for: "2026-06-01T10:15:00.000Z", ok: true });
    expect(await services.jobs.tick("counter")).toBeNull();
    expect(calls.counter).toBe(1);
    expect(await services.jobs.run("counter")).toMatchObject({ kind: "manual", scheduled_for: null, ok: true });
    expect(await services.jobs.run("counter")).toMatchObject({ kind: "manual", ok: true });
    expect(calls.counter).toBe(3);
    expect(await count(db(), "SELECT COUNT(*) AS n FROM job_runs WHERE job = 'counter'")).toBe(3);
  });

  test("an unknown job name is a not_found error for run and a logged no-op for tick", async () => {
    const { services } = jobServices(db());
    await expect(services.jobs.run("nope")).rejects.toMatchObject({ code: "not_found" });
    expect(await services.jobs.tick("nope")).toBeNull();
  });

  test("list shows each job's schedule, last run with its result, and next run", async () => {
    const { services, clock } = jobServices(db(), { now: "2026-06-01T10:20:00.000Z" });
    await services.jobs.run("cleanup-sync-logs");
    clock.advance(60_000);
    const list = await services.jobs.list();
    expect(list.map((j) => j.name)).toEqual(["cleanup-tombstones", "cleanup-sync-logs", "sync-metrics"]);
    const logs = list.find((j) => j.name === "cleanup-sync-logs")!;
    expect(logs).toMatchObject({ schedule: "30 3 * * *", next_run_at: "2026-06-02T03:30:00.000Z" });
    expect(logs.last_run).toMatchObject({ ok: true, kind: "manual", started_at: "2026-06-01T10:20:00.000Z", result: { sync_log_rows: 0 } });
    expect(list.find((j) => j.name === "sync-metrics")).toMatchObject({ last_run: null, next_run_at: "2026-06-01T11:00:00.000Z" });
  });

  test("a run goes on at most maxRunMs (then asked to stop); one without an end past that and a grace is shown failed, abandoned", async () => {
    let stopped = false;
    const jobs: Job[] = [
      {
        name: "slow",
        schedule: "0 * * * *",
        description: "works until asked to stop",
        run: async ({ signal }) => {
          while (!signal.aborted) await Bun.sleep(10);
          stopped = true;
          return { interrupted: true };
        },
      },
      { name: "stuck", schedule: "0 * * * *", description: "never ends (its process was killed)", run: () => new Promise(() => {}) },
    ];
    const { services, clock } = jobServices(db(), { jobs: { jobs, maxRunMs: 50 }, now: "2026-06-01T10:00:00.000Z" });
    expect(await services.jobs.run("slow")).toMatchObject({ ok: true, result: { interrupted: true } });
    expect(stopped).toBe(true);

    void services.jobs.run("stuck");
    while ((await services.jobs.health()).stuck!.last_run_at === null) await Bun.sleep(5); // its claim is written
    expect((await services.jobs.health()).stuck).toEqual({ last_run_at: "2026-06-01T10:00:00.000Z", ok: null });
    clock.advance(50 + ABANDONED_GRACE_MS);
    expect((await services.jobs.health()).stuck).toEqual({ last_run_at: "2026-06-01T10:00:00.000Z", ok: false });
    const listed = (await services.jobs.list()).find((j) => j.name === "stuck")!;
    expect(listed.last_run).toMatchObject({ finished_at: null, ok: false, error: expect.stringContaining("abandoned") });
    expect((await services.jobs.list()).find((j) => j.name === "slow")!.last_run).toMatchObject({ ok: true });
  });

  test("startJobs schedules every job and its stop function ends the schedule", async () => {
    const { jobs } = testJobs();
    const { log, lines } = memoryLogger();
    const { services } = jobServices(db(), { jobs: { jobs }, log });
    const stop = startJobs(services.jobs, log);
    const scheduled = lines.find((l) => l.event === "jobs_scheduled") as { jobs: { job: string; next_run_at: string }[] };
    expect(scheduled.jobs.map((j) => j.job)).toEqual(["boom", "counter"]);
    expect(scheduled.jobs.every((j) => typeof j.next_run_at === "string")).toBe(true);
    await stop();
  });

  test("unschedule ends the schedule but lets a run in progress go on; stop then asks it to stop and waits for it", async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const seen: { signal?: AbortSignal } = {};
    const jobs: Job[] = [
      {
        name: "each-second",
        schedule: "* * * * * *",
        description: "waits to be released",
        run: async ({ signal }) => {
          seen.signal = signal;
          await released;
          return { interrupted: signal.aborted };
        },
      },
    ];
    const { log } = memoryLogger();
    const { services } = jobServices(db(), { jobs: { jobs }, log });
    const stop = startJobs(services.jobs, log);
    while (seen.signal === undefined) await Bun.sleep(20);
    stop.unschedule();
    await Bun.sleep(50);
    expect(seen.signal.aborted).toBe(false);
    let stopped = false;
    const stopping = stop().then(() => (stopped = true));
    expect(seen.signal.aborted).toBe(true);
    await Bun.sleep(50);
    expect(stopped).toBe(false); // the run is waited for
    release();
    await stopping;
    expect(await count(db(), "SELECT COUNT(*) AS n FROM job_runs WHERE finished_at IS NOT NULL")).toBe(1);
  });
});
