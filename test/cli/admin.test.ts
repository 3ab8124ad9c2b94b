import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { MIGRATIONS } from "../../src/db/migrations";
import { openDatabase } from "../../src/db/open";
import type { Database } from "../../src/db/types";
import { silentLogger } from "../../src/log/logger";
import { createServices, type Services } from "../../src/services";
import { systemClock } from "../../src/time";
import { createTestDatabase, DIALECTS } from "../support/db";
import { removeTempDirs, taskmgr, tempDir } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

for (const dialect of DIALECTS) {
  describe(`admin commands [${dialect}]`, () => {
    const cwd = tempDir();
    let url = "";
    let dropDb: () => Promise<void> = async () => {};
    let db: Database;
    let services: Services;
    const cli = (args: string[], stdin?: string) => taskmgr([...args, "--db", url], { cwd, stdin });
    const json = async (args: string[]) => {
      const r = await cli([...args, "--json"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    };
    const canLogin = (email: string, password: string) =>
      services.auth.login({ email, password }, "cli-test").then(
        () => true,
        () => false,
      );

    beforeAll(async () => {
      if (dialect === "sqlite") url = `sqlite:${join(cwd, "admin.db")}`;
      else ({ url, drop: dropDb } = await createTestDatabase("postgres", { migrate: false }));
    });
    afterAll(async () => {
      await db?.close();
      await dropDb();
    });

    test("a fresh database: migrate status lists pending migrations (a SQLite file that does not exist: said so), then migrate applies them", async () => {
      // Status only reads: no file created (SQLite), no tracking table created (Postgres).
      if (dialect === "sqlite") {
        const missing = await cli(["migrate", "status", "--json"]);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toStartWith(`error: database file ${join(cwd, "admin.db")} does not exist`);
        expect(existsSync(join(cwd, "admin.db"))).toBe(false);
      } else {
        const before = await json(["migrate", "status"]);
        expect(before.map((m: { name: string }) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
        expect(before.every((m: { applied_at: string | null }) => m.applied_at === null)).toBe(true);
        const peek = openDatabase(url);
        expect(await peek.get("SELECT 1 AS found FROM pg_tables WHERE tablename = 'schema_migrations'")).toBeUndefined();
        await peek.close();
      }

      const r = await cli(["migrate"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("applied 0001_initial");
      expect((await cli(["migrate"])).stdout).toContain("up to date");

      const file = join(cwd, "admin.db");
      const bytes = dialect === "sqlite" ? readFileSync(file) : null;
      const after = await json(["migrate", "status"]);
      // Status does not change an existing file either.
      if (bytes) expect(readFileSync(file).equals(bytes)).toBe(true);
      expect(after.map((m: { name: string }) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
      expect(after.every((m: { applied_at: string | null }) => typeof m.applied_at === "string")).toBe(true);

      db = openDatabase(url);
      services = createServices({ db, config: { ...loadConfig({ db: url }, {}), secret: "cli-test-secret" }, clock: systemClock, log: silentLogger });
    });

    test.skipIf(dialect !== "sqlite")("migrate status leaves an empty SQLite file empty (nothing applied, every migration pending)", async () => {
      const empty = join(cwd, "empty.db");
      writeFileSync(empty, "");
      const r = await taskmgr(["migrate", "status", "--json", "--db", `sqlite:${empty}`], { cwd });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).every((m: { applied_at: string | null }) => m.applied_at === null)).toBe(true);
      // Every migration listed, each pending (an empty list would pass the check above).
      expect(JSON.parse(r.stdout).map((m: { name: string; applied_at: string | null }) => [m.name, m.applied_at])).toEqual(MIGRATIONS.map((m) => [m.name, null]));
      expect(readFileSync(empty).length).toBe(0);
    });

    test("orgs create derives or takes a slug; a taken slug fails with one line", async () => {
      const acme = await json(["orgs", "create", "Acme Corp"]);
      expect(acme).toMatchObject({ name: "Acme Corp", slug: "acme-corp" });
      expect((await cli(["orgs", "create", "Beta", "--slug", "beta"])).stdout).toStartWith("created organization beta");

      const taken = await cli(["orgs", "create", "Other", "--slug", "beta"]);
      expect(taken.code).toBe(1);
      expect(taken.stderr).toBe('error: organization slug "beta" is taken\n');

      const bad = await cli(["orgs", "create", "Other", "--slug", "Not A Slug"]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toStartWith("error: invalid slug (slug: must be lowercase");
    });

    test("orgs list: a JSON array, or an aligned table", async () => {
      const list = await json(["orgs", "list"]);
      expect(list.map((o: { slug: string }) => o.slug).sort()).toEqual(["acme-corp", "beta"]);
      expect(Object.keys(list[0]).sort()).toEqual(["created_at", "id", "name", "slug"]);

      const table = (await cli(["orgs", "list"])).stdout.trimEnd().split("\n");
      expect(table).toHaveLength(3);
      expect(table[0]).toMatch(/^SLUG\s+NAME\s+ID\s+CREATED_AT$/);
      const idColumn = table[0]!.indexOf("ID");
      for (const row of table.slice(1)) expect(row.slice(idColumn)).toMatch(/^[0-9a-f-]{36}\s/);
    });

    // The organization given in another letter case (found by QA: the summary echoed `--org` as typed,
    // "in Acme-Corp", which is no slug): the summary names its slug.
    test("users create reads the password from stdin without its newline", async () => {
      const r = await cli(["users", "create", "--org", "Acme-Corp", "--email", "Ann@Acme.test", "--name", "Ann", "--role", "admin"], "first-password\n");
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith("created admin ann@acme.test in acme-corp");
      expect(await canLogin("ann@acme.test", "first-password")).toBe(true);
      expect(await canLogin("ann@acme.test", "first-password\n")).toBe(false);
    });

    // Found by QA: such an account could never log in (a login's text refuses NUL).
    test("a password holding a NUL character is refused (exit 1), on create and on set-password", async () => {
      const created = await cli(["users", "create", "--org", "acme-corp", "--email", "nul@acme.test"], "pass\u0000word1\n");
      expect([created.code, created.stderr]).toEqual([1, "error: invalid password (password: must not contain the NUL character (U+0000))\n"]);
      const set = await cli(["users", "set-password", "ann@acme.test"], "pass\u0000word2\n");
      expect(set.code).toBe(1);
      expect(set.stderr).toContain("must not contain the NUL character");
    });

    test("a password on stdin of more than one line is refused (exit 1), not cut or kept with its line breaks", async () => {
      const r = await cli(["users", "create", "--org", "acme-corp", "--email", "two-lines@acme.test"], "first\nsecond\n");
      expect([r.code, r.stderr]).toEqual([1, "error: the password on standard input must be one line\n"]);
    });

    test("users create with --password and --json; member is the default role", async () => {
      const bob = await json(["users", "create", "--org", "beta", "--email", "bob@beta.test", "--password", "bob-password"]);
      expect(bob).toMatchObject({ email: "bob@beta.test", role: "member", is_active: true });
      expect(JSON.stringify(bob)).not.toContain("password");
    });

    test.each([
      [["--org", "acme-corp", "--email", "ann@acme.test", "--password", "another-one"], "already exists"],
      [["--org", "nowhere", "--email", "cy@x.test", "--password", "another-one"], 'organization "nowhere" not found'],
      [["--org", "acme-corp", "--email", "cy@x.test", "--password", "short"], "password: must be at least 8 characters"],
      [["--org", "acme-corp", "--email", "cy@x.test"], "no password given on standard input"],
    ])("users create %p fails with one line", async (args, message) => {
      const r = await cli(["users", "create", ...args]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toStartWith("error: ");
      expect(r.stderr).toContain(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    });

    test("users list: every organization, or one", async () => {
      const all = await json(["users", "list"]);
      expect(all.map((u: { email: string }) => u.email).sort()).toEqual(["ann@acme.test", "bob@beta.test"]);
      const acme = await json(["users", "list", "--org", "acme-corp"]);
      expect(acme).toHaveLength(1);
      expect(acme[0]).toMatchObject({ email: "ann@acme.test", name: "Ann", role: "admin", is_active: true });

      const table = (await cli(["users", "list"])).stdout;
      expect(table).toMatch(/^EMAIL\s+NAME\s+ROLE\s+ORG\s+ACTIVE\s+ID\n/);
      expect(table).toMatch(/ann@acme\.test\s+Ann\s+admin\s+acme-corp\s+yes\s/);

      const unknown = await cli(["users", "list", "--org", "nowhere"]);
      expect(unknown.code).toBe(1);
    });

    test("users set-password reads stdin; the old password stops working", async () => {
      const r = await cli(["users", "set-password", "ANN@acme.test"], "second-password\n");
      expect(r.code).toBe(0);
      expect(await canLogin("ann@acme.test", "second-password")).toBe(true);
      expect(await canLogin("ann@acme.test", "first-password")).toBe(false);

      const unknown = await cli(["users", "set-password", "nobody@acme.test"], "third-password\n");
      expect(unknown).toMatchObject({ code: 1, stderr: "error: user nobody@acme.test not found\n" });
    });

    test("devices list and revoke", async () => {
      const ann = (await services.users.findByEmail("ann@acme.test"))!;
      const device = await services.devices.create({ userId: ann.id, orgId: ann.orgId }, { name: "Ann's phone", platform: "ios" });

      const mine = await json(["devices", "list", "--user", "ann@acme.test"]);
      expect(mine).toEqual([expect.objectContaining({ id: device.id, user_id: ann.id, name: "Ann's phone", revoked_at: null })]);
      expect(await json(["devices", "list", "--user", "bob@beta.test"])).toEqual([]);
      expect((await cli(["devices", "list"])).stdout).toMatch(new RegExp(`${device.id}\\s+ann@acme\\.test\\s+Ann's phone\\s+ios`));

      const r = await cli(["devices", "revoke", device.id]);
      expect(r.code).toBe(0);
      const [revoked] = await json(["devices", "list", "--user", "ann@acme.test"]);
      expect(typeof revoked.revoked_at).toBe("string");

      expect(await cli(["devices", "revoke", crypto.randomUUID()])).toMatchObject({ code: 1, stderr: "error: device not found\n" });
    });

    // Found by QA: any member names their devices; the admin's terminal got the raw name.
    test("devices list: a name's control characters are shown escaped in the table, as sent in --json", async () => {
      const ann = (await services.users.findByEmail("ann@acme.test"))!;
      const name = "phone\nffffffff-0000-0000-0000-000000000000  admin  backdoor\u001b[2J\u202e";
      const marks = await services.devices.create({ userId: ann.id, orgId: ann.orgId }, { name: "x\u2028y\u200fz\u200b\u061c" });
      const device = await services.devices.create({ userId: ann.id, orgId: ann.orgId }, { name, platform: "ios\u001b]0;pwned\u0007" });
      const table = (await cli(["devices", "list", "--user", "ann@acme.test"])).stdout;
      expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202e]/);
      const row = table.split("\n").find((line) => line.startsWith(device.id))!;
      expect(row).toContain("phone\\u000affffffff-0000-0000-0000-000000000000  admin  backdoor\\u001b[2J\\u202e");
      expect(row).toContain("ios\\u001b]0;pwned\\u0007");
      expect(table.split("\n").find((line) => line.startsWith(marks.id))).toContain("x\\u2028y\\u200fz\\u200b\\u061c");
      expect((await json(["devices", "list", "--user", "ann@acme.test"])).find((d: { id: string }) => d.id === device.id).name).toBe(name);
      const revoked = await cli(["devices", "revoke", device.id]);
      expect(revoked.stdout).toBe(`revoked device ${device.id} (phone\\u000affffffff-0000-0000-0000-000000000000  admin  backdoor\\u001b[2J\\u202e)\n`);
    });

    test("users deactivate: the user can no longer log in", async () => {
      expect(await canLogin("bob@beta.test", "bob-password")).toBe(true);
      const r = await cli(["users", "deactivate", "bob@beta.test"]);
      expect(r).toMatchObject({ code: 0, stdout: "deactivated bob@beta.test\n" });
      expect(await canLogin("bob@beta.test", "bob-password")).toBe(false);
      const [bob] = await json(["users", "list", "--org", "beta"]);
      expect(bob.is_active).toBe(false);
    });

    test("users activate: a deactivated user can log in again; twice is fine; an unknown email is 1", async () => {
      expect((await cli(["users", "deactivate", "bob@beta.test"])).code).toBe(0);
      expect(await canLogin("bob@beta.test", "bob-password")).toBe(false);
      expect(await cli(["users", "activate", "bob@beta.test"])).toMatchObject({ code: 0, stdout: "activated bob@beta.test\n" });
      expect(await cli(["users", "activate", "bob@beta.test"])).toMatchObject({ code: 0, stdout: "activated bob@beta.test\n" });
      expect(await canLogin("bob@beta.test", "bob-password")).toBe(true);
      expect((await cli(["users", "activate", "nobody@beta.test"])).code).toBe(1);
    });

    test("users set-role: bob becomes an admin and a member again; the last admin made a member or deactivated warns", async () => {
      expect(await cli(["users", "set-role", "bob@beta.test", "admin"])).toMatchObject({ code: 0, stdout: "bob@beta.test is an admin\n", stderr: "" });
      expect((await json(["users", "list", "--org", "beta"]))[0].role).toBe("admin");
      expect(await cli(["users", "set-role", "bob@beta.test", "admin"])).toMatchObject({ code: 0, stdout: "bob@beta.test is an admin\n", stderr: "" });
      const warning = "warning: organization beta has no active admin: make one with `taskmgr users set-role EMAIL admin` (and `taskmgr users activate EMAIL` if deactivated)\n";
      expect(await cli(["users", "deactivate", "bob@beta.test"])).toMatchObject({ code: 0, stdout: "deactivated bob@beta.test\n", stderr: warning });
      // Made an admin while deactivated: still nobody active (review).
      expect(await cli(["users", "set-role", "bob@beta.test", "admin"])).toMatchObject({ code: 0, stdout: "bob@beta.test is an admin\n", stderr: warning });
      expect((await cli(["users", "activate", "bob@beta.test"])).code).toBe(0);
      expect(await cli(["users", "set-role", "bob@beta.test", "member"])).toMatchObject({ code: 0, stdout: "bob@beta.test is a member\n", stderr: warning });
      // Another admin left: no warning.
      await json(["users", "create", "--org", "beta", "--email", "cat@beta.test", "--role", "admin", "--password", "cat-password"]);
      expect((await cli(["users", "set-role", "bob@beta.test", "admin"])).code).toBe(0);
      expect(await cli(["users", "set-role", "bob@beta.test", "member"])).toMatchObject({ code: 0, stderr: "" });
      expect((await cli(["users", "set-role", "bob@beta.test", "owner"])).code).toBe(2);
      expect(await cli(["users", "set-role", "nobody@beta.test", "admin"])).toMatchObject({ code: 1, stderr: "error: user nobody@beta.test not found\n" });
      expect((await json(["users", "list", "--org", "beta"])).map((u: { email: string; role: string }) => [u.email, u.role])).toEqual([
        ["bob@beta.test", "member"],
        ["cat@beta.test", "admin"],
      ]);
    });

    test("a command on a fresh database migrates it first", async () => {
      const fresh = `sqlite:${join(cwd, "fresh.db")}`;
      const r = await taskmgr(["orgs", "list", "--json", "--db", fresh], { cwd });
      expect(r).toMatchObject({ code: 0, stdout: "[]\n" });
      const status = JSON.parse((await taskmgr(["migrate", "status", "--json", "--db", fresh], { cwd })).stdout);
      expect(status.every((m: { applied_at: string | null }) => m.applied_at !== null)).toBe(true);
    });
  });
}
