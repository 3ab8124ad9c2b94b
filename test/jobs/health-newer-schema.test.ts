/**
 * An instance still running after a newer taskmgr migrated its database (two versions at once, an
 * upgrade half done) says so: health adds `newer_migrations`, the versions it does not know, and the
 * log a `database_newer_than_this_version` warning. Before, its health answered a plain `ok` while its
 * requests failed wherever the schema had changed (500 `request_failed`, "column … does not exist"),
 * and nothing the operator saw named the cause.
 */
import { expect, test } from "bun:test";
import { MIGRATIONS } from "../../src/db/migrations";
import { createTestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { memoryLogger } from "../support/log";

forEachDialect("health: a database migrated by a newer version", ({ db }) => {
  test("200 ok, with the versions this build does not know, and one warning until they change", async () => {
    const { log, lines } = memoryLogger();
    const t = await createTestApp(db(), { log });
    const warnings = () => lines.filter((l) => l.event === "database_newer_than_this_version");

    const before = await t.request("GET", "/api/health");
    expect(before.status).toBe(200);
    expect(before.body.newer_migrations).toBeUndefined();

    const next = Math.max(...MIGRATIONS.map((m) => m.version)) + 1;
    await db().run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [next, `${next}_from_the_future`, new Date().toISOString()]);
    const after = await t.request("GET", "/api/health");
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ status: "ok", migrations: "current", newer_migrations: [next] });
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ level: "warn", versions: [next] });

    // Checked again: still said by health, not logged again.
    expect((await t.request("GET", "/api/health")).body.newer_migrations).toEqual([next]);
    expect(warnings()).toHaveLength(1);

    await db().run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [next + 1, `${next + 1}_further`, new Date().toISOString()]);
    expect((await t.request("GET", "/api/health")).body.newer_migrations).toEqual([next, next + 1]);
    expect(warnings()).toHaveLength(2);

    await db().run("DELETE FROM schema_migrations WHERE version >= ?", [next]);
    expect((await t.request("GET", "/api/health")).body.newer_migrations).toBeUndefined();
  });
});
