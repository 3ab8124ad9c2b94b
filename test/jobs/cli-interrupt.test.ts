import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readlinkSync } from "node:fs";
import type { Database } from "../../src/db/types";
import { childEnv, removeTempDirs, SOURCE_CLI, tempDir } from "../cli/support";
import { count, createTestDatabase, DIALECTS } from "../support/db";
import { DAY, iso, seedOrg, seedRecords } from "./seed";

setDefaultTimeout(60_000);
afterAll(removeTempDirs);

/** Tombstones to purge: five batches of 500, so that a run stopped after its current batch has left some. */
const TOMBSTONES = 2_500;

/** Whether process `pid` has the file `path` open (Linux: its /proc/PID/fd links). */
function hasOpen(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false; // closed meanwhile
      }
    });
  } catch {
    return false; // not started yet, or gone
  }
}

for (const dialect of DIALECTS) {
  describe(`taskmgr jobs run stopped by a signal [${dialect}]`, () => {
    const cwd = tempDir();
    let url = "";
    let db: Database;
    let drop = async () => {};
    let org = "";

    beforeAll(async () => {
      ({ url, db, drop } = await createTestDatabase(dialect));
      org = await seedOrg(db);
      await db.transaction(async (tx) => {
        await seedRecords(tx, "task", Array.from({ length: TOMBSTONES }, (_, i) => ({ org, pos: i + 1, versions: 1, deletedAt: iso(Date.now() - 100 * DAY) })));
      });
    });
    afterAll(() => drop());

    test("SIGTERM (or Ctrl-C) stops the run after its current batch: the run is recorded as ended and interrupted, exit 1 with one line; the next run carries on", async () => {
      // Held from before the run starts, the organization's feed state (which each batch updates) keeps
      // the run from getting past its first batch until the signal is sent. On SQLite it is the database's
      // write lock, which the run's claim waits for (a lock taken while the run writes batch after batch
      // might never be granted), so the run is known to have set its signal handlers once its process has
      // the file open; on Postgres, once its claim is committed.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const holder = db.transaction(async (tx) => {
        await tx.run("UPDATE org_feed_state SET seq = seq WHERE org_id = ?", [org]);
        locked();
        await held;
      });
      await isLocked;
      const proc = Bun.spawn([...SOURCE_CLI, "jobs", "run", "cleanup-tombstones", "--db", url], { cwd, env: childEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      const started = dialect === "sqlite" ? async () => hasOpen(proc.pid, url.slice("sqlite:".length)) : async () => (await count(db, "SELECT COUNT(*) AS n FROM job_runs")) > 0;
      while (!(await started())) {
        expect(proc.exitCode).toBeNull();
        await Bun.sleep(5);
      }
      proc.kill("SIGTERM");
      await Bun.sleep(300);
      release();
      await holder;

      const code = await proc.exited;
      const [stdout, stderr] = await output;
      expect(stdout).toMatch(/^cleanup-tombstones: ok in [\d.]+ ms \(.*interrupted=true\)\n$/);
      expect(stderr).toMatch(/^error: stopped by SIGTERM: cleanup-tombstones stopped after its current batch, with part of its work done; run it again to carry on\n$/);
      expect(code).toBe(1);
      const runs = await db.all<{ finished_at: string | null; ok: number; result: string }>("SELECT finished_at, ok, result FROM job_runs");
      expect(runs).toHaveLength(1);
      expect(runs[0]!.finished_at).not.toBeNull();
      expect(Number(runs[0]!.ok)).toBe(1);
      const first = JSON.parse(runs[0]!.result) as { tasks: number; interrupted: boolean };
      expect(first.interrupted).toBe(true);
      expect(first.tasks).toBeLessThan(TOMBSTONES);

      const again = Bun.spawnSync([...SOURCE_CLI, "jobs", "run", "cleanup-tombstones", "--json", "--db", url], { cwd, env: childEnv() });
      expect(again.exitCode).toBe(0);
      const second = JSON.parse(again.stdout.toString()) as { ok: boolean; result: { tasks: number; interrupted: boolean } };
      expect(second).toMatchObject({ ok: true, result: { interrupted: false } });
      expect(first.tasks + second.result.tasks).toBe(TOMBSTONES);
    });
  });
}
