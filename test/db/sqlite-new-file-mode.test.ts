/**
 * A new SQLite file is never readable by other users, not even for the instant between its creation
 * and a chmod: SQLite creates a file with mode 0644 (less the umask), and another local user who
 * opened it in that instant (an inotify watch on the folder wins such a race) would keep a descriptor
 * on it and read every password and token hash written later. The file is created 0600 first, then
 * opened. Checked in a process of its own (the fixture replaces `bun:sqlite` to look at the file as
 * SQLite is asked to open it).
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test("a new database file already exists with mode 0600 when SQLite opens it (no instant readable by others)", () => {
  const dir = mkdtempSync(join(tmpdir(), "taskmgr-newfile-"));
  dirs.push(dir);
  const path = join(dir, "data", "x.db");
  const run = Bun.spawnSync([process.execPath, "test", join(import.meta.dir, "fixtures", "new-file-mode.ts")], {
    env: { ...process.env, TASKMGR_FIXTURE_DB: path },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = run.stdout.toString() + run.stderr.toString();
  const line = /modes-at-open (\[.*\])/.exec(output);
  expect(line, output).not.toBeNull();
  const modes = JSON.parse(line![1]!) as string[];
  expect(modes.length).toBeGreaterThan(0);
  // Every connection (the writer, the reader, the checkpointer's) finds the file there, the owner's alone.
  expect(modes).toEqual(modes.map(() => "600"));
  expect(statSync(path).mode & 0o777).toBe(0o600);
});
