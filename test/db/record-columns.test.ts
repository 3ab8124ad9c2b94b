/**
 * Each synced record's table, once migrated, has exactly the columns its entity definition reads and
 * writes (src/records/entities.ts: the id, the model's writable fields, the derived columns, the owner
 * and the meta columns) besides `org_id`, on both dialects. A field added to a model without its
 * migration fails here, naming the column, instead of as a 500 of every write that test apps do not log.
 */
import { expect, test } from "bun:test";
import { entityDef } from "../../src/records/entities";
import { ENTITY_KINDS } from "../../src/records/model";
import { forEachDialect } from "../support/db";

/** The columns of a table, by name. */
const COLUMNS = {
  sqlite: "SELECT name FROM pragma_table_info(?)",
  postgres: "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?",
} as const;

forEachDialect("record tables", ({ db, dialect }) => {
  test("each has the columns of its entity definition, and no other but org_id", async () => {
    for (const kind of ENTITY_KINDS) {
      const def = entityDef(kind);
      const stored = (await db().all<{ name: string }>(COLUMNS[dialect], [def.table])).map((r) => r.name).filter((c) => c !== "org_id");
      expect({ table: def.table, columns: stored.sort() }).toEqual({ table: def.table, columns: [...def.columns].sort() });
    }
  });
});
