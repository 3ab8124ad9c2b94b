/**
 * Postgres: no statement waits for good. postgres.js 3.4.10 reconnects without end when the server
 * closes a connection during its startup (porsager/postgres#1193), and a connection that stops
 * making progress leaves its statement unanswered: the pool's watchdog (src/db/pg-watchdog.ts)
 * answers such a statement as a lost connection (503), or sends it again on a fresh pool when it was
 * never sent — and leaves alone a statement the database is still running.
 *
 * The misbehaving server is a TCP proxy in the test's process (test/support/pg-proxy.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { ConnectionLostError } from "../../src/db/errors";
import { PostgresDatabase } from "../../src/db/postgres";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";
import { type PgProxy, startPgProxy } from "../support/pg-proxy";

/** The watchdog's delay in these tests (10 s in service). */
const STUCK_AFTER_MS = 1_000;

/** What `p` settles with, or "hung" when it has not within `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | "hung"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((r) => (timer = setTimeout(r, ms, "hung")));
  try {
    return await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(!PG_AVAILABLE)("postgres: a statement whose connection never connects or stops making progress", () => {
  let handle: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: PgProxy;
  const opened: PostgresDatabase[] = [];
  /** A pool of `max` connections through the proxy, with the tests' watchdog delay (unless `stuckAfterMs`). */
  const open = (max = 1, stuckAfterMs = STUCK_AFTER_MS) => {
    const db = new PostgresDatabase(proxy.url(handle.url), { max, stuckAfterMs });
    opened.push(db);
    return db;
  };

  beforeAll(async () => {
    handle = await createTestDatabase("postgres", { migrate: false });
    await handle.db.exec("CREATE TABLE stuck_probe (id TEXT PRIMARY KEY)");
    await handle.db.exec("CREATE TABLE stuck_runs (id TEXT)"); // no key: a statement run twice leaves two rows
  });
  /**
   * The pools' closes, awaited once after all tests: a pool given up on ends only after its 5 s
   * grace (src/db/postgres.ts), which each test would otherwise wait out in turn.
   */
  const closing: Promise<void>[] = [];
  afterEach(async () => {
    closing.push(...opened.splice(0).map((db) => db.close()));
    await proxy.close();
  });
  afterAll(async () => {
    await Promise.all(closing);
    await handle.drop();
  });

  test("a server closing every connection during its startup: the statement answers as a lost connection, in bounded time", async () => {
    proxy = await startPgProxy();
    proxy.mode = "close-at-startup";
    const db = open();
    const outcome = await within(db.get("SELECT 1 AS one"), 10_000);
    expect(outcome).not.toBe("hung");
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ConnectionLostError);
    // The database answers again: so does the pool.
    proxy.mode = "pass";
    expect(await db.get<{ one: number }>("SELECT 1 AS one")).toEqual({ one: 1 });
  }, 30_000);

  test("the same for a transaction: its function never runs, and it answers as a lost connection", async () => {
    proxy = await startPgProxy();
    proxy.mode = "close-at-startup";
    const db = open();
    let ran = 0;
    const outcome = await within(
      db.transaction(async (tx) => {
        ran++;
        await tx.run("INSERT INTO stuck_probe (id) VALUES (?)", ["tx-never"]);
      }),
      10_000,
    );
    expect(outcome).not.toBe("hung");
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ConnectionLostError);
    proxy.mode = "pass";
    await db.close(); // returns once the pools given up on have ended (each within its 5 s grace)
    expect(ran).toBe(0);
    expect(await handle.db.all("SELECT id FROM stuck_probe WHERE id = 'tx-never'")).toEqual([]);
  }, 30_000);

  test("a statement that was never sent runs at most once: given up on (sent again on a fresh pool), the server back meanwhile", async () => {
    proxy = await startPgProxy();
    proxy.mode = "close-at-startup";
    const db = open();
    const insert = db.run("INSERT INTO stuck_runs (id) VALUES (?)", ["once"]);
    setTimeout(() => (proxy.mode = "pass"), STUCK_AFTER_MS * 1.6);
    const outcome = await within(insert, 10_000);
    expect(outcome).not.toBe("hung");
    await db.close(); // returns once the pools given up on have ended (each within its 5 s grace)
    const rows = await handle.db.all("SELECT id FROM stuck_runs WHERE id = 'once'");
    if ("value" in (outcome as object)) expect(rows).toEqual([{ id: "once" }]);
    else {
      expect((outcome as { error: unknown }).error).toBeInstanceOf(ConnectionLostError);
      expect(rows).toEqual([]);
    }
  }, 30_000);

  test("a connection that stops making progress once its statement is sent: the statement answers as a lost connection; the next one works", async () => {
    proxy = await startPgProxy();
    const db = open();
    expect(await db.get<{ one: number }>("SELECT 1 AS one")).toEqual({ one: 1 });
    proxy.freeze();
    const outcome = await within(db.get("SELECT 2 AS two"), 10_000);
    expect(outcome).not.toBe("hung");
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ConnectionLostError);
    expect(await db.get<{ one: number }>("SELECT 1 AS one")).toEqual({ one: 1 });
  }, 30_000);

  test("a connection whose backend ended unnoticed (its close never reached the client): the statement sent on it answers as a lost connection", async () => {
    proxy = await startPgProxy();
    const db = open();
    const { pid } = (await db.get<{ pid: number }>("SELECT pg_backend_pid() AS pid"))!;
    proxy.freeze();
    await handle.db.get("SELECT pg_terminate_backend(?)", [pid]);
    const outcome = await within(db.get("SELECT 2 AS two"), 10_000);
    expect(outcome).not.toBe("hung");
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ConnectionLostError);
    expect(await db.get<{ one: number }>("SELECT 1 AS one")).toEqual({ one: 1 });
  }, 30_000);

  test("the same inside a transaction: it answers as a lost connection, nothing of it committed", async () => {
    proxy = await startPgProxy();
    const db = open();
    const outcome = await within(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO stuck_probe (id) VALUES (?)", ["frozen-1"]);
        proxy.freeze();
        await tx.run("INSERT INTO stuck_probe (id) VALUES (?)", ["frozen-2"]);
      }),
      10_000,
    );
    expect(outcome).not.toBe("hung");
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ConnectionLostError);
    await proxy.close();
    proxy = await startPgProxy();
    expect(await handle.db.all("SELECT id FROM stuck_probe WHERE id LIKE 'frozen-%'")).toEqual([]);
  }, 30_000);

  test("a statement whose connection never connects while another connection of the pool serves later ones: it answers in bounded time", async () => {
    proxy = await startPgProxy();
    proxy.passLimit = 1; // the pool's first connection works; its second never connects
    const db = open(2);
    await db.get("SELECT 1"); // the first connection is open, and takes the next statement
    const slow = db.get("SELECT pg_sleep(30)").catch((e: unknown) => e); // busy on the first connection (ended with its pool)
    await Bun.sleep(300);
    const stuck = within(db.get("SELECT 1 AS one"), 22_000); // on the second (which never connects), long before the sleep ends
    await Bun.sleep(100);
    const later = db.get("SELECT 2 AS two").catch((e: unknown) => e); // pipelined on the first: sent
    const outcome = await stuck;
    expect(outcome).not.toBe("hung");
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ConnectionLostError);
    await Promise.all([slow, later]);
  }, 50_000);

  test("a connection that times out connecting, and a database that then hangs up during every startup: the statement answers as a lost connection", async () => {
    // postgres.js fails the statement with CONNECT_TIMEOUT (after 5 s, before the watchdog's 10 s looks
    // at it); the check whether the database answers, before the pool is replaced, must not wait for
    // good on a connection of its own.
    proxy = await startPgProxy();
    proxy.mode = "silent";
    const db = open(1, 10_000);
    const outcome = within(db.get("SELECT 1 AS one"), 15_000);
    while (proxy.accepted === 0) await Bun.sleep(10);
    proxy.mode = "close-at-startup";
    expect(await outcome).not.toBe("hung");
    expect(((await outcome) as { error: unknown }).error).toBeInstanceOf(ConnectionLostError);
  }, 30_000);

  test("health's own connection: a check whose connection never connects fails in bounded time, and the next check connects afresh", async () => {
    proxy = await startPgProxy();
    proxy.mode = "close-at-startup";
    const db = open();
    const outcome = await within(db.monitor.get("SELECT 1 AS one"), 10_000);
    expect(outcome).not.toBe("hung");
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ConnectionLostError);
    proxy.mode = "pass";
    expect(await db.monitor.get<{ one: number }>("SELECT 1 AS one")).toEqual({ one: 1 });
  }, 30_000);

  test("a statement the database runs longer than the watchdog's delay, and one queued behind it, are left alone", async () => {
    proxy = await startPgProxy();
    const db = open(1);
    const slow = db.get<{ slept: string }>("SELECT pg_sleep(?)::text AS slept", [(STUCK_AFTER_MS * 3.5) / 1000]);
    const queued = db.get<{ one: number }>("SELECT 1 AS one");
    expect(await slow).toEqual({ slept: "" });
    expect(await queued).toEqual({ one: 1 });
  }, 30_000);
});
