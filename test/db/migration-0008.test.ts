/**
 * Migration 0008 renames `feed.origin_device`, which every feed write and pull of a build from
 * before migration 0006 names: such a build (which checks no migration it does not know) started on
 * a migrated database must fail its writes, rolled back, instead of storing feed rows that no pull
 * sends as they are.
 */
import { expect, test } from "bun:test";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { createTestDatabase, DIALECTS } from "../support/db";

const AT = "2026-01-01T00:00:00.000Z";

/** The feed upsert of those builds (src/records/feed.ts at 7b8cfc2, SQLite's form). */
const OLD_FEED_WRITE = `INSERT INTO feed (entity, entity_id, org_id, pos, op, version, origin_device) VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (entity, entity_id) DO UPDATE SET pos = excluded.pos, op = excluded.op, version = excluded.version, origin_device = excluded.origin_device`;

for (const dialect of DIALECTS) {
  test(`0008 keeps each feed row's device under its new name, and a build that names origin_device fails and rolls back [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect, { migrate: false });
    try {
      await migrate(db, MIGRATIONS.filter((m) => m.version <= 7));
      await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [AT]);
      await db.run("INSERT INTO feed (entity, entity_id, org_id, pos, op, version, origin_device, change) VALUES ('task', 't1', 'o', 1, 'upsert', 1, 'dev-a', '{}')");

      expect((await migrate(db, MIGRATIONS.filter((m) => m.version <= 8))).map((m) => m.version)).toEqual([8]);

      expect(await db.all("SELECT entity_id, pushed_by_device FROM feed")).toEqual([{ entity_id: "t1", pushed_by_device: "dev-a" }]);
      await expect(
        db.transaction(async (tx) => {
          await tx.run("UPDATE organizations SET name = 'written by the old build' WHERE id = 'o'");
          await tx.run(OLD_FEED_WRITE, ["task", "t2", "o", 2, "upsert", 1, null]);
        }),
      ).rejects.toThrow(/origin_device/);
      expect(await db.get("SELECT name FROM organizations WHERE id = 'o'")).toEqual({ name: "O" });
      expect(await db.all("SELECT entity_id FROM feed")).toEqual([{ entity_id: "t1" }]);
    } finally {
      await drop();
    }
  });
}
