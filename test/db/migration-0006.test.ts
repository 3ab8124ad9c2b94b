/**
 * Migration 0006 gives each feed row the record and clock of its version, taken from history: a
 * database migrated with synced records keeps sending exactly what it sent before (what 0007 then
 * makes of those texts: migration-0007.test.ts).
 */
import { expect, test } from "bun:test";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { createTestDatabase, DIALECTS } from "../support/db";

const AT = "2026-01-01T00:00:00.000Z";
const snapshot = (v: number) => JSON.stringify({ id: "t1", title: `v${v}`, version: v, vector_clock: { d: v } });

for (const dialect of DIALECTS) {
  test(`0006 fills each feed row's record and clock from the history row of its version [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect, { migrate: false });
    try {
      await migrate(db, MIGRATIONS.filter((m) => m.version <= 5));
      await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [AT]);
      for (const v of [1, 2]) {
        await db.run(
          `INSERT INTO history (entity_id, version, id, org_id, entity, action, changes, snapshot, vector_clock, created_at)
           VALUES ('t1', ?, ?, 'o', 'task', 'updated', '{}', ?, ?, ?)`,
          [v, `h${v}`, snapshot(v), JSON.stringify({ d: v }), AT],
        );
      }
      await db.run("INSERT INTO feed (entity, entity_id, org_id, pos, op, version) VALUES ('task', 't1', 'o', 1, 'upsert', 2)");
      // A feed row without a history row (not expected to exist): left without a record, never sent.
      await db.run("INSERT INTO feed (entity, entity_id, org_id, pos, op, version) VALUES ('task', 't2', 'o', 2, 'upsert', 1)");

      expect((await migrate(db, MIGRATIONS.filter((m) => m.version <= 6))).map((m) => m.version)).toEqual([6]);

      const rows = await db.all<{ entity_id: string; record: string | null; vector_clock: string | null }>(
        "SELECT entity_id, record, vector_clock FROM feed ORDER BY pos",
      );
      expect(rows).toEqual([
        { entity_id: "t1", record: snapshot(2), vector_clock: '{"d":2}' },
        { entity_id: "t2", record: null, vector_clock: null },
      ]);
    } finally {
      await drop();
    }
  });
}
