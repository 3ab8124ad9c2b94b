/**
 * The password prompt on a terminal (`users create` without `--password`, `users set-password`), run
 * under `script` so that the command's standard input is a real terminal: the password is typed twice
 * and two that differ change nothing; a signal that ends the command at the prompt leaves the
 * terminal's echo on (Bun puts the terminal back on a SIGINT or SIGTERM, the prompt on a SIGHUP; a SIGKILL would
 * leave it at `-echo`).
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { MAIN, removeTempDirs, taskmgr, tempDir, childEnv } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

const SCRIPT = Bun.which("script");
const cwd = tempDir();
const url = `sqlite:${join(cwd, "prompt.db")}`;

/** A shell command line run on a fresh terminal by `script`, whose output can be waited for and whose input typed. */
function onTerminal(command: string) {
  const proc = Bun.spawn([SCRIPT ?? "script", "-qec", command, "/dev/null"], {
    cwd,
    env: childEnv({ BUN: process.execPath, MAIN, DB: url }),
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  let seen = "";
  const reader = proc.stdout.getReader();
  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += new TextDecoder().decode(value);
    }
  })();
  return {
    proc,
    /** Everything the terminal showed so far. */
    output: () => seen,
    /** Resolves once the terminal has shown `text` `times` times in all. */
    async waitFor(text: string, times = 1) {
      const deadline = Date.now() + 20_000;
      while (seen.split(text).length - 1 < times) {
        if (Date.now() > deadline) throw new Error(`never saw ${JSON.stringify(text)} in ${JSON.stringify(seen)}`);
        await Bun.sleep(20);
      }
    },
    type(text: string) {
      proc.stdin.write(text);
      proc.stdin.flush();
    },
    async end() {
      proc.stdin.end();
      const code = await proc.exited;
      await pump;
      return code;
    },
  };
}

const CLI = `"$BUN" --no-env-file "$MAIN"`;

test.skipIf(SCRIPT === null)("a password typed on a terminal is asked twice; two that differ create nothing, the same twice creates the account", async () => {
  expect((await taskmgr(["orgs", "create", "Prompted", "--slug", "prompted", "--db", url], { cwd })).code).toBe(0);
  const create = (email: string) => `${CLI} users create --org prompted --email ${email} --db "$DB"`;

  const differ = onTerminal(create("typo@example.com"));
  await differ.waitFor("password: ");
  differ.type("correct-horse-1\r");
  await differ.waitFor("password again: ");
  differ.type("correct-horse-2\r");
  expect(await differ.end()).toBe(1);
  expect(differ.output()).toContain("error: the two passwords typed differ; nothing was changed");

  const same = onTerminal(create("right@example.com"));
  await same.waitFor("password: ");
  same.type("correct-horse-1\r");
  await same.waitFor("password again: ");
  same.type("correct-horse-1\r");
  expect(await same.end()).toBe(0);
  expect(same.output()).toContain("created member right@example.com in prompted");

  const listed = await taskmgr(["users", "list", "--org", "prompted", "--json", "--db", url], { cwd });
  expect(JSON.parse(listed.stdout).map((u: { email: string }) => u.email)).toEqual(["right@example.com"]);
});

test.skipIf(SCRIPT === null).each(["SIGTERM", "SIGHUP", "SIGINT"] as const)("a %s at the hidden prompt ends the command with the terminal's echo back on", async (signal) => {
  // Started in the background (its input the terminal) so that the shell, after it ended, prints the terminal's modes.
  const term = onTerminal(`${CLI} users set-password nobody@example.com --db "$DB" </dev/tty & echo "pid=$!"; wait; stty -a`);
  await term.waitFor("password: ");
  const pid = Number(/pid=(\d+)/.exec(term.output())?.[1]);
  expect(pid).toBeGreaterThan(0);
  process.kill(pid, signal);
  expect(await term.end()).toBe(0);
  const modes = term.output().slice(term.output().indexOf("password: "));
  expect(modes).toMatch(/(^|\s)echo(\s|$)/);
  expect(modes).not.toMatch(/(^|\s)-echo(\s|$)/);
});
