/**
 * Found by QA: a LOG_DIR that exists but that the server's user may not write (a folder made by root,
 * a `taskmgr.log` left read-only) started `serve` without a word, and no line reached the log file:
 * the rotating stream's open failure went to an error handler that ignores it. Now the start stops
 * with one line naming LOG_DIR, as for a LOG_DIR that cannot be created.
 *
 * chmod does not stop root: run as root, the server runs as user nobody (setpriv); without setpriv
 * the tests are skipped.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CAN_RUN_UNPRIVILEGED, removeTempDirs, taskmgr, tempDir, UNPRIVILEGED_CLI } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

const CLI = UNPRIVILEGED_CLI;
const runnable = CAN_RUN_UNPRIVILEGED;

async function serveWithLogDir(logDir: string, cwd: string) {
  return taskmgr(["serve", "--port", "0", "--db", "sqlite::memory:"], { cwd, cli: CLI, env: { LOG_DIR: logDir, TASKMGR_SECRET: "log-dir-test-secret-0123456789abcdef" } });
}

test.skipIf(!runnable)("a LOG_DIR folder that may not be written: exit 1 naming LOG_DIR, nothing served", async () => {
  const cwd = tempDir();
  chmodSync(cwd, 0o777);
  const logs = join(cwd, "logs");
  mkdirSync(logs);
  chmodSync(logs, 0o555);
  const r = await serveWithLogDir(logs, cwd);
  expect(r.code).toBe(1);
  expect(r.stderr).toStartWith(`error: LOG_DIR (${logs}) cannot be used: `);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stdout).not.toContain("listening");
});

test.skipIf(!runnable)("a taskmgr.log that may not be written, in a writable LOG_DIR: exit 1 naming LOG_DIR", async () => {
  const cwd = tempDir();
  chmodSync(cwd, 0o777);
  const logs = join(cwd, "logs");
  mkdirSync(logs);
  chmodSync(logs, 0o777);
  writeFileSync(join(logs, "taskmgr.log"), "");
  chmodSync(join(logs, "taskmgr.log"), 0o444);
  const r = await serveWithLogDir(logs, cwd);
  expect(r.code).toBe(1);
  expect(r.stderr).toStartWith(`error: LOG_DIR (${logs}) cannot be used: `);
  expect(r.stdout).not.toContain("listening");
});
