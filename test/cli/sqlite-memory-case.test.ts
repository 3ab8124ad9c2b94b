/**
 * `:memory:` in another letter case (`sqlite::Memory:`, `sqlite::MEMORY:`): SQLite reads only the lower-case
 * name as its in-memory database, so earlier versions created a file named `:Memory:` in the working folder
 * (made readable by its owner, watched, kept), while the scheme before it was already read in any case
 * (`SQLITE::memory:`). Every case of it is the in-memory database, written `sqlite::memory:`, as the
 * lower-case one is: the warning that nothing is kept, no file.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync } from "node:fs";
import { loadConfig } from "../../src/config";
import { sqlitePath } from "../../src/db/url";
import { IN_MEMORY_WARNING } from "../../cli/context";
import { removeTempDirs, taskmgr, tempDir } from "./support";

setDefaultTimeout(60_000);
afterAll(removeTempDirs);

const VARIANTS = ["sqlite::Memory:", "sqlite::MEMORY:", "SQLite::mEmOrY:", "sqlite: :Memory:"];

test.each(VARIANTS)("%p is the in-memory database, as sqlite::memory: is", (url) => {
  expect(loadConfig({ db: url }, {}).databaseUrl).toBe("sqlite::memory:");
  expect(loadConfig({}, { DATABASE_URL: url }).databaseUrl).toBe("sqlite::memory:");
  // The URL reader too (openDatabase's), given the scheme in lower case as the configuration leaves it.
  expect(sqlitePath(`sqlite:${url.slice("sqlite:".length).trim()}`)).toBe(":memory:");
});

test("a file named like it in a folder stays a file: sqlite:./:Memory:", () => {
  expect(sqlitePath("sqlite:./:Memory:")).toBe("./:Memory:");
  expect(loadConfig({ db: "sqlite:./:Memory:" }, {}).databaseUrl).toBe("sqlite:./:Memory:");
});

test.each([
  ["--db", (url: string) => ({ args: ["--db", url], env: {} })],
  ["DATABASE_URL", (url: string) => ({ args: [], env: { DATABASE_URL: url } })],
])("from %s: a command on sqlite::Memory: runs in memory, warned, and leaves no file", async (_from, given) => {
  const cwd = tempDir();
  const { args, env } = given("sqlite::Memory:");
  const r = await taskmgr(["orgs", "create", "Acme", ...args], { cwd, env });
  expect([r.code, r.stderr]).toEqual([0, `warning: ${IN_MEMORY_WARNING}\n`]);
  expect(readdirSync(cwd)).toEqual([]);
});
