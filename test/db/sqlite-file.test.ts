/**
 * The SQLite file under a running server: created readable by its owner only; removed or replaced,
 * it is noticed (health and writes answer 503 instead of acknowledging writes to a file nobody will
 * open again), and so is its `-wal` or `-shm` removed or replaced (a commit to a removed `-wal` would
 * be acknowledged and gone at the next start); locked by another process, a write answers 503 after the busy timeout, not 500.
 */
import { afterEach, expect, test } from "bun:test";
import { Database as BunSqlite } from "bun:sqlite";
import { copyFileSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectionLostError } from "../../src/db/errors";
import { migrate } from "../../src/db/migrate";
import { SqliteDatabase } from "../../src/db/sqlite";
import { createTestApp } from "../support/app";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function fileApp() {
  const dir = mkdtempSync(join(tmpdir(), "taskmgr-file-"));
  dirs.push(dir);
  const path = join(dir, "data", "x.db");
  const db = new SqliteDatabase(path);
  await migrate(db);
  const t = await createTestApp(db);
  const u = await t.createUser();
  return { dir, path, db, t, u };
}

type FileApp = Awaited<ReturnType<typeof fileApp>>;

/** After a file of `app` was removed or replaced: the check, health and every kind of write answer 503; reads go on. */
async function expectWritesRefused({ db, t, u }: FileApp): Promise<void> {
  expect(() => db.verify()).toThrow(ConnectionLostError);
  const health = await t.request("GET", "/api/health");
  expect([health.status, health.body.error.code]).toEqual([503, "unavailable"]);
  const write = await t.request("POST", "/api/tasks", { token: u.token, body: { title: "after" } });
  expect([write.status, write.body.error.code]).toEqual([503, "unavailable"]);
  // A write outside a transaction too (logout revokes the session with one statement).
  const logout = await t.request("POST", "/api/auth/logout", { token: u.token, body: { refresh: u.refresh } });
  expect([logout.status, logout.body.error.code]).toEqual([503, "unavailable"]);
  expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
}

test("a new database file is readable and writable by its owner only (password and token hashes)", async () => {
  const { path, db } = await fileApp();
  try {
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
  } finally {
    await db.close();
  }
});

test.each([["removed"], ["replaced"]])("the file %s under the running server: health and writes answer 503, nothing is acknowledged", async (how) => {
  const app = await fileApp();
  const { dir, path, db, t, u } = app;
  try {
    expect((await t.request("POST", "/api/tasks", { token: u.token, body: { title: "before" } })).status).toBe(201);
    if (how === "removed") for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
    else {
      const other = new SqliteDatabase(join(dir, "other.db"));
      await other.close();
      renameSync(join(dir, "other.db"), path);
    }
    await expectWritesRefused(app);
  } finally {
    await db.close();
  }
});

test.each([
  ["-wal", "removed"],
  ["-shm", "removed"],
  ["-wal", "replaced"],
])("its %s %s under the running server: writes answer 503, nothing is acknowledged that a restart would lose", async (suffix, how) => {
  const app = await fileApp();
  const { path, db, t, u } = app;
  try {
    expect((await t.request("POST", "/api/tasks", { token: u.token, body: { title: "before" } })).status).toBe(201);
    const target = `${path}${suffix}`;
    if (how === "removed") rmSync(target);
    else renameSync(target, `${target}.moved`);
    if (how === "replaced") writeFileSync(target, "");
    await expectWritesRefused(app);
  } finally {
    await db.close();
  }
});

test("its -wal removed while another process still reads an older state: what the -wal holds is in the database file once that read ends, before the 503 is answered", async () => {
  const dir = mkdtempSync(join(tmpdir(), "taskmgr-file-"));
  dirs.push(dir);
  const path = join(dir, "x.db");
  const db = new SqliteDatabase(path);
  await db.exec("CREATE TABLE marks (v TEXT)");
  await db.checkpointer?.checkpointNow();
  // A read transaction of another process (a backup, an operator's shell): no checkpoint may copy
  // the commits after the state it reads into the file until it ends (1 s from now).
  const reader = Bun.spawn(
    [
      process.execPath,
      "-e",
      `const { Database } = require("bun:sqlite"); const db = new Database(${JSON.stringify(path)});
       db.exec("BEGIN"); db.query("SELECT COUNT(*) FROM marks").get(); console.log("reading");
       setTimeout(() => { db.exec("COMMIT"); db.close(); }, 1000);`,
    ],
    { stdout: "pipe" },
  );
  try {
    expect(new TextDecoder().decode((await reader.stdout.getReader().read()).value)).toContain("reading");
    await db.run("INSERT INTO marks (v) VALUES ('acknowledged')");
    rmSync(`${path}-wal`);
    expect(() => db.verify()).toThrow(ConnectionLostError);
    // What a start after a crash now would open: the database file alone (the -wal is gone).
    copyFileSync(path, join(dir, "after-crash.db"));
    const after = new BunSqlite(join(dir, "after-crash.db"));
    try {
      expect(after.query("SELECT v FROM marks").all()).toEqual([{ v: "acknowledged" }]);
    } finally {
      after.close();
    }
  } finally {
    reader.kill();
    await reader.exited;
    await db.close();
  }
}, 20_000);

test("a file locked by another process: a write answers 503 unavailable after the busy timeout, not 500", async () => {
  const { path, db, t, u } = await fileApp();
  const holder = Bun.spawn(
    [
      process.execPath,
      "-e",
      `const { Database } = require("bun:sqlite"); const db = new Database(${JSON.stringify(path)});
       db.exec("BEGIN IMMEDIATE"); console.log("locked"); setTimeout(() => { db.exec("ROLLBACK"); db.close(); }, 8000);`,
    ],
    { stdout: "pipe" },
  );
  try {
    const reader = holder.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("locked");
    const write = await t.request("POST", "/api/tasks", { token: u.token, body: { title: "while locked" } });
    expect([write.status, write.body.error.code]).toEqual([503, "unavailable"]);
  } finally {
    holder.kill();
    await holder.exited;
    await db.close();
  }
}, 20_000);
