import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { DIALECTS } from "../support/db";
import { sharedDatabase } from "../support/shared-db";
import { jobServices } from "../jobs/helpers";
import { count, DAY, iso, resetTables, seedOrg, seedRecord, seedSyncLog } from "../jobs/seed";

const NOW = Date.parse("2026-06-01T03:00:00.000Z");

for (const dialect of DIALECTS) {
  describe(`cleanups run twice at once (two instances, manual runs) [${dialect}]`, () => {
    let shared: Awaited<ReturnType<typeof sharedDatabase>>;
    beforeAll(async () => {
      shared = await sharedDatabase(dialect);
    });
    afterAll(() => shared.drop());
    beforeEach(() => resetTables(shared.a));

    test("cleanup-tombstones: the two results together count each deleted comment once (found by ops QA: both counted the comments the other deleted)", async () => {
      const org = await seedOrg(shared.a);
      let pos = 1;
      const n = 7;
      for (let i = 0; i < n; i++) {
        const task = await seedRecord(shared.a, "task", { org, pos: pos++, deletedAt: iso(NOW - 100 * DAY) });
        await seedRecord(shared.a, "comment", { org, pos: pos++, taskId: task }); // live comment of an expired task
        await seedRecord(shared.a, "task", { org, pos: pos++, deletedAt: iso(NOW - 91 * DAY) }); // expired, no comment
      }
      const one = jobServices(shared.a, { now: iso(NOW), jobs: { batchSize: 3 } });
      const two = jobServices(shared.b, { now: iso(NOW), jobs: { batchSize: 3 } });
      const [x, y] = await Promise.all([one.services.jobs.run("cleanup-tombstones"), two.services.jobs.run("cleanup-tombstones")]);
      expect([x.ok, y.ok, x.error, y.error]).toEqual([true, true, null, null]);
      const sum = (k: string) => Number(x.result![k]) + Number(y.result![k]);
      const deletedComments = await count(shared.a, "SELECT COUNT(*) AS n FROM comments WHERE deleted_at IS NOT NULL AND deleted_by IS NULL");
      expect(deletedComments).toBe(n);
      expect(sum("comments_deleted")).toBe(n);
      expect(sum("tasks")).toBe(n);
      expect(await count(shared.a, "SELECT COUNT(*) AS n FROM tasks")).toBe(n);
    });

    test("cleanup-sync-logs: the two results together count each deleted row once", async () => {
      const org = await seedOrg(shared.a);
      for (let i = 0; i < 9; i++) await seedSyncLog(shared.a, { org, at: iso(NOW - 31 * DAY - i) });
      await seedSyncLog(shared.a, { org, at: iso(NOW - 30 * DAY) });
      const one = jobServices(shared.a, { now: iso(NOW), jobs: { batchSize: 2 } });
      const two = jobServices(shared.b, { now: iso(NOW), jobs: { batchSize: 2 } });
      const [x, y] = await Promise.all([one.services.jobs.run("cleanup-sync-logs"), two.services.jobs.run("cleanup-sync-logs")]);
      expect([x.ok, y.ok, x.error, y.error]).toEqual([true, true, null, null]);
      expect(Number(x.result!.sync_log_rows) + Number(y.result!.sync_log_rows)).toBe(9);
      expect(await count(shared.a, "SELECT COUNT(*) AS n FROM sync_log")).toBe(1);
    });
  });
}
