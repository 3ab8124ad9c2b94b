/**
 * The `.env` file (cli/env-file.ts): taskmgr reads the working folder's `.env` itself, as the dotenv
 * package reads it — no `$NAME` expansion, quotes for a `#` — and no other file (`.env.local`,
 * `.env.development`), which Bun would load over it; the environment, even empty, beats it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
