import { expect, test } from "bun:test";
import { forEachDialect } from "../support/db";
import { KEPT_TABLES, RESET_TABLES } from "./seed";

/** The jobs tests' `resetTables` empties every table the migrations create, but those it keeps on purpose. */
forEachDialect("resetTables", ({ db }) => {
  test("every table of the migrated database is either reset or deliberately kept", async () => {
    const rows =
      db().dialect === "sqlite"
        ? await db().all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        : await db().all<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'");
    const tables = rows.map((r) => r.name).sort();
    const listed = [...RESET_TABLES, ...KEPT_TABLES];
    expect({ neither: tables.filter((t) => !listed.includes(t)), gone: listed.filter((t) => !tables.includes(t)) }).toEqual({ neither: [], gone: [] });
    expect(RESET_TABLES.filter((t) => KEPT_TABLES.includes(t))).toEqual([]);
  });
});
