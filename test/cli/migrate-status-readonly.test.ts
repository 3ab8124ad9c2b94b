/**
 * `taskmgr migrate status` only reads: it works on a database in a folder it may not write to (and on a
 * read-only file), and creates or changes no file — not the database, not its `-wal` or `-shm`. A
 * database file that does not exist is said so (exit 1), and not created.
 *
 * Run as root (CI containers), chmod does not stop writes: then the file listings and contents,
 * compared before and after, are what shows that nothing was written. Run as another user, the same
 * comparisons hold and the chmod is checked to bite.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { openDatabase } from "../../src/db/open";
import { removeTempDirs, taskmgr, tempDir } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

const AS_ROOT = process.getuid?.() === 0;

/** Every file of `dir` with its size, modification time and content hash. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    files[name] = `${statSync(path).size} ${statSync(path).mtimeMs} ${createHash("sha256").update(readFileSync(path)).digest("hex")}`;
  }
  return files;
}

/** Runs `fn` with `dir` (and `file`) read-only, then restores their modes. */
async function readOnly<T>(dir: string, file: string | null, fn: () => Promise<T>): Promise<T> {
  chmodSync(dir, 0o555);
  if (file) chmodSync(file, 0o444);
  try {
    if (!AS_ROOT) expect(() => writeFileSync(join(dir, "probe"), "")).toThrow();
    return await fn();
  } finally {
    chmodSync(dir, 0o755);
    if (file) chmodSync(file, 0o600);
  }
}

const applied = (stdout: string) => JSON.parse(stdout).map((m: { name: string; applied_at: string | null }) => [m.name, m.applied_at !== null]);
const ALL_APPLIED = MIGRATIONS.map((m) => [m.name, true]);

test("a migrated database in a read-only folder, itself read-only: status lists every migration applied and writes nothing", async () => {
  const dir = tempDir();
  const file = join(dir, "taskmgr.db");
  expect((await taskmgr(["migrate", "--db", `sqlite:${file}`], { cwd: dir })).code).toBe(0);
  const before = snapshot(dir);
  expect(Object.keys(before)).toEqual(["taskmgr.db"]); // the last connection to close removed its -wal and -shm

  await readOnly(dir, file, async () => {
    const json = await taskmgr(["migrate", "status", "--json", "--db", "sqlite:./taskmgr.db"], { cwd: dir });
    expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 0, stderr: "" });
    expect(applied(json.stdout)).toEqual(ALL_APPLIED);
    const table = await taskmgr(["migrate", "status", "--db", "sqlite:./taskmgr.db"], { cwd: dir });
    expect({ code: table.code, stderr: table.stderr }).toEqual({ code: 0, stderr: "" });
    expect(table.stdout).toContain("0001_initial");
  });
  expect(snapshot(dir)).toEqual(before);
});

test("while a writer has the database open (its -wal holds the migrations): status reads them, creates nothing", async () => {
  const dir = tempDir();
  const file = join(dir, "taskmgr.db");
  // SQLite's own checkpoints (at 1,000 pages) instead of the worker's: the migrations stay in the -wal.
  process.env.TASKMGR_SQLITE_INLINE_CHECKPOINT = "1";
  const writer = openDatabase(`sqlite:${file}`);
  delete process.env.TASKMGR_SQLITE_INLINE_CHECKPOINT;
  try {
    await migrate(writer);
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(0);
    const names = Object.keys(snapshot(dir));
    expect(names).toEqual(["taskmgr.db", "taskmgr.db-shm", "taskmgr.db-wal"]);

    await readOnly(dir, null, async () => {
      const r = await taskmgr(["migrate", "status", "--json", "--db", "sqlite:./taskmgr.db"], { cwd: dir });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(applied(r.stdout)).toEqual(ALL_APPLIED);
    });
    expect(Object.keys(snapshot(dir))).toEqual(names);
  } finally {
    await writer.close();
  }
});

test("a database file that does not exist, in a read-only folder: exit 1 saying so, nothing created", async () => {
  const dir = tempDir();
  await readOnly(dir, null, async () => {
    const r = await taskmgr(["migrate", "status", "--db", "sqlite:./missing.db"], { cwd: dir });
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: database file ./missing.db does not exist (migrate status creates nothing; `taskmgr migrate` creates it and applies every migration)\n",
    });
  });
  expect(existsSync(join(dir, "missing.db"))).toBe(false);
  expect(readdirSync(dir)).toEqual([]);
});
