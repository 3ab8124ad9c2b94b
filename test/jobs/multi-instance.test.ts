import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Job } from "../../src/jobs/types";
import { DIALECTS } from "../support/db";
import { sharedDatabase } from "../support/shared-db";
import { jobServices } from "./helpers";
import { count, HOUR, seedOrg } from "./seed";

for (const dialect of DIALECTS) {
  describe(`two instances on one database [${dialect}]`, () => {
    let shared: Awaited<ReturnType<typeof sharedDatabase>>;
    beforeAll(async () => {
      shared = await sharedDatabase(dialect);
    });
    afterAll(() => shared.drop());

    test("each scheduled tick fired on both instances at once runs exactly once", async () => {
      let runs = 0;
      const job: Job = { name: "hourly", schedule: "0 * * * *", description: "counts", run: async () => ({ runs: ++runs }) };
      const start = "2026-06-01T10:00:00.000Z";
      const one = jobServices(shared.a, { jobs: { jobs: [job], instance: "one" }, now: start });
      const two = jobServices(shared.b, { jobs: { jobs: [job], instance: "two" }, now: start });
      for (let i = 0; i < 10; i++) {
        const results = await Promise.all([one.services.jobs.tick("hourly"), two.services.jobs.tick("hourly")]);
        expect(results.filter((r) => r !== null)).toHaveLength(1);
        one.clock.advance(HOUR);
        two.clock.advance(HOUR + 1234);
      }
      expect(runs).toBe(10);
      expect(await count(shared.a, "SELECT COUNT(*) AS n FROM job_runs WHERE job = 'hourly'")).toBe(10);
      expect(await count(shared.a, "SELECT COUNT(DISTINCT scheduled_for) AS n FROM job_runs WHERE job = 'hourly' AND ok = 1")).toBe(10);
    });

    test("the real sync-metrics job writes one snapshot per organization per tick", async () => {
      const org = await seedOrg(shared.a);
      const now = "2026-06-02T05:00:07.000Z";
      const one = jobServices(shared.a, { now });
      const two = jobServices(shared.b, { now });
      const [x, y] = await Promise.all([one.services.jobs.tick("sync-metrics"), two.services.jobs.tick("sync-metrics")]);
      expect([x, y].filter((r) => r?.ok === true)).toHaveLength(1);
      expect([x, y].filter((r) => r === null)).toHaveLength(1);
      expect(await count(shared.a, "SELECT COUNT(*) AS n FROM sync_metrics_snapshots WHERE org_id = ?", [org])).toBe(1);
    });
  });
}
