/**
 * Found by the CLI reading: spaces between `sqlite:` and the path (`DATABASE_URL=sqlite: ./data/taskmgr.db`,
 * a typo in `.env`). bun:sqlite opens the file without them (`./data/taskmgr.db`), while taskmgr made
 * its folder, created it readable by its owner only, checked it writable and watched it for removal
 * under the path with them: a folder named " ." in the working folder, an empty decoy file there,
 * and the real database created with mode 0644 (its password and token hashes readable by every
 * user). An absolute path (`sqlite: /srv/x.db`) failed to open, leaving folders " /srv" behind. The
 * path is read without them: the file SQLite opens is the one taskmgr looks after.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { removeTempDirs, taskmgr, tempDir } from "./support";

setDefaultTimeout(60_000);
afterAll(removeTempDirs);

test("spaces after sqlite: are not part of the path", () => {
  expect(loadConfig({ db: "sqlite: ./data/x.db" }, {}).databaseUrl).toBe("sqlite:./data/x.db");
  expect(loadConfig({}, { DATABASE_URL: "sqlite:\t/srv/x.db" }).databaseUrl).toBe("sqlite:/srv/x.db");
  expect(loadConfig({}, { DATABASE_URL: "sqlite: :memory:" }).databaseUrl).toBe("sqlite::memory:");
});

test.each([
  ["--db", (url: string) => ({ args: ["--db", url], env: {} })],
  ["DATABASE_URL", (url: string) => ({ args: [], env: { DATABASE_URL: url } })],
])("from %s: the database is created where the path without them says, readable by its owner only, and nothing else", async (_from, given) => {
  const cwd = tempDir();
  const relative = given("sqlite: ./data/x.db");
  const ran = await taskmgr(["migrate", ...relative.args], { cwd, env: relative.env });
  expect([ran.code, ran.stderr]).toEqual([0, ""]);
  expect(statSync(join(cwd, "data", "x.db")).mode & 0o777).toBe(0o600);

  const absolute = join(cwd, "abs", "y.db");
  const abs = given(`sqlite: ${absolute}`);
  const ranAbs = await taskmgr(["migrate", ...abs.args], { cwd, env: abs.env });
  expect([ranAbs.code, ranAbs.stderr]).toEqual([0, ""]);
  expect(statSync(absolute).mode & 0o777).toBe(0o600);
  expect(readdirSync(cwd).sort()).toEqual(["abs", "data"]);
});
