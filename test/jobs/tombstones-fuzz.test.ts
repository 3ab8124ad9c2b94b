/**
 * Seeded fuzz of the tombstone purge against devices' cursors, through the HTTP app: one device
 * creates, edits and deletes tasks, comments and projects while days pass (a ManualClock) and
 * `cleanup-tombstones` runs now and then; an observer pulls from its cursor at random moments;
 * a device that went offline early pushes its queued edits at the end. Checked:
 * - a pull answers 200 or 410 `reset_required`, never a 5xx; after a 200 that drains the feed the
 *   observer holds exactly the organization's live records (a purged tombstone never silently
 *   skipped: a stale record would stay live on it); after a 410 a snapshot makes it converge;
 * - a 410 only comes once something was purged after the cursor's position;
 * - the offline device's queued edits: `rejected` `not_found` for a purged record (docs/sync-design.md,
 *   Known limits), never a 5xx; its old cursor gets 410 once anything it had not seen was purged.
 * `TOMB_FUZZ_SEEDS=1,2` for others.
 */
import { beforeEach, expect, test } from "bun:test";
import { readFeedState } from "../../src/records/feed";
import { createTestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";
import { Rng } from "../support/device";
import { Device, twoDevices } from "../sync/helpers";
import { DAY, resetTables } from "./seed";

const SEEDS = (process.env.TOMB_FUZZ_SEEDS ?? "5,8").split(",").map(Number);
const STEPS = Number(process.env.TOMB_FUZZ_STEPS ?? 120);

forEachDialect("tombstone purge vs cursors (seeded)", ({ db }) => {
  beforeEach(() => resetTables(db()));

  for (const seed of SEEDS) {
    test(`seed ${seed}`, async () => {
      const rng = new Rng(seed);
      const clock = new ManualClock(new Date("2026-03-01T09:00:00.000Z"));
      const t = await createTestApp(db(), { clock, config: { tombstoneRetentionDays: rng.pick([0, 3, 10]), accessTokenTtlSeconds: 400 * 86400 } });
      const { a, b: observer } = await twoDevices(t);
      const offline = await Device.another(t, a.user, "offline");
      const live = new Map<string, "task" | "comment" | "project">();
      const token = a.user.token;
      let purgedAny = false;
      const tally = { purged: 0, resets: 0, pulls: 0, notFound: 0, queued: 0, offline410: 0 };

      /**
       * Whether a cursor is behind the organization's purge horizon now (nothing runs meanwhile here, so as
       * its pull saw it): what a 410 must mean. The cursor (`c2.`, the base64url of `org:pos[:snapshotAt]`,
       * `.` and its check) is read here, not by the code under test.
       */
      const behindPurge = async (cursor: string): Promise<boolean> => {
        const [, pos, snapshotAt] = Buffer.from(cursor.slice(3).split(".")[0]!, "base64url").toString("utf8").split(":");
        const horizon = Math.max(Number(pos), Number(snapshotAt ?? 0));
        return horizon < (await readFeedState(t.deps.db, a.user.org.id)).purgedThrough;
      };

      /** What the observer holds live, as id → version. */
      const held = new Map<string, number>();
      const pullObserver = async (): Promise<void> => {
        for (;;) {
          const from = observer.cursor;
          const r = await observer.pullRaw(from, 1 + rng.int(7));
          expect(r.status < 500, `seed ${seed}: pull ${r.status}`).toBe(true);
          // 410 exactly when something after the cursor's position was purged.
          if (from !== null) expect({ seed, status: r.status, behind: await behindPurge(from) }).toEqual({ seed, status: r.status, behind: r.status === 410 });
          if (r.status === 410) {
            expect((r.body as any).error?.code).toBe("reset_required");
            expect(purgedAny, `seed ${seed}: 410 with nothing purged`).toBe(true);
            tally.resets++;
            observer.cursor = null;
            held.clear();
            continue;
          }
          expect(r.status).toBe(200);
          tally.pulls++;
          for (const c of r.body.changes) {
            if (c.op === "delete") held.delete(c.entity_id);
            else held.set(c.entity_id, c.record.version);
            observer.learn(c.entity_id, c.record);
          }
          observer.cursor = r.body.cursor;
          if (!r.body.has_more) return;
        }
      };
      const serverLive = async () => {
        const out = new Map<string, number>();
        for (const table of ["tasks", "comments", "projects"]) {
          for (const row of await t.deps.db.all<{ id: string; version: number }>(`SELECT id, version FROM ${table} WHERE org_id = ? AND deleted_at IS NULL`, [a.user.org.id])) out.set(row.id, Number(row.version));
        }
        return out;
      };

      // The offline device knows the first records, then leaves.
      const first = a.create("task", { title: "first" });
      await a.push1(first);
      live.set(first.entity_id, "task");
      const queued: ReturnType<Device["update"]>[] = [];

      for (let step = 0; step < STEPS; step++) {
        const roll = rng.int(100);
        const ids = [...live.keys()];
        if (roll < 25 || ids.length === 0) {
          const tasks = ids.filter((id) => live.get(id) === "task");
          const kind = tasks.length > 0 && rng.chance(0.4) ? "comment" : rng.chance(0.2) ? "project" : "task";
          const data = kind === "comment" ? { task_id: rng.pick(tasks), body: `c${step}` } : kind === "project" ? { name: `p${step}` } : { title: `t${step}` };
          const c = a.create(kind, data);
          const r = await a.push1(c);
          expect(r.status, `seed ${seed} step ${step}`).toBe("applied");
          live.set(c.entity_id, kind);
        } else if (roll < 45) {
          const id = rng.pick(ids);
          const kind = live.get(id)!;
          const r = await a.push1(a.update(kind, id, kind === "comment" ? { body: `e${step}` } : kind === "project" ? { name: `e${step}` } : { title: `e${step}` }));
          expect(["applied", "conflict"], `seed ${seed} step ${step}`).toContain(r.status);
        } else if (roll < 60) {
          const id = rng.pick(ids);
          const r = await a.push1(a.delete(live.get(id)!, id));
          expect(r.status, `seed ${seed} step ${step}`).toBe("applied");
          live.delete(id);
          // A task's comments stay live (hidden by REST) until the purge deletes them.
        } else if (roll < 70) {
          clock.advance(rng.int(6) * DAY + rng.int(24) * 3_600_000);
        } else if (roll < 80) {
          const run = await t.services.jobs.run("cleanup-tombstones");
          expect(run.ok, `seed ${seed} step ${step}`).toBe(true);
          const r = run.result as Record<string, number>;
          if ((r.tasks ?? 0) + (r.comments ?? 0) + (r.projects ?? 0) > 0) purgedAny = true;
          tally.purged += (r.tasks ?? 0) + (r.comments ?? 0) + (r.projects ?? 0);
          // Comments the purge deleted (their task expired) are gone from the live set.
          for (const [id, kind] of live) {
            if (kind !== "comment") continue;
            const row = await t.deps.db.get<{ deleted_at: string | null }>("SELECT deleted_at FROM comments WHERE id = ?", [id]);
            if (!row || row.deleted_at !== null) live.delete(id);
          }
        } else if (roll < 95) {
          await pullObserver();
          expect(held, `seed ${seed} step ${step}: the observer holds the live records`).toEqual(await serverLive());
        } else if (step < STEPS / 2 && offline.known.size === 0) {
          // The offline device takes a snapshot now and queues edits of some of what it saw.
          await offline.pullAll();
          for (const id of [...live.keys()].filter(() => rng.chance(0.5))) {
            const kind = live.get(id)!;
            queued.push(offline.update(kind, id, kind === "comment" ? { body: "offline" } : kind === "project" ? { name: "offline" } : { title: "offline" }));
          }
        }
      }
      await pullObserver();
      expect(held, `seed ${seed}: the observer at the end`).toEqual(await serverLive());

      // The offline device comes back: its queue, then its old cursor.
      if (queued.length > 0) {
        const r = await offline.pushRaw(queued);
        expect(r.status, `seed ${seed}`).toBe(200);
        for (const [i, res] of r.body.results.entries()) {
          const stored = await t.deps.db.get<{ id: string }>(`SELECT id FROM ${queued[i].entity}s WHERE id = ?`, [queued[i].entity_id]);
          if (stored) expect(["applied", "merged", "conflict", "stale"], `seed ${seed}: ${JSON.stringify(res)}`).toContain(res.status);
          else {
            expect([res.status, res.error?.code], `seed ${seed}`).toEqual(["rejected", "not_found"]);
            tally.notFound++;
          }
        }
        const oldCursor = offline.cursor;
        const p = await offline.pullRaw();
        expect([200, 410], `seed ${seed}`).toContain(p.status);
        if (oldCursor !== null) expect({ seed, status: p.status, behind: await behindPurge(oldCursor) }).toEqual({ seed, status: p.status, behind: p.status === 410 });
        if (p.status === 410) expect(purgedAny).toBe(true);
        if (p.status === 410) tally.offline410++;
        tally.queued = queued.length;
        offline.cursor = null;
        const snap = await offline.pullAll();
        expect(new Map(snap.map((c) => [c.entity_id, c.record.version]))).toEqual(await serverLive());
      }
      if (process.env.TOMB_FUZZ_TALLY) console.log(seed, tally);
      // No conflict left unreadable.
      expect((await t.request("GET", "/api/sync/conflicts", { token })).status).toBe(200);
    }, 60_000);
  }
});
