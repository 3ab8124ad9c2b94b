/**
 * Migrations 0009-0011 only replace or add indexes: on a database of version 8 holding tasks
 * (live and deleted) and comments, they apply on both dialects, keep every row, leave the indexes
 * they name with the columns they name (and the replaced one gone), and the lists read them.
 */
import { expect, test } from "bun:test";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { createTestDatabase, DIALECTS, indexDefinitions } from "../support/db";

const AT = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, "0")}.000Z`;

for (const dialect of DIALECTS) {
  test(`0009-0011 apply on stored tasks and comments and leave their indexes [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect, { migrate: false });
    try {
      await migrate(db, MIGRATIONS.filter((m) => m.version <= 8));
      await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [AT(0)]);
      for (let i = 1; i <= 6; i++) {
        await db.run(
          `INSERT INTO tasks (id, org_id, title, status, priority, priority_rank, created_by, version, vector_clock, created_at, updated_at, deleted_at)
           VALUES (?, 'o', ?, 'todo', 'high', 2, 'u', 1, '{}', ?, ?, ?)`,
          [`t${i}`, `task ${i}`, AT(i), AT(i), i % 3 === 0 ? AT(30) : null],
        );
        await db.run(
          `INSERT INTO comments (id, org_id, task_id, body, author_id, version, vector_clock, created_at, updated_at, deleted_at)
           VALUES (?, 'o', ?, 'hi', 'u', 1, '{}', ?, ?, ?)`,
          [`c${i}`, `t${i}`, AT(i), AT(i), i % 2 === 0 ? AT(30) : null],
        );
      }
      expect((await indexDefinitions(db, ["tasks", "comments"])).has("tasks_org_updated")).toBe(true);

      expect((await migrate(db, MIGRATIONS.filter((m) => m.version <= 11))).map((m) => m.version)).toEqual([9, 10, 11]);

      const after = await indexDefinitions(db, ["tasks", "comments"]);
      expect(after.has("tasks_org_updated")).toBe(false);
      expect(after.get("tasks_org_updated_id")).toContain("(org_id, updated_at, id)");
      expect(after.get("comments_live_task")).toMatch(/\(org_id, task_id\) WHERE \(?deleted_at IS NULL\)?/);
      expect(after.get("tasks_live_priority")).toMatch(/\(org_id, priority_rank, created_at, id\) WHERE \(?deleted_at IS NULL\)?/);
      expect(await db.get("SELECT COUNT(*) AS n FROM tasks")).toEqual({ n: 6 });
      expect(await db.get("SELECT COUNT(*) AS n FROM comments WHERE deleted_at IS NULL")).toEqual({ n: 3 });
      const byPriority = await db.all<{ id: string }>(
        "SELECT id FROM tasks WHERE org_id = 'o' AND deleted_at IS NULL ORDER BY priority_rank DESC, created_at DESC, id DESC",
      );
      expect(byPriority.map((r) => r.id)).toEqual(["t5", "t4", "t2", "t1"]);
    } finally {
      await drop();
    }
  });
}
