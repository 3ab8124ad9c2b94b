/** A `postgres://` URL without a user connects as libpq would: PGUSER, else the system user (found by QA: role "unknown"). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";
import { removeTempDirs, taskmgr, tempDir } from "./support";

afterAll(removeTempDirs);

/** Every variable a user could come from, removed so that only the test decides. */
const USER_VARS = ["PGUSER", "PGUSERNAME", "USER", "LOGNAME", "USERNAME"];

describe.skipIf(!PG_AVAILABLE)("a postgres:// URL that names no user", () => {
  const cwd = tempDir();
  let drop: (() => Promise<void>) | null = null;
  /** The test database's URL without its user and password, its user, and the password for PGPASSWORD. */
  let bare = "";
  let user = "";
  let password = "";

  beforeAll(async () => {
    const made = await createTestDatabase("postgres", { migrate: false });
    drop = made.drop;
    await made.db.close();
    const u = new URL(made.url);
    user = decodeURIComponent(u.username);
    password = decodeURIComponent(u.password);
    u.username = "";
    u.password = "";
    bare = u.toString();
  });
  afterAll(async () => {
    await drop?.();
  });

  test("PGUSER names the user", async () => {
    const r = await taskmgr(["migrate", "status", "--json", "--db", bare], { cwd, env: { PGUSER: user, PGPASSWORD: password }, unset: USER_VARS.filter((v) => v !== "PGUSER") });
    expect([r.code, r.stderr]).toEqual([0, ""]);
  });

  test("the URL's user beats PGUSER", async () => {
    const withUser = bare.replace("://", `://${encodeURIComponent(user)}@`);
    const r = await taskmgr(["migrate", "status", "--json", "--db", withUser], { cwd, env: { PGUSER: "no_such_role_fixcli", PGPASSWORD: password }, unset: ["PGUSERNAME"] });
    expect([r.code, r.stderr]).toEqual([0, ""]);
  });

  test("without PGUSER or USER: the system user (as `id -un` names it), never role \"unknown\"", async () => {
    const system = Bun.spawnSync(["id", "-un"]).stdout.toString().trim();
    expect(system).not.toBe("");
    const r = await taskmgr(["migrate", "status", "--json", "--db", bare], { cwd, env: { PGPASSWORD: password }, unset: USER_VARS });
    expect(r.stderr).not.toContain('"unknown"');
    // Connected as that user (a role of that name exists), or refused naming it.
    if (r.code !== 0) expect(r.stderr).toContain(`role "${system}"`);
    expect(r.stderr.trim().split("\n").length).toBeLessThanOrEqual(1);
  });
});
