/**
 * Migration 0015 only adds an index: on a database of version 14 holding comments (live and
 * deleted, edited in another order than created), it applies on both dialects, keeps every row,
 * leaves `comments_org_updated` on `(org_id, updated_at, id)`, and an organization's comments list
 * by their last edit, deleted ones included when asked.
 */
import { expect, test } from "bun:test";
import { CommentRepo } from "../../src/comments/repo";
import { commentFilter } from "../../src/comments/service";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { createTestDatabase, DIALECTS, indexDefinitions } from "../support/db";

const AT = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, "0")}.000Z`;

for (const dialect of DIALECTS) {
  test(`0015 applies on stored comments and lists them by their last edit [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect, { migrate: false });
    try {
      await migrate(db, MIGRATIONS.filter((m) => m.version <= 14));
      await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [AT(0)]);
      await db.run(
        `INSERT INTO tasks (id, org_id, title, status, priority, priority_rank, created_by, version, vector_clock, created_at, updated_at)
         VALUES ('t', 'o', 'task', 'todo', 'high', 2, 'u', 1, '{}', ?, ?)`,
        [AT(1), AT(1)],
      );
      // Created c1 … c5, last edited in the order c3, c1, c5, c2, c4; c2 deleted.
      const edited = [0, 12, 14, 11, 15, 13];
      for (let i = 1; i <= 5; i++) {
        await db.run(
          `INSERT INTO comments (id, org_id, task_id, body, author_id, version, vector_clock, created_at, updated_at, deleted_at)
           VALUES (?, 'o', 't', 'hi', 'u', 1, '{}', ?, ?, ?)`,
          [`c${i}`, AT(i), AT(edited[i]!), i === 2 ? AT(14) : null],
        );
      }
      expect((await migrate(db, MIGRATIONS.filter((m) => m.version <= 15))).map((m) => m.version)).toEqual([15]);
      expect((await indexDefinitions(db, ["comments"])).get("comments_org_updated")).toContain("(org_id, updated_at, id)");
      expect(await db.get("SELECT COUNT(*) AS n FROM comments")).toEqual({ n: 5 });

      const comments = new CommentRepo(db, "o");
      const ids = async (includeDeleted: boolean, desc: boolean, taskId?: string) =>
        (await comments.list(commentFilter({ include_deleted: includeDeleted, task_id: taskId, ordering: desc ? "-updated_at" : "updated_at" }), { page: 1, pageSize: 10 })).results.map((c) => c.id);
      expect(await ids(false, true)).toEqual(["c4", "c5", "c1", "c3"]);
      expect(await ids(true, false)).toEqual(["c3", "c1", "c5", "c2", "c4"]);
      expect(await ids(false, false, "t")).toEqual(["c3", "c1", "c5", "c4"]);
    } finally {
      await drop();
    }
  });
}
