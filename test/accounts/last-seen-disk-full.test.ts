/**
 * A device's `last_seen_at` is written by the requests that use it (at most once a minute). On a full
 * disk that write fails (SQLITE_FULL, Postgres 53100), and the read it was made for answered 503:
 * every list and pull of a device-bound token stopped within a minute of the disk filling (checked on
 * a full tmpfs), where the README says reads go on. The write is bookkeeping: it is now skipped when
 * storage is full, and the read answered.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import type { Database } from "../../src/db/types";
import { createTestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";
import { memoryLogger } from "../support/log";

const DISK_FULL: Record<Database["dialect"], { code: string; message: string }> = {
  sqlite: { code: "SQLITE_FULL", message: "database or disk is full" },
  postgres: { code: "53100", message: "could not extend file: No space left on device" },
};

/** `db`, whose writes of `last_seen_at` fail as on a full disk while `full.on`. */
function fullForLastSeen(db: Database, full: { on: boolean }): Database {
  return new Proxy(db, {
    get(target, key) {
      if (key === "run")
        return (sql: string, params?: never[]) => {
          if (full.on && sql.includes("SET last_seen_at")) return Promise.reject(Object.assign(new Error(DISK_FULL[db.dialect].message), { code: DISK_FULL[db.dialect].code }));
          return target.run(sql, params);
        };
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

forEachDialect("last_seen_at on a full disk", ({ db }) => {
  test("reads and pulls of a device go on (200) while its last_seen_at cannot be written; it is written again once there is room", async () => {
    const full = { on: false };
    const clock = new ManualClock(new Date());
    const { log, lines } = memoryLogger();
    const t = await createTestApp(fullForLastSeen(db(), full), { clock, log });
    const u = await t.createUser();
    const pullingOther = await t.createUser({ org: u.org.slug, device: false });
    const other = (await t.request("POST", "/api/devices", { token: pullingOther.token, body: { name: "second" } })).body.id as string;
    const seen = async (id: string) => (await db().get<{ last_seen_at: string | null }>("SELECT last_seen_at FROM devices WHERE id = ?", [id]))!.last_seen_at;
    expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
    await t.services.lastSeen.flush(); // written off the request's path (src/devices/last-seen.ts)
    const before = await seen(u.deviceId!);

    full.on = true;
    clock.advance(2 * 60_000); // past the minute after which last_seen_at is written again
    expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
    expect((await t.request("GET", `/api/sync/pull?device_id=${u.deviceId}`, { token: u.token })).status).toBe(200);
    // A pull naming a device its token is not bound to writes that device's last_seen_at.
    expect((await t.request("GET", `/api/sync/pull?device_id=${other}`, { token: pullingOther.token })).status).toBe(200);
    await t.services.lastSeen.flush();
    expect(await seen(u.deviceId!)).toBe(before);
    expect(lines.filter((l) => l.event === "last_seen_failed")).toEqual([]); // skipped silently: the disk is full, not the write broken

    full.on = false;
    expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
    await t.services.lastSeen.flush();
    expect(await seen(u.deviceId!)).toBe(clock.now().toISOString());
  });

  // Until the write was taken off the request's path, any other failure failed the request (500). It is
  // now logged instead, and the read answered (test/accounts/last-seen-off-path.test.ts).
  test("any other failure of the write is logged, and the request still answered", async () => {
    const broken = new Proxy(db(), {
      get(target, key) {
        if (key === "run") return (sql: string, params?: never[]) => (sql.includes("SET last_seen_at") ? Promise.reject(new Error("boom")) : target.run(sql, params));
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const clock = new ManualClock(new Date());
    const { log, lines } = memoryLogger();
    const t = await createTestApp(broken, { clock, log });
    const u = await t.createUser();
    clock.advance(2 * 60_000);
    expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
    await t.services.lastSeen.flush();
    expect(lines.filter((l) => l.event === "last_seen_failed").map((l) => l.error)).toEqual(["boom"]);
  });
});

// The same on a real full disk (a small tmpfs; root only, skipped with a line otherwise).
const dir = mkdtempSync(join(tmpdir(), "taskmgr-last-seen-full-"));
const disk = join(dir, "disk");
mkdirSync(disk);
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", disk]).status === 0;
if (!mounted) console.log("last-seen-disk-full.test.ts: cannot mount a tmpfs here (not root?): the real full disk is skipped");
afterAll(() => {
  if (mounted) spawnSync("umount", [disk]);
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!mounted)("on a full tmpfs: once a push meets the full disk, a device's reads still answer 200 minutes later", async () => {
  const db = openDatabase(`sqlite:${join(disk, "taskmgr.db")}`);
  try {
    await migrate(db);
    const clock = new ManualClock(new Date());
    const t = await createTestApp(db, { clock });
    const u = await t.createUser();
    const avail = Number(spawnSync("df", ["-k", "--output=avail", disk]).stdout.toString().trim().split("\n").pop());
    spawnSync("dd", ["if=/dev/zero", `of=${join(disk, "filler")}`, "bs=1k", `count=${avail}`]);
    const changes = Array.from({ length: 200 }, (_, i) => ({
      change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create",
      data: { title: `task ${i}`, description: "d".repeat(2000) }, vector_clock: { [u.deviceId!]: i + 1 },
    }));
    expect((await t.request("POST", "/api/sync/push", { token: u.token, body: { device_id: u.deviceId, changes } })).status).toBe(503);
    const health = await t.request("GET", "/api/health");
    expect([health.status, health.body.status, typeof health.body.storage_full_at]).toEqual([200, "ok", "string"]);
    for (let minute = 1; minute <= 5; minute++) {
      clock.advance(60_000);
      expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
      expect((await t.request("GET", `/api/sync/pull?device_id=${u.deviceId}`, { token: u.token })).status).toBe(200);
    }
    rmSync(join(disk, "filler"));
    expect((await t.request("POST", "/api/sync/push", { token: u.token, body: { device_id: u.deviceId, changes } })).status).toBe(200);
  } finally {
    await db.close();
  }
});
