/**
 * Found by QA (black-box, the binary): a SQLite file the process may not write, in a folder it may
 * write (a backup restored by root, a `chmod 444`), was opened read-only by SQLite without a word:
 * `serve` started, printed its URL and answered health `ok`, and every login answered 500; an admin
 * command that writes failed with a bare "attempt to write a readonly database". Every command but
 * `migrate status` now refuses such a database when it opens it, in one line saying what must be
 * writable, as it did already for a read-only folder.
 *
 * chmod does not stop root: run as root, the commands run as user nobody (setpriv); without setpriv
 * the tests are skipped.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CAN_RUN_UNPRIVILEGED, removeTempDirs, taskmgr, tempDir, UNPRIVILEGED_CLI } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

const CLI = UNPRIVILEGED_CLI;
const runnable = CAN_RUN_UNPRIVILEGED;

const HINT = "(taskmgr writes the file, and its -wal and -shm beside it: the file and its folder must be writable)";

/** A folder the command's user may write, holding a migrated `t.db` of that user. */
async function migrated(): Promise<string> {
  const dir = tempDir();
  chmodSync(dir, 0o777);
  const r = await taskmgr(["migrate", "--db", "sqlite:./t.db"], { cwd: dir, cli: CLI });
  expect(r.code).toBe(0);
  return dir;
}

const run = (dir: string, args: string[]) => taskmgr([...args, "--db", "sqlite:./t.db"], { cwd: dir, cli: CLI, stdin: "" });

test.skipIf(!runnable)("a read-only database file in a writable folder: every command that opens it for writing fails in one line; migrate status still reads it", async () => {
  const dir = await migrated();
  chmodSync(join(dir, "t.db"), 0o444);
  for (const args of [["orgs", "create", "Acme"], ["orgs", "list"], ["users", "list"], ["migrate"]]) {
    const r = await run(dir, args);
    expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      args,
      code: 1,
      stdout: "",
      stderr: `error: cannot open database sqlite:./t.db: ./t.db is read-only to this process ${HINT}\n`,
    });
  }
  const status = await run(dir, ["migrate", "status", "--json"]);
  expect(status.code).toBe(0);

  chmodSync(join(dir, "t.db"), 0o644);
  const list = await run(dir, ["orgs", "list", "--json"]);
  expect({ code: list.code, stdout: list.stdout }).toEqual({ code: 0, stdout: "[]\n" }); // nothing half-written
});

test.skipIf(!runnable)("a read-only -wal beside a writable file: refused in one line naming it", async () => {
  const dir = await migrated();
  writeFileSync(join(dir, "t.db-wal"), ""); // an empty -wal holds nothing; SQLite still needs to write it
  chmodSync(join(dir, "t.db-wal"), 0o444);
  const r = await run(dir, ["orgs", "create", "Acme"]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({
    code: 1,
    stderr: `error: cannot open database sqlite:./t.db: ./t.db-wal is read-only to this process ${HINT}\n`,
  });
});

test.skipIf(!runnable)("a database file that does not exist, in a read-only folder: refused in one line saying the folder must be writable", async () => {
  const dir = tempDir();
  chmodSync(dir, 0o555);
  try {
    const r = await run(dir, ["orgs", "list"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: `error: cannot open database sqlite:./t.db: the folder ${realpathSync(dir)} is read-only to this process ${HINT}\n` });
  } finally {
    chmodSync(dir, 0o755);
  }
});
