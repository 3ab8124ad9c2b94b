/**
 * sync-notes.md, "A cursor that never skips": a position handed out before its transaction commits
 * lets a later writer's position commit first; a reader that sees the later one moves its cursor
 * past the earlier one and never gets it. test/sync/concurrency.test.ts finds that only if the
 * scheduler happens to open the gap. Here one push is held in its COMMIT (a deferred trigger on the
 * feed sleeps there, after its position was taken) while a second push of the same organization
 * runs and a reader pulls: the reader must not be handed the second before the first has committed.
 * Postgres only (SQLite has one writer at a time).
 */
import { describe, expect, test } from "bun:test";
import { postgresTestApp } from "../support/pg-app";
import { PG_AVAILABLE } from "../support/db";
import { withCommitHeld } from "../support/hold-commit";
import { Device, taskData } from "./helpers";

const MARK = "held-in-commit";

describe.skipIf(!PG_AVAILABLE)("feed positions commit in order [postgres]", () => {
  const pg = postgresTestApp();

  test("a push held in its COMMIT: a later push of the organization does not commit a position after it first, and the reader gets both", async () => {
    const t = pg.app();
    const db = pg.db();
    await withCommitHeld(db, MARK, 1.5, async (sleeping) => {
      const owner = await t.createUser();
      const a = Device.of(t, owner);
      const b = Device.of(t, await t.createUser({ org: owner.org.slug }));
      const reader = await Device.another(t, owner, "reader");
      await reader.pullAll();

      const first = a.push1(a.create("task", taskData({ title: MARK })));
      await sleeping();
      const second = b.push1(b.create("task", taskData({ title: "written second" })));
      await Bun.sleep(300); // time for the second push to commit, if nothing holds it

      // Whatever the reader gets while the first push is still committing, it must not move past it.
      const during = await reader.pullAll();
      expect(during.map((c) => c.record.title)).toEqual([]);

      expect((await first).status).toBe("applied");
      expect((await second).status).toBe("applied");
      const after = await reader.pullAll();
      expect(after.map((c) => c.record.title)).toEqual([MARK, "written second"]);
    });
  });
});
