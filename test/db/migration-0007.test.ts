/**
 * Migration 0007 replaces each feed row's record and clock texts by the change a pull sends, put
 * together from them: byte for byte what the server now stores for a write (`changeText`), so a
 * device pulling from a migrated database gets exactly what it got before.
 */
import { expect, test } from "bun:test";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { changeText } from "../../src/records/feed";
import { readFeedJson } from "../../src/records/feed-json";
import { createTestDatabase, DIALECTS } from "../support/db";

const AT = "2026-01-01T00:00:00.000Z";

for (const dialect of DIALECTS) {
  test(`0007 stores each feed row's change as the server writes it, and drops the texts it came from [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect, { migrate: false });
    try {
      await migrate(db, MIGRATIONS.filter((m) => m.version <= 6));
      await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [AT]);
      const rows: Parameters<typeof changeText>[0][] = [
        // Escapes and characters beyond ASCII in the id and in the record's text, kept as they are.
        { entity: "task", entityId: 'id "quoted" \\ é €', op: "upsert", version: 3, record: '{"id":"x","title":"tab\\t \\"q\\" \\u2028 é 😀","tags":["a"]}', vectorClock: '{"d1":2,"d2":1}' },
        { entity: "comment", entityId: "c1", op: "delete", version: 2, record: '{"id":"c1","deleted_at":"2026-01-02T00:00:00.000Z"}', vectorClock: "{}" },
      ];
      for (const [i, r] of rows.entries()) {
        await db.run("INSERT INTO feed (entity, entity_id, org_id, pos, op, version, record, vector_clock) VALUES (?, ?, 'o', ?, ?, ?, ?, ?)", [
          r.entity, r.entityId, i + 1, r.op, r.version, r.record, r.vectorClock,
        ]);
      }
      // A row without a record (not expected to exist): it stays without a change, never sent.
      await db.run("INSERT INTO feed (entity, entity_id, org_id, pos, op, version) VALUES ('task', 't2', 'o', 3, 'upsert', 1)");

      expect((await migrate(db, MIGRATIONS.filter((m) => m.version <= 8))).map((m) => m.version)).toEqual([7, 8]);

      const stored = await db.all<{ change: string | null }>("SELECT change FROM feed ORDER BY pos");
      expect(stored.map((r) => r.change)).toEqual([...rows.map((r) => changeText(r)), null]);
      const page = await readFeedJson(db, "o", 0, 10);
      expect(page.changes.map((c) => new TextDecoder().decode(c))).toEqual(rows.map((r) => changeText(r)));
      expect(page.changes.map((c) => JSON.parse(new TextDecoder().decode(c)))[1]).toEqual({
        entity: "comment", entity_id: "c1", op: "delete", record: { id: "c1", deleted_at: "2026-01-02T00:00:00.000Z" }, version: 2, vector_clock: {},
      });
      expect(page).toMatchObject({ lastPos: 3, hasMore: false });
      // Rebuilt with its key: one row per record.
      await expect(db.run("INSERT INTO feed (entity, entity_id, org_id, pos, op, version) VALUES ('comment', 'c1', 'o', 9, 'upsert', 3)")).rejects.toThrow();
      await expect(db.all("SELECT record FROM feed")).rejects.toThrow();
      await expect(db.all("SELECT vector_clock FROM feed")).rejects.toThrow();
    } finally {
      await drop();
    }
  });
}
