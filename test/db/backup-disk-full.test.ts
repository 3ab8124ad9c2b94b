/**
 * Found by QA: `taskmgr backup FILE` onto a disk that fills up failed cleanly (exit 1, nothing left
 * under FILE nor its temporary name) but said only SQLite's `database or disk is full`: read as the
 * database's disk, where nothing was wrong, while it was FILE's. Now the error names FILE.
 *
 * The first test fills a real small tmpfs, mounted only where this process may (root); skipped with
 * a line otherwise. The second fails the copy by hand and runs anywhere.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackupService } from "../../src/backup/service";
import { openDatabase } from "../../src/db/open";
import type { Database } from "../../src/db/types";

const dir = mkdtempSync(join(tmpdir(), "taskmgr-backup-full-"));
const small = join(dir, "small");
spawnSync("mkdir", [small]);
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", small]).status === 0;
if (!mounted) console.log("backup-disk-full.test.ts: cannot mount a tmpfs here (not root?): the backup onto a real full disk is skipped");
afterAll(() => {
  if (mounted) spawnSync("umount", [small]);
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!mounted)("a backup onto a disk too small for it fails naming the file and its full disk, and leaves no file there", async () => {
  const db = openDatabase(`sqlite:${join(dir, "source.db")}`);
  try {
    await db.exec("CREATE TABLE filler (x BLOB)");
    await db.run("INSERT INTO filler VALUES (zeroblob(300000))");
    const target = join(small, "backup.db");
    const error = await new BackupService({ db }).write(target).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).toBe(`cannot write ${target}: its disk is full (nothing was kept under that name)`);
    expect(readdirSync(small)).toEqual([]);
  } finally {
    await db.close();
  }
});

test("SQLite's full storage met while the copy is written is said to be the backup file's disk", async () => {
  const target = join(dir, "elsewhere.db");
  const full = Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
  const db = { dialect: "sqlite", backup: async () => Promise.reject(full) } as unknown as Database;
  await expect(new BackupService({ db }).write(target)).rejects.toThrow(`cannot write ${target}: its disk is full (nothing was kept under that name)`);
});
