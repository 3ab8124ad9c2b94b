import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import type { Database } from "../../src/db/types";
import { removeTempDirs, taskmgr, tempDir } from "../cli/support";
import { createTestDatabase, DIALECTS } from "../support/db";
import { DAY, iso, seedOrg, seedRecord } from "./seed";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

for (const dialect of DIALECTS) {
  describe(`taskmgr jobs [${dialect}]`, () => {
    const cwd = tempDir();
    let url = "";
    let db: Database;
    let drop = async () => {};
    const cli = (args: string[]) => taskmgr([...args, "--db", url], { cwd });

    beforeAll(async () => {
      if (dialect === "sqlite") {
        url = `sqlite:${join(cwd, "jobs.db")}`;
        db = openDatabase(url);
        await migrate(db);
      } else {
        ({ url, db, drop } = await createTestDatabase("postgres"));
      }
      const org = await seedOrg(db);
      await seedRecord(db, "task", { org, pos: 1, deletedAt: iso(Date.now() - 100 * DAY) });
      await seedRecord(db, "task", { org, pos: 2 });
    });
    afterAll(async () => (dialect === "sqlite" ? db.close() : drop()));

    test("jobs list shows every job with its schedule and next run before any run; jobs run NAME runs it now and prints what it did, and jobs list then shows the result", async () => {
      const listed = await cli(["jobs", "list"]);
      expect(listed.code).toBe(0);
      const lines = listed.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^NAME\s+SCHEDULE\s+LAST_RUN\s+STATUS\s+RESULT\s+NEXT_RUN$/);
      expect(lines.slice(1).map((l) => l.split(/\s{2,}/)[0])).toEqual(["cleanup-tombstones", "cleanup-sync-logs", "sync-metrics"]);
      expect(lines[1]).toMatch(/^cleanup-tombstones\s+0 3 \* \* \*\s+-\s+-\s+-\s+\d{4}-\d\d-\d\dT03:00:00\.000Z$/);

      // One test, not two: "before any run" held only when this ran before the run below (found with `bun test --randomize`).
      // jobs run NAME runs it now and prints what it did; jobs list then shows the result.
      const r = await cli(["jobs", "run", "cleanup-tombstones"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^cleanup-tombstones: ok in [\d.]+ ms \(retention_days=90 .*tasks=1 .*\)\n$/);
      const list = JSON.parse((await cli(["jobs", "list", "--json"])).stdout);
      const job = list.find((j: { name: string }) => j.name === "cleanup-tombstones");
      expect(job.last_run).toMatchObject({ kind: "manual", ok: true, result: { tasks: 1, comments: 0 }, error: null });
      expect(typeof job.next_run_at).toBe("string");
      expect((await cli(["jobs", "list"])).stdout).toMatch(/cleanup-tombstones .* ok +retention_days=90 /);
    });

    test("an unknown job name is bad usage: exit 2, one line naming the choices", async () => {
      const r = await cli(["jobs", "run", "cleanup-everything"]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("cleanup-tombstones, cleanup-sync-logs, sync-metrics");
    });

    test("a failing job exits 1 with one line, and the failure is recorded", async () => {
      await db.exec("DROP TABLE sync_log");
      const r = await cli(["jobs", "run", "cleanup-sync-logs"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^cleanup-sync-logs: failed after [\d.]+ ms\n$/);
      expect(r.stderr).toMatch(/^error: job cleanup-sync-logs failed: .*sync_log.*\n$/);
      const list = JSON.parse((await cli(["jobs", "list", "--json"])).stdout);
      expect(list.find((j: { name: string }) => j.name === "cleanup-sync-logs").last_run).toMatchObject({ ok: false, error: expect.stringContaining("sync_log") });
    });
  });
}
