/**
 * Found by QA: on a Postgres database that is fully migrated, every command (`serve` too) ran
 * `CREATE TABLE IF NOT EXISTS schema_migrations`, which Postgres refuses to a role that may not create
 * in the schema even when the table exists. A deployment whose runtime role may only read and write the
 * tables (migrated by their owner with `taskmgr migrate`) failed every command with "permission denied
 * for schema public", though nothing needed migrating ("migrate if needed").
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Database } from "../../src/db/types";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";
import { removeTempDirs, taskmgr, tempDir } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

describe.skipIf(!PG_AVAILABLE)("a role that may only read and write the tables of a migrated database", () => {
  const cwd = tempDir();
  let db: Database | null = null;
  let drop: (() => Promise<void>) | null = null;
  let role = "";
  let url = "";

  beforeAll(async () => {
    const made = await createTestDatabase("postgres");
    ({ db, drop } = made);
    const u = new URL(made.url);
    role = `${u.pathname.slice(1)}_dml`;
    await db.exec(`CREATE ROLE ${role} LOGIN PASSWORD 'dml-role-password'`);
    await db.exec(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await db.exec(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    await db.exec(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    u.username = role;
    u.password = "dml-role-password";
    url = u.toString();
  });
  afterAll(async () => {
    await db?.exec(`DROP OWNED BY ${role}`);
    await db?.exec(`DROP ROLE IF EXISTS ${role}`);
    await drop?.();
  });

  test("admin commands work: nothing to migrate, nothing created", async () => {
    const created = await taskmgr(["orgs", "create", "Least Privilege", "--db", url], { cwd });
    expect([created.code, created.stderr]).toEqual([0, ""]);
    const listed = await taskmgr(["orgs", "list", "--json", "--db", url], { cwd });
    expect([listed.code, listed.stderr]).toEqual([0, ""]);
    expect(JSON.parse(listed.stdout).map((o: { slug: string }) => o.slug)).toEqual(["least-privilege"]);
    const migrated = await taskmgr(["migrate", "--db", url], { cwd });
    expect([migrated.code, migrated.stderr]).toEqual([0, ""]);
    expect(migrated.stdout).toContain("is up to date");
  });
});
