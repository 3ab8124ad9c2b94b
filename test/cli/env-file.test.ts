/**
 * The `.env` file (cli/env-file.ts): taskmgr reads the working folder's `.env` itself, as the dotenv
 * package reads it — no `$NAME` expansion, quotes for a `#` — and no other file (`.env.local`,
 * `.env.development`), which Bun would load over it; the environment, even empty, beats it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { secretsFromEnvFile } from "../../cli/env-file";
import { removeTempDirs, taskmgr, tempDir } from "./support";

afterAll(removeTempDirs);

/** A fresh folder holding `files`. */
function folder(files: Record<string, string>): string {
  const dir = tempDir("taskmgr-env-");
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe(".env in the working folder", () => {
  test("is read as written: `$NAME` is not expanded, a quoted `#` is kept", async () => {
    const cwd = folder({ ".env": "# the database\nDATABASE_URL='sqlite:./a$HOME#1.db'\n" });
    const r = await taskmgr(["migrate"], { cwd });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(existsSync(join(cwd, "a$HOME#1.db"))).toBe(true);
  });

  test("is the only file read: .env.local and .env.development do not override it", async () => {
    const cwd = folder({
      ".env": "DATABASE_URL=sqlite:./from-env.db\n",
      ".env.local": "DATABASE_URL=sqlite:./from-local.db\n",
      ".env.development": "DATABASE_URL=sqlite:./from-development.db\n",
      ".env.production": "DATABASE_URL=sqlite:./from-production.db\n",
    });
    // NODE_ENV as deployed (Bun would read .env.production and .env.local then; the tests' own is "test").
    expect((await taskmgr(["migrate"], { cwd, env: { NODE_ENV: "production" } })).code).toBe(0);
    expect(["from-env.db", "from-local.db", "from-development.db", "from-production.db"].filter((f) => existsSync(join(cwd, f)))).toEqual(["from-env.db"]);
  });

  test("an environment variable beats it, even an empty one (its default then applies)", async () => {
    const cwd = folder({ ".env": "DATABASE_URL=sqlite:./from-file.db\nLOG_LEVEL=bogus\n" });
    const r = await taskmgr(["migrate"], { cwd, env: { DATABASE_URL: "sqlite:./from-environment.db", LOG_LEVEL: "" } });
    expect(r.code).toBe(0);
    expect(existsSync(join(cwd, "from-environment.db"))).toBe(true);
    expect(existsSync(join(cwd, "from-file.db"))).toBe(false);
  });

  // Found by QA: a bad value in .env was blamed on the variable alone ("error: PORT must be …"), and an
  // administrator who finds no PORT in the environment looks everywhere but the file.
  test("a bad value from it names the file; the same value from the environment does not", async () => {
    const cwd = folder({ ".env": "LOG_LEVEL=loud\nTOMBSTONE_RETENTION_DAYS=-1\nPORT=abc\nDATABASE_URL=postgress://h/db\n" });
    const fromFile = await taskmgr(["orgs", "list"], { cwd, env: { DATABASE_URL: "sqlite:./x.db" } });
    expect({ code: fromFile.code, stderr: fromFile.stderr }).toEqual({ code: 1, stderr: 'error: LOG_LEVEL (in .env) must be one of debug, info, warn, error, not "loud"\n' });
    const days = await taskmgr(["orgs", "list"], { cwd, env: { DATABASE_URL: "sqlite:./x.db", LOG_LEVEL: "info" } });
    expect({ code: days.code, stderr: days.stderr }).toEqual({ code: 1, stderr: 'error: TOMBSTONE_RETENTION_DAYS (in .env) must be an integer from 0 to 36500, not "-1"\n' });
    const port = await taskmgr(["serve"], { cwd, env: { DATABASE_URL: "sqlite:./x.db", LOG_LEVEL: "info", TOMBSTONE_RETENTION_DAYS: "" } });
    expect({ code: port.code, stderr: port.stderr }).toEqual({ code: 1, stderr: 'error: PORT (in .env) must be an integer from 0 to 65535, not "abc"\n' });
    const url = await taskmgr(["orgs", "list"], { cwd, env: { LOG_LEVEL: "info", TOMBSTONE_RETENTION_DAYS: "" } });
    expect({ code: url.code, stderr: url.stderr }).toEqual({ code: 1, stderr: 'error: DATABASE_URL (in .env) must be sqlite:PATH, sqlite::memory: or postgres://…, not "postgress://h/db"\n' });
    const env = await taskmgr(["orgs", "list"], { cwd, env: { DATABASE_URL: "sqlite:./x.db", LOG_LEVEL: "loud" } });
    expect({ code: env.code, stderr: env.stderr }).toEqual({ code: 1, stderr: 'error: LOG_LEVEL must be one of debug, info, warn, error, not "loud"\n' });
  });

  test("one that cannot be read is a failure with one line", async () => {
    const cwd = folder({});
    mkdirSync(join(cwd, ".env"));
    const r = await taskmgr(["orgs", "list", "--db", "sqlite:./x.db"], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot read \.env: [^\n]+\n$/);
    // Found by QA: help and the version read no configuration, so not the file either.
    for (const args of [["--help"], ["--version"], ["users", "list", "--help"]]) expect((await taskmgr(args, { cwd })).code).toBe(0);
  });
});

// Found by security review: `serve` warns of a .env others may read or replace (env_file_mode) when it
// gave a secret: TASKMGR_SECRET, or a DATABASE_URL holding a password (never shown).
test("the secrets a .env gave: TASKMGR_SECRET, and DATABASE_URL with a password", () => {
  const fromFile = new Set(["TASKMGR_SECRET", "DATABASE_URL", "LOG_LEVEL"]);
  expect(secretsFromEnvFile(fromFile, { TASKMGR_SECRET: "x", DATABASE_URL: "postgres://app:pw@db/taskmgr", LOG_LEVEL: "info" })).toEqual(["TASKMGR_SECRET", "DATABASE_URL"]);
  expect(secretsFromEnvFile(fromFile, { TASKMGR_SECRET: "x", DATABASE_URL: "postgres://db/taskmgr?password=pw" })).toEqual(["TASKMGR_SECRET", "DATABASE_URL"]);
  expect(secretsFromEnvFile(fromFile, { TASKMGR_SECRET: "x", DATABASE_URL: "postgres://app@db/taskmgr" })).toEqual(["TASKMGR_SECRET"]);
  expect(secretsFromEnvFile(new Set(["DATABASE_URL"]), { TASKMGR_SECRET: "from the environment", DATABASE_URL: "sqlite:./x.db" })).toEqual([]);
});
