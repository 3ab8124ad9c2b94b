/**
 * `taskmgr backup` reported "wrote FILE" while the copy could still be only in the kernel's cache:
 * SQLite's `VACUUM INTO` does not sync the file it writes, and nothing synced the folder that the copy's
 * name was linked into, so a power cut right after could lose the copy, or leave its name on an
 * incomplete file. Now the copy's content is synced before it takes its name, and its folder after.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BackupService } from "../../src/backup/service";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import { syncToDisk } from "../../src/db/durable";

const dir = mkdtempSync(join(tmpdir(), "taskmgr-backup-durable-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function migrated(name: string) {
  const db = openDatabase(`sqlite:${join(dir, name)}`);
  await migrate(db);
  return db;
}

test("the copy is synced to its disk before it takes its name, and its folder after, with the name in it", async () => {
  const db = await migrated("source.db");
  try {
    const target = join(dir, "synced.db");
    const calls: { path: string; size: number; named: boolean }[] = [];
    const spy = (path: string) => {
      calls.push({ path, size: statSync(path).size, named: existsSync(target) });
      syncToDisk(path);
    };
    await new BackupService({ db }, spy).write(target);
    expect(calls).toHaveLength(2);
    const [file, folder] = calls;
    expect(file!.path).toBe(`${target}.partial-${process.pid}`);
    expect(file!.size).toBe(statSync(target).size); // the whole copy, as published
    expect(file!.named).toBe(false);
    expect(folder!.path).toBe(dirname(target));
    expect(folder!.named).toBe(true);
    expect(statSync(target).mode & 0o777).toBe(0o600);
  } finally {
    await db.close();
  }
});

test("a copy that cannot be synced is not reported written, and nothing stays under its name", async () => {
  const db = await migrated("source-eio.db");
  try {
    for (const failing of ["file", "folder"] as const) {
      const target = join(dir, `unsynced-${failing}.db`);
      const spy = (path: string) => {
        if ((failing === "file") === path.startsWith(target)) throw new Error("EIO: i/o error, fsync");
      };
      await expect(new BackupService({ db }, spy).write(target)).rejects.toThrow(`cannot write ${target}: `);
      expect(existsSync(target)).toBe(false);
      expect(existsSync(`${target}.partial-${process.pid}`)).toBe(false);
    }
  } finally {
    await db.close();
  }
});

test("syncToDisk syncs a file and a folder, and says when the path is missing", () => {
  const file = join(dir, "plain");
  writeFileSync(file, "x");
  expect(() => syncToDisk(file)).not.toThrow();
  expect(() => syncToDisk(dir)).not.toThrow();
  expect(() => syncToDisk(join(dir, "missing"))).toThrow(/ENOENT/);
});
