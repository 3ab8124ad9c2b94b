/**
 * The first admin's password is shown before COMMIT and must be with the reader once `show` returns:
 * written straight to descriptor 1, a pipe its reader had not emptied answered EAGAIN (Bun's standard
 * output is non-blocking) and the password was dropped without a word, the account committed
 * anyway (found by review).
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { removeTempDirs, serve, tempDir } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

test("a password shown while the stdout pipe is full reaches its reader, even if the process is killed right after", async () => {
  const fixture = join(import.meta.dir, "fixtures", "show-first-admin.ts");
  // The reader reads nothing for two seconds (the pipe fills), then everything.
  const proc = Bun.spawn(["sh", "-c", `"${process.execPath}" "${fixture}" | (sleep 2; cat)`], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited; // (the shell says "Killed" on its stderr: the fixture's SIGKILL)
  const lines = out.split("\n");
  expect(lines[0]).toHaveLength(300_000); // what stdout held before comes first, whole
  expect(lines.slice(1)).toEqual([
    'created organization "default" and its admin admin@localhost with password: the-password-shown-once',
    // The command names the account and works as typed from a checkout too, where no `taskmgr` is
    // on the PATH (`npm start`: the README's Quick start says `npx taskmgr …`).
    "this password is shown only once: change it with `taskmgr users set-password admin@localhost` (from a checkout: `npx taskmgr users set-password admin@localhost`)",
    "",
  ]);
});

// Found by the README audit: the line told every start to change the password with `taskmgr users
// set-password EMAIL`, which on an in-memory database reaches another, empty one, and without this
// server's `--db` opens the default ./data/taskmgr.db (creating it) and answers "user not found".
test("the line after the password says how to change it on this server's database", async () => {
  const cwd = tempDir();
  const hintOf = async (db: string) => {
    const s = await serve(["--port", "0", "--db", db], { cwd, env: { LOG_DIR: join(cwd, "logs") } });
    expect(await s.stop("SIGTERM")).toBe(0);
    return s.stdout().split("\n")[1];
  };
  expect(await hintOf("sqlite::memory:")).toBe(
    "this password is shown only once, and the database is in memory (sqlite::memory:): the account, like everything else, is gone when the server stops",
  );
  expect(await hintOf(`sqlite:${join(cwd, "other.db")}`)).toBe(
    "this password is shown only once: change it with `taskmgr users set-password admin@localhost` (from a checkout: `npx taskmgr users set-password admin@localhost`), given this server's database (the same --db or DATABASE_URL)",
  );
});
