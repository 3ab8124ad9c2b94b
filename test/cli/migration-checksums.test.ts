/**
 * A database where an applied migration's recorded checksum differs from this build's SQL (the
 * migration was edited after it landed) is refused at start by `serve` and by every command that opens
 * the database, with one line naming the migration; `migrate status` still lists it, as changed.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ChangedMigrationError } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { openDatabase } from "../../src/db/open";
import { createTestDatabase, DIALECTS } from "../support/db";
import { removeTempDirs, serve, taskmgr, tempDir } from "./support";

setDefaultTimeout(60_000);
afterAll(removeTempDirs);

for (const dialect of DIALECTS) {
  test(`a changed migration: serve and the other commands refuse the database naming it, migrate status reports it [${dialect}]`, async () => {
    const cwd = tempDir();
    const pg = dialect === "postgres" ? await createTestDatabase("postgres", { migrate: false }) : null;
    const url = pg?.url ?? `sqlite:${join(cwd, "taskmgr.db")}`;
    try {
      expect((await taskmgr(["migrate", "--db", url], { cwd })).code).toBe(0);
      // The database applied another text of 0002 than this build embeds.
      const db = openDatabase(url);
      await db.run("UPDATE schema_migrations SET checksum = ? WHERE version = 2", [createHash("sha256").update("an earlier 0002").digest("hex")]);
      await db.close();

      const refused = `error: ${new ChangedMigrationError(["0002_jobs"]).message}\n`;
      for (const command of [["orgs", "list"], ["migrate"], ["jobs", "list", "--json"]]) {
        expect({ command, ...(await taskmgr([...command, "--db", url], { cwd })) }).toEqual({ command, code: 1, stdout: "", stderr: refused });
      }
      const started = await serve(["--port", "0", "--db", url], { cwd }).catch((err: Error) => err);
      if (!(started instanceof Error)) await started.stop();
      expect(started).toBeInstanceOf(Error);
      expect((started as Error).message).toContain(refused);

      const status = await taskmgr(["migrate", "status", "--json", "--db", url], { cwd });
      expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: "" });
      expect(JSON.parse(status.stdout).map((s: { name: string; checksum: string }) => [s.name, s.checksum])).toEqual(
        MIGRATIONS.map((m) => [m.name, m.version === 2 ? "changed" : "ok"]),
      );
      const table = (await taskmgr(["migrate", "status", "--db", url], { cwd })).stdout.split("\n");
      expect(table[0]).toMatch(/^VERSION\s+NAME\s+APPLIED_AT\s+CHECKSUM$/);
      expect(table[2]).toMatch(/^2\s+0002_jobs\s+\S+\s+changed$/);
    } finally {
      await pg?.drop();
    }
  });
}
