/**
 * `taskmgr backup FILE`, spawned for real: a copy of a SQLite database that a running server keeps
 * writing to (pushes acknowledged before the backup started are in it; the copy is whole and opens
 * as a database), and the command's failures: an existing file, a missing database, an empty name,
 * Postgres.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { migrate, migrationStatus } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { openDatabase } from "../../src/db/open";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";
import { removeTempDirs, serve, taskmgr, tempDir } from "./support";

setDefaultTimeout(60_000);
afterAll(removeTempDirs);

test("a backup taken while the server takes pushes holds every push acknowledged before it started, and is a whole database", async () => {
  const cwd = tempDir();
  const db = `sqlite:${join(cwd, "data", "live.db")}`;
  const env = { LOG_DIR: join(cwd, "logs"), TASKMGR_SECRET: "backup-test-secret" };
  expect((await taskmgr(["orgs", "create", "Acme", "--slug", "acme", "--db", db], { cwd, env })).code).toBe(0);
  const password = "backup-test-password";
  expect((await taskmgr(["users", "create", "--org", "acme", "--email", "a@example.com", "--role", "admin", "--password", password, "--db", db], { cwd, env })).code).toBe(0);
  const server = await serve(["--port", "0", "--db", db], { cwd, env });
  try {
    const login = await fetch(`${server.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "a@example.com", password }) });
    const token = ((await login.json()) as { access: string }).access;
    const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
    const device = ((await (await fetch(`${server.url}/api/devices`, { method: "POST", headers, body: JSON.stringify({ name: "d" }) })).json()) as { id: string }).id;

    let counter = 0;
    const acknowledged: string[] = [];
    const pushOnce = async () => {
      const changes = Array.from({ length: 50 }, () => ({
        change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create",
        data: { title: "backed up", description: "x".repeat(500) }, vector_clock: { [device]: ++counter },
      }));
      const res = await fetch(`${server.url}/api/sync/push`, { method: "POST", headers, body: JSON.stringify({ device_id: device, changes }) });
      expect(res.status).toBe(200);
      const { results } = (await res.json()) as { results: { status: string; entity_id: string }[] };
      for (const r of results) if (r.status === "applied") acknowledged.push(r.entity_id);
    };
    for (let i = 0; i < 10; i++) await pushOnce();

    let writing = true;
    const load = (async () => {
      while (writing) await pushOnce();
    })();
    const before = acknowledged.length;
    const target = join(cwd, "backup.db");
    const ran = await taskmgr(["backup", target, "--db", db], { cwd, env });
    const after = acknowledged.length;
    writing = false;
    await load;

    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain(`wrote ${target}`);
    expect(ran.stderr).toBe("");
    expect(statSync(target).mode & 0o777).toBe(0o600);
    const copy = openDatabase(`sqlite:${target}`, { readOnly: true });
    try {
      expect((await copy.get<{ integrity_check: string }>("PRAGMA integrity_check"))?.integrity_check).toBe("ok");
      const ids = new Set((await copy.all<{ id: string }>("SELECT id FROM tasks")).map((r) => r.id));
      expect(before).toBeGreaterThanOrEqual(500); // the ten pushes before the backup were applied: the check below is not vacuous
      expect(acknowledged.slice(0, before).every((id) => ids.has(id))).toBe(true);
      expect(ids.size).toBeLessThanOrEqual(after + 50);
    } finally {
      await copy.close();
    }
    // The copy serves: the organization is there.
    const listed = await taskmgr(["orgs", "list", "--json", "--db", `sqlite:${target}`], { cwd, env });
    expect(JSON.parse(listed.stdout).map((o: { slug: string }) => o.slug)).toEqual(["acme"]);
  } finally {
    await server.stop("SIGTERM");
  }
});

test("restored as it is (no statement to run), the copy sends every device back to a snapshot: cursors from before and after the backup answer 410, a new one goes on", async () => {
  const cwd = tempDir();
  const live = join(cwd, "data", "live.db");
  const db = `sqlite:${live}`;
  const env = { LOG_DIR: join(cwd, "logs"), TASKMGR_SECRET: "restore-test-secret" };
  const password = "restore-test-password";
  expect((await taskmgr(["orgs", "create", "Acme", "--slug", "acme", "--db", db], { cwd, env })).code).toBe(0);
  expect((await taskmgr(["users", "create", "--org", "acme", "--email", "r@example.com", "--role", "admin", "--password", password, "--db", db], { cwd, env })).code).toBe(0);

  let server = await serve(["--port", "0", "--db", db], { cwd, env });
  const login = await fetch(`${server.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "r@example.com", password }) });
  const headers = { "content-type": "application/json", authorization: `Bearer ${((await login.json()) as { access: string }).access}` };
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const writer = (await api("POST", "/api/devices", { name: "writer" })).body.id as string;
  const reader = (await api("POST", "/api/devices", { name: "reader" })).body.id as string;
  let counter = 0;
  const push = async (n: number) => {
    const changes = Array.from({ length: n }, (_, i) => ({
      change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create", data: { title: `task ${counter + i}` }, vector_clock: { [writer]: ++counter },
    }));
    const r = await api("POST", "/api/sync/push", { device_id: writer, changes });
    expect(r.body.results.map((x: { status: string }) => x.status)).toEqual(changes.map(() => "applied"));
    return changes.map((c) => c.entity_id);
  };
  const pull = (cursor?: string) => api("GET", `/api/sync/pull?device_id=${reader}&limit=1000${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`);

  const kept = await push(20);
  const beforeBackup = (await pull()).body.cursor as string;
  const target = join(cwd, "backup.db");
  expect((await taskmgr(["backup", target, "--db", db], { cwd, env })).code).toBe(0);
  await push(10); // lost by the restore
  const afterBackup = (await pull(beforeBackup)).body.cursor as string;
  expect(await server.stop("SIGTERM")).toBe(0);

  // README, "Restoring": the server stopped, its -wal and -shm removed, the copy put in place.
  for (const f of [live, `${live}-wal`, `${live}-shm`]) rmSync(f, { force: true });
  copyFileSync(target, live);
  server = await serve(["--port", "0", "--db", db], { cwd, env });
  try {
    for (const cursor of [beforeBackup, afterBackup]) {
      const r = await pull(cursor);
      expect([r.status, r.body.error?.code]).toEqual([410, "reset_required"]);
    }
    const snapshot = await pull();
    expect(snapshot.status).toBe(200);
    expect(snapshot.body.changes.map((c: { entity_id: string }) => c.entity_id).sort()).toEqual([...kept].sort());
    const fresh = await push(5);
    const next = await pull(snapshot.body.cursor);
    expect(next.body.changes.map((c: { entity_id: string }) => c.entity_id)).toEqual(fresh);
  } finally {
    await server.stop("SIGTERM");
  }
});

test("the source is not migrated: a database one migration behind stays so, and so does its copy", async () => {
  const cwd = tempDir();
  const file = join(cwd, "old.db");
  const old = openDatabase(`sqlite:${file}`);
  try {
    await migrate(old, MIGRATIONS.slice(0, -1));
  } finally {
    await old.close();
  }
  const applied = async (path: string) => {
    const db = openDatabase(`sqlite:${path}`);
    try {
      return (await migrationStatus(db)).filter((m) => m.applied_at !== null).length;
    } finally {
      await db.close();
    }
  };
  const ran = await taskmgr(["backup", "old-copy.db", "--db", `sqlite:${file}`], { cwd });
  expect([ran.code, ran.stderr]).toEqual([0, ""]);
  expect([await applied(file), await applied(join(cwd, "old-copy.db"))]).toEqual([MIGRATIONS.length - 1, MIGRATIONS.length - 1]);
});

test("failures: an existing file (1), a database that does not exist (1, nothing created), an empty name (2), sqlite::memory: (1), Postgres (1, pg_dump named)", async () => {
  const cwd = tempDir();
  const db = `sqlite:${join(cwd, "one.db")}`;
  expect((await taskmgr(["orgs", "create", "One", "--db", db], { cwd })).code).toBe(0);
  expect((await taskmgr(["backup", "copy.db", "--db", db], { cwd })).code).toBe(0);

  const again = await taskmgr(["backup", "copy.db", "--db", db], { cwd });
  expect([again.code, again.stderr.trim()]).toEqual([1, "error: copy.db already exists: a backup never overwrites a file, name a new one"]);
  // A -wal left beside the name (by a copy of that name that was opened and killed) would be replayed onto the new copy.
  writeFileSync(join(cwd, "stale.db-wal"), "");
  const stale = await taskmgr(["backup", "stale.db", "--db", db], { cwd });
  expect([stale.code, stale.stderr]).toEqual([1, expect.stringContaining("stale.db-wal already exists, and opening the copy would replay it")]);
  expect(() => statSync(join(cwd, "stale.db"))).toThrow();
  // The copy is made under a temporary name, gone once it is published or has failed.
  expect(readdirSync(cwd).filter((f) => f.includes(".partial-"))).toEqual([]);

  const missing = await taskmgr(["backup", "other.db", "--db", `sqlite:${join(cwd, "none.db")}`], { cwd });
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain("does not exist");
  expect(() => statSync(join(cwd, "none.db"))).toThrow();
  expect(() => statSync(join(cwd, "other.db"))).toThrow();

  expect((await taskmgr(["backup", "", "--db", db], { cwd })).code).toBe(2);
  // Found by CLI QA: "-" (standard output, as many tools read it) wrote a file named "-".
  const dash = await taskmgr(["backup", "-", "--db", db], { cwd });
  expect([dash.code, dash.stderr.trim()]).toEqual([2, "error: command-argument value '-' is invalid for argument 'file'. must name a file: a backup is not written to standard output."]);
  expect(() => statSync(join(cwd, "-"))).toThrow();

  // Found by CLI QA: it wrote a migrated empty database as if it were a backup.
  const memory = await taskmgr(["backup", "memory.db", "--db", "sqlite::memory:"], { cwd });
  expect([memory.code, memory.stderr]).toEqual([1, expect.stringContaining("sqlite::memory: is this command's own empty database")]);
  expect(() => statSync(join(cwd, "memory.db"))).toThrow();

  if (PG_AVAILABLE) {
    const { url, drop } = await createTestDatabase("postgres");
    try {
      const pg = await taskmgr(["backup", "pg.db", "--db", url], { cwd });
      expect(pg.code).toBe(1);
      expect(pg.stderr).toMatch(/^error: taskmgr backup copies SQLite databases: back up Postgres with pg_dump, .*\n$/);
      expect(() => statSync(join(cwd, "pg.db"))).toThrow();
    } finally {
      await drop();
    }
  }
});
