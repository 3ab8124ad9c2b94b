/**
 * A device's `last_seen_at` is written by the requests that use it (at most once a minute). Found by a
 * colleague: the requests awaited that write, so while another process held the SQLite write lock (a
 * `sqlite3` shell with a transaction open, a `VACUUM`, a long CLI command) every read of a device-bound
 * token whose `last_seen_at` was over a minute old waited the 5 s busy timeout and answered 503 (on
 * Postgres, a lock on the device's row held the read for as long as it was held), where README says
 * reads go on; and a read waited behind the writer's queue for no reason of its own. The write is now
 * made in the background (src/devices/last-seen.ts): the request neither waits for it nor fails with it.
 */
import { Database as BunSqlite } from "bun:sqlite";
import { expect, test } from "bun:test";
import postgres from "postgres";
import type { Database } from "../../src/db/types";
import { sqlitePath } from "../../src/db/url";
import { createTestApp, type TestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";
import { memoryLogger } from "../support/log";

/** A request that may take long enough to be the old wait (SQLite: 5 s, then 503): fast enough counts as prompt, whatever the machine's load. */
const PROMPT_MS = 2500;

/** The request's status and how long it took, or "waiting" when it has not answered within {@link PROMPT_MS}. */
async function timed(t: TestApp, path: string, token: string): Promise<{ status: number | "waiting"; ms: number }> {
  const t0 = performance.now();
  const answer = t.request("GET", path, { token }).then((r) => r.status);
  const timeout = new Promise<"waiting">((done) => setTimeout(() => done("waiting"), PROMPT_MS).unref());
  const status = await Promise.race([answer, timeout]);
  return { status, ms: performance.now() - t0 };
}

/** Another connection that holds, until `release`, the lock the `last_seen_at` write needs: SQLite's write lock, Postgres' lock on the device's row. */
async function holdLock(db: Database, url: string, deviceId: string): Promise<{ release: () => Promise<void> }> {
  if (db.dialect === "sqlite") {
    const other = new BunSqlite(sqlitePath(url)!);
    other.exec("BEGIN IMMEDIATE");
    return {
      release: async () => {
        other.exec("ROLLBACK");
        other.close();
      },
    };
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const held = await sql.reserve();
  await held.unsafe("BEGIN");
  await held.unsafe("SELECT 1 FROM devices WHERE id = $1 FOR UPDATE", [deviceId]);
  return {
    release: async () => {
      await held.unsafe("ROLLBACK");
      held.release();
      await sql.end({ timeout: 1 });
    },
  };
}

/** `db`, counting its writes of `last_seen_at` in `writes.n`; they fail with `writes.failWith` while it is set. */
function countingLastSeen(db: Database, writes: { n: number; failWith?: Error }): Database {
  return new Proxy(db, {
    get(target, key) {
      if (key === "run")
        return (sql: string, params?: never[]) => {
          if (!sql.includes("SET last_seen_at")) return target.run(sql, params);
          writes.n++;
          return writes.failWith ? Promise.reject(writes.failWith) : target.run(sql, params);
        };
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const storedLastSeen = async (db: Database, id: string) => (await db.get<{ last_seen_at: string | null }>("SELECT last_seen_at FROM devices WHERE id = ?", [id]))!.last_seen_at;

forEachDialect("last_seen_at off the request's path", ({ db, url }) => {
  test("while another connection holds the lock its write needs, a device's reads and pulls answer 200 at once; the write follows the lock", async () => {
    const clock = new ManualClock(new Date());
    const t = await createTestApp(db(), { clock });
    const u = await t.createUser();
    expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
    await t.services.lastSeen.flush();
    clock.advance(2 * 60_000); // last_seen_at is over a minute old: the next request writes it
    const due = clock.now().toISOString();

    const lock = await holdLock(db(), url(), u.deviceId!);
    try {
      for (const path of ["/api/tasks", `/api/sync/pull?device_id=${u.deviceId}`, `/api/devices/${u.deviceId}`]) {
        const { status, ms } = await timed(t, path, u.token);
        expect({ path, status }).toEqual({ path, status: 200 });
        expect(ms).toBeLessThan(PROMPT_MS);
      }
      // The device reading itself sees itself used now, as when the request wrote it.
      expect((await t.request("GET", `/api/devices/${u.deviceId}`, { token: u.token })).body.last_seen_at).toBe(due);
      expect((await t.request("GET", "/api/devices", { token: u.token })).body.results.map((d: { last_seen_at: string }) => d.last_seen_at)).toEqual([due]);
      expect(await storedLastSeen(db(), u.deviceId!)).not.toBe(due);
    } finally {
      await lock.release();
    }
    await t.services.lastSeen.flush();
    // Written by this request or the next one (the lock outlasted SQLite's 5 s wait on a loaded machine).
    if ((await storedLastSeen(db(), u.deviceId!)) !== due) {
      expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
      await t.services.lastSeen.flush();
    }
    expect(await storedLastSeen(db(), u.deviceId!)).toBe(due);
  });

  test("a burst of a device's requests makes one write, made in the background without being asked for", async () => {
    const writes = { n: 0 };
    const clock = new ManualClock(new Date());
    const t = await createTestApp(countingLastSeen(db(), writes), { clock });
    const u = await t.createUser();
    const other = await t.createUser({ org: u.org.slug, device: false });
    const named = (await t.request("POST", "/api/devices", { token: other.token, body: { name: "named" } })).body.id as string;
    const statuses = await Promise.all([
      ...Array.from({ length: 10 }, () => t.request("GET", "/api/tasks", { token: u.token })),
      ...Array.from({ length: 5 }, () => t.request("GET", `/api/sync/pull?device_id=${named}`, { token: other.token })),
    ]);
    expect(statuses.map((r) => r.status)).toEqual(Array(15).fill(200));
    const now = clock.now().toISOString();
    // No flush: the recorder writes on its own. Waited for until both writes are stored (a write is
    // counted when it is sent: the second one may still be under way once counted).
    const stored = () => Promise.all([storedLastSeen(db(), u.deviceId!), storedLastSeen(db(), named)]);
    for (const t0 = performance.now(); performance.now() - t0 < 10_000; await Bun.sleep(10)) {
      const [a, b] = await stored();
      if (a === now && b === now) break;
    }
    expect(await stored()).toEqual([now, now]);
    expect(writes.n).toBe(2);
  });

  test("a failed write is logged, at most once a minute, and never the request's: it answers 200 and the next due request writes it", async () => {
    const writes: { n: number; failWith?: Error } = { n: 0, failWith: new Error("boom") };
    const clock = new ManualClock(new Date());
    const { log, lines } = memoryLogger();
    const t = await createTestApp(countingLastSeen(db(), writes), { clock, log });
    const u = await t.createUser();
    const failures = () => lines.filter((l) => l.event === "last_seen_failed");
    for (let i = 0; i < 3; i++) {
      clock.advance(2 * 60_000 * (i === 0 ? 1 : 0) + 1000);
      expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
      await t.services.lastSeen.flush();
    }
    expect(writes.n).toBe(3);
    expect(failures()).toHaveLength(1);
    expect(failures()[0]).toMatchObject({ level: "warn", devices: 1, error: "boom" });
    clock.advance(61_000);
    expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
    await t.services.lastSeen.flush();
    expect(failures()).toHaveLength(2);
    expect(failures()[1]).toMatchObject({ devices: 3 }); // the two since the first line, and this one
    expect(await storedLastSeen(db(), u.deviceId!)).toBeNull();

    writes.failWith = undefined;
    expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
    await t.services.lastSeen.flush();
    expect(await storedLastSeen(db(), u.deviceId!)).toBe(clock.now().toISOString());
  });

  test("closing writes what is pending before the database closes, and records nothing after", async () => {
    const writes = { n: 0 };
    const clock = new ManualClock(new Date());
    const t = await createTestApp(countingLastSeen(db(), writes), { clock });
    const u = await t.createUser();
    expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
    const seenAt = clock.now().toISOString();
    await t.services.lastSeen.close(); // at once: the write has not started yet
    expect([writes.n, await storedLastSeen(db(), u.deviceId!)]).toEqual([1, seenAt]);
    clock.advance(2 * 60_000);
    expect((await t.request("GET", "/api/tasks", { token: u.token })).status).toBe(200);
    await t.services.lastSeen.flush();
    expect([writes.n, await storedLastSeen(db(), u.deviceId!)]).toEqual([1, seenAt]);
  });
});
