/**
 * A run whose end was never saved — its process killed mid-run, or the database unreachable when it
 * ended — must not stay `running` in `job_runs` for ever: the next run of the job marks it failed
 * (`abandoned`) once it is past the longest a run can go on, and a process that could not save an
 * end saves it at its next run. A run that may still be going (another instance's, recent) is left
 * as it is.
 */
import { beforeEach, expect, test } from "bun:test";
import { ConnectionLostError } from "../../src/db/errors";
import type { Database } from "../../src/db/types";
import { JobRunsRepo } from "../../src/jobs/repo";
import { ABANDONED_GRACE_MS } from "../../src/jobs/service";
import type { Job } from "../../src/jobs/types";
import { forEachDialect } from "../support/db";
import { jobServices } from "./helpers";
import { iso, resetTables } from "./seed";

const NOW = Date.parse("2026-06-01T10:00:00.000Z");
const MAX_RUN_MS = 60_000;

const jobs: Job[] = [
  { name: "counter", schedule: "15 * * * *", description: "counts", run: async () => ({ done: 1 }) },
  { name: "other", schedule: "30 * * * *", description: "another job", run: async () => ({ done: 2 }) },
];

interface RunRow {
  id: string;
  finished_at: string | null;
  ok: number | null;
  error: string | null;
  result: string | null;
}

const runRow = async (db: Database, id: string) => (await db.get<RunRow>("SELECT id, finished_at, ok, error, result FROM job_runs WHERE id = ?", [id]))!;

forEachDialect("runs without an end", ({ db }) => {
  beforeEach(() => resetTables(db()));

  const claimed = async (id: string, job: string, startedAgoMs: number) => {
    const ok = await new JobRunsRepo(db()).claim({ id, job, kind: "manual", scheduledFor: null, instance: "host/1/dead", startedAt: iso(NOW - startedAgoMs) });
    expect(ok).toBe(true);
  };

  test("the next run of the job marks one past the longest run failed, abandoned; one that may still be going, and other jobs', are left", async () => {
    await claimed("old", "counter", MAX_RUN_MS + ABANDONED_GRACE_MS + 1);
    await claimed("live", "counter", MAX_RUN_MS);
    await claimed("old-other-job", "other", 2 * (MAX_RUN_MS + ABANDONED_GRACE_MS));
    const { services } = jobServices(db(), { jobs: { jobs, maxRunMs: MAX_RUN_MS }, now: iso(NOW) });

    expect(await services.jobs.run("counter")).toMatchObject({ ok: true });

    expect(await runRow(db(), "old")).toMatchObject({ finished_at: null, ok: 0, error: expect.stringMatching(/^abandoned: /) });
    expect(await runRow(db(), "live")).toMatchObject({ finished_at: null, ok: null, error: null });
    expect(await runRow(db(), "old-other-job")).toMatchObject({ finished_at: null, ok: null, error: null });
  });

  test("a run marked abandoned that ends after all records its end", async () => {
    await claimed("slow", "counter", MAX_RUN_MS + ABANDONED_GRACE_MS + 1);
    const { services } = jobServices(db(), { jobs: { jobs, maxRunMs: MAX_RUN_MS }, now: iso(NOW) });
    await services.jobs.run("counter");
    await new JobRunsRepo(db()).finish("slow", { finishedAt: iso(NOW), durationMs: 1, ok: true, result: { done: 1 }, error: null });
    expect(await runRow(db(), "slow")).toMatchObject({ finished_at: iso(NOW), ok: 1, error: null });
  });

  test("an end the database could not take is saved at the process's next run", async () => {
    let failEnds = true;
    const inner = db();
    const flaky = new Proxy(inner, {
      get(target, key) {
        if (key === "run") {
          return (sql: string, params?: never[]) =>
            failEnds && sql.startsWith("UPDATE job_runs SET finished_at") ? Promise.reject(new ConnectionLostError("the database is unreachable")) : target.run(sql, params);
        }
        const v = Reflect.get(target, key, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const { services } = jobServices(flaky, { jobs: { jobs, maxRunMs: MAX_RUN_MS }, now: iso(NOW) });
    const first = await services.jobs.run("counter");
    expect(first).toMatchObject({ ok: true });
    expect(await runRow(db(), first.id)).toMatchObject({ finished_at: null, ok: null });

    failEnds = false;
    await services.jobs.run("other");
    expect(await runRow(db(), first.id)).toMatchObject({ finished_at: first.finished_at, ok: 1, result: JSON.stringify({ done: 1 }) });
  });
});
