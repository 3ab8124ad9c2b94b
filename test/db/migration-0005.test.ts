/**
 * Migration 0005 rebuilds `task_tags` keyed by (org_id, tag, created_at, task_id): an organization migrated
 * with tags stored the old way keeps every row, and the new key holds.
 */
import { expect, test } from "bun:test";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { createTestDatabase, DIALECTS } from "../support/db";

const AT = "2026-01-01T00:00:00.000Z";
const AT2 = "2026-01-02T00:00:00.000Z";

for (const dialect of DIALECTS) {
  test(`0005 keeps every task tag, with its task's created_at, keyed by organization and tag [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect, { migrate: false });
    try {
      expect((await migrate(db, MIGRATIONS.filter((m) => m.version <= 4))).length).toBe(4);
      await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [AT]);
      for (const [id, tags, at] of [["t1", ["a", "b"], AT], ["t2", ["b"], AT2]] as const) {
        await db.run(
          `INSERT INTO tasks (id, org_id, title, status, priority, priority_rank, tags, created_by, version, vector_clock, created_at, updated_at)
           VALUES (?, 'o', 'T', 'todo', 'low', 0, ?, 'u', 1, '{}', ?, ?)`,
          [id, JSON.stringify(tags), at, at],
        );
        for (const tag of tags) await db.run("INSERT INTO task_tags (task_id, org_id, tag) VALUES (?, 'o', ?)", [id, tag]);
      }

      expect((await migrate(db, MIGRATIONS.filter((m) => m.version <= 5))).map((m) => m.version)).toEqual([5]);

      const rows = await db.all<Record<string, string>>("SELECT org_id, tag, created_at, task_id FROM task_tags ORDER BY tag, task_id");
      expect(rows).toEqual([
        { org_id: "o", tag: "a", created_at: AT, task_id: "t1" },
        { org_id: "o", tag: "b", created_at: AT, task_id: "t1" },
        { org_id: "o", tag: "b", created_at: AT2, task_id: "t2" },
      ]);
      await expect(db.run("INSERT INTO task_tags (org_id, tag, created_at, task_id) VALUES ('o', 'a', ?, 't1')", [AT])).rejects.toThrow();
    } finally {
      await drop();
    }
  });
}
