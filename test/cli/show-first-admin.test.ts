/**
 * The first admin's password is shown before COMMIT and must be with the reader once `show` returns:
 * written straight to descriptor 1, a pipe its reader had not emptied answered EAGAIN (Bun's standard
 * output is non-blocking) and the password was dropped without a word, the account committed
 * anyway (found by review).
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";

setDefaultTimeout(30_000);

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
