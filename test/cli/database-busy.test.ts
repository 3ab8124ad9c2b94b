/**
 * Found by QA (black-box, the binary): with another process holding the SQLite file's write lock (an
 * open `sqlite3` transaction), `taskmgr orgs create` and `taskmgr jobs run …` waited the 5 s busy
 * timeout and printed only "error: database is locked": not what held it up, nor what to do.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { removeTempDirs, taskmgr, tempDir } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

test("a write lock held by another process: exit 1, one line saying what holds it up and what to do", async () => {
  const dir = tempDir();
  expect((await taskmgr(["migrate", "--db", "sqlite:./t.db"], { cwd: dir })).code).toBe(0);
  const holder = new Database(join(dir, "t.db"));
  holder.exec("PRAGMA busy_timeout = 0");
  holder.exec("BEGIN IMMEDIATE");
  try {
    for (const args of [["orgs", "create", "Acme"], ["jobs", "run", "cleanup-tombstones"]]) {
      const r = await taskmgr([...args, "--db", "sqlite:./t.db"], { cwd: dir });
      expect({ args, code: r.code, stdout: r.stdout, lines: r.stderr.trimEnd().split("\n").length }).toEqual({ args, code: 1, stdout: "", lines: 1 });
      expect(r.stderr).toStartWith("error: database is locked: another process held a lock this command needed");
      expect(r.stderr).toContain("run the command again once that is done");
    }
  } finally {
    holder.exec("ROLLBACK");
    holder.close();
  }
  const list = await taskmgr(["orgs", "list", "--json", "--db", "sqlite:./t.db"], { cwd: dir });
  expect({ code: list.code, stdout: list.stdout }).toEqual({ code: 0, stdout: "[]\n" });
});
