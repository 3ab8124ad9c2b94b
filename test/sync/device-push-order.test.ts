/**
 * One device's pushes apply in the order they reach the server, on Postgres too, as they do on
 * SQLite (one writer at a time). A client that sends its next push before the previous one is
 * answered (pipelining, or a retry after a timeout while the first is still running) must not get
 * its second push judged against a database without its first: a comment on a task the first push
 * creates would be rejected "no such task", and that rejection remembered for its change_id.
 * Here the first push is held in its COMMIT (a deferred trigger sleeps there) while the same device
 * pushes again. Postgres only (SQLite cannot run two pushes at once).
 */
import { describe, expect, test } from "bun:test";
import { postgresTestApp } from "../support/pg-app";
import { PG_AVAILABLE } from "../support/db";
import { withCommitHeld } from "../support/hold-commit";
import { Device, taskData } from "./helpers";

const MARK = "held-in-commit";

describe.skipIf(!PG_AVAILABLE)("one device's pushes in order [postgres]", () => {
  const pg = postgresTestApp();

  test("a push sent while the same device's previous push is still committing waits for it, and sees what it wrote", async () => {
    const t = pg.app();
    const db = pg.db();
    await withCommitHeld(db, MARK, 1.5, async (sleeping) => {
      const owner = await t.createUser();
      const a = Device.of(t, owner);
      const task = a.create("task", taskData({ title: MARK }));
      const first = a.push1(task);
      await sleeping();
      const comment = a.create("comment", { task_id: task.entity_id, body: "on the task just created" });
      const second = await a.push1(comment);
      expect((await first).status).toBe("applied");
      expect(second.status).toBe("applied");

      // A re-send of the same change is its duplicate, not a rejection remembered.
      const again = await a.pushRaw([comment]);
      expect(again.body.results[0].status).toBe("duplicate");
      const comments = await t.request<{ results: { id: string }[] }>("GET", `/api/tasks/${task.entity_id}/comments`, { token: owner.token });
      expect(comments.body.results.map((c) => c.id)).toEqual([comment.entity_id]);
    });
  });
});
