/**
 * Postgres: an instance frozen in the middle of a transaction (a paused VM, a stopped process) must
 * not stop the others for good. Statements waiting for its locks fail after the lock timeout as
 * "database busy" (503), and the database ends its idle session after the idle-in-transaction
 * timeout, which releases the locks; the frozen instance's transaction then fails (nothing committed).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ConnectionLostError, isDatabaseBusy } from "../../src/db/errors";
import { openDatabase } from "../../src/db/open";
import { IDLE_IN_TRANSACTION_TIMEOUT_MS, LOCK_TIMEOUT_MS, PostgresDatabase } from "../../src/db/postgres";
import { createTestApp } from "../support/app";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";

const ROW = "UPDATE lock_probe SET n = n + 1 WHERE id = 'x'";

describe.skipIf(!PG_AVAILABLE)("postgres: lock and idle-in-transaction timeouts", () => {
  let handle: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    handle = await createTestDatabase("postgres");
    const db = new PostgresDatabase(handle.url);
    await db.exec("CREATE TABLE lock_probe (id TEXT PRIMARY KEY, n INTEGER NOT NULL)");
    await db.run("INSERT INTO lock_probe (id, n) VALUES ('x', 0)");
    await db.close();
  });
  afterAll(() => handle.drop());

  test("the server's connections carry both timeouts", async () => {
    const db = new PostgresDatabase(handle.url);
    try {
      const show = async (name: string) => (await db.get<Record<string, string>>(`SHOW ${name}`))![name];
      expect(await show("lock_timeout")).toBe(`${LOCK_TIMEOUT_MS / 1000}s`);
      expect(await show("idle_in_transaction_session_timeout")).toBe(`${IDLE_IN_TRANSACTION_TIMEOUT_MS / 1000}s`);
      expect(LOCK_TIMEOUT_MS).toBeLessThan(IDLE_IN_TRANSACTION_TIMEOUT_MS);
    } finally {
      await db.close();
    }
  });

  // Found by reading the HTTP layer: a statement_timeout set by a DBA on the database or role, or a
  // pg_cancel_backend, failed the request with a bare PostgresError: 500 internal with a stack.
  test("a statement the database cancels (statement_timeout, pg_cancel_backend: 57014) is busy, answered 503 like a lock timeout", async () => {
    const db = new PostgresDatabase(handle.url, { statementTimeoutMs: 50 });
    try {
      const cancelled = await db.get("SELECT pg_sleep(2)").then(
        () => null,
        (err: unknown) => err,
      );
      expect((cancelled as { code?: string } | null)?.code).toBe("57014");
      expect(isDatabaseBusy(cancelled)).toBe(true);
    } finally {
      await db.close();
    }
  });

  test("a frozen holder: the waiting writer fails as busy, then the holder's session ends and writes go on", async () => {
    // The waiter gives up long before the database ends the holder's session (which would let it through).
    const opts = { lockTimeoutMs: 300, idleInTransactionTimeoutMs: 3000 };
    const frozen = new PostgresDatabase(handle.url, opts);
    const other = new PostgresDatabase(handle.url, opts);
    try {
      // The row's count as the suite's other tests left it (`n: 1` held only when this test ran first: found with `bun test --randomize`).
      const { n: before } = (await other.get<{ n: number }>("SELECT n FROM lock_probe WHERE id = 'x'"))!;
      let locked!: () => void;
      const holding = new Promise<void>((resolve) => (locked = resolve));
      const held = frozen.transaction(async (tx) => {
        await tx.run(ROW);
        locked();
        await Bun.sleep(5000); // frozen: sends nothing while holding the row lock
        await tx.run(ROW);
      });
      held.catch(() => {});
      await holding;

      const waited = await other.run(ROW).then(
        () => null,
        (err: unknown) => err,
      );
      expect(isDatabaseBusy(waited)).toBe(true);

      await expect(held).rejects.toBeInstanceOf(ConnectionLostError);
      await other.run(ROW);
      expect(await other.get<{ n: number }>("SELECT n FROM lock_probe WHERE id = 'x'")).toEqual({ n: before + 1 });
    } finally {
      await frozen.close();
      await other.close();
    }
  });

  test("health answers on a connection of its own while every pooled connection waits for a lock", async () => {
    const holder = new PostgresDatabase(handle.url);
    const db = new PostgresDatabase(handle.url, { max: 2, lockTimeoutMs: 20_000 });
    try {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const holding = new Promise<void>((resolve) => (locked = resolve));
      const held = holder.transaction(async (tx) => {
        await tx.run(ROW);
        locked();
        await released;
      });
      await holding;
      const t = await createTestApp(db);
      let waitersDone = false;
      const waiters = Promise.all([db.run(ROW), db.run(ROW)]).finally(() => (waitersDone = true));
      await Bun.sleep(100); // both pooled connections now wait for the row lock

      const health = await t.request("GET", "/api/health");
      expect([health.status, health.body.status, waitersDone]).toEqual([200, "ok", false]);
      release();
      await held;
      await waiters;
    } finally {
      await db.close();
      await holder.close();
    }
  });

  test("the health connection times its statements out, and after a failure the next check runs on a fresh connection", async () => {
    const db = new PostgresDatabase(handle.url);
    try {
      const pid = async () => (await db.monitor.get<{ pid: number }>("SELECT pg_backend_pid() AS pid"))!.pid;
      const first = await pid();
      expect(await pid()).toBe(first);
      await expect(db.monitor.get("SELECT pg_sleep(10)")).rejects.toMatchObject({ code: "57014" }); // statement_timeout
      expect(await pid()).not.toBe(first);
    } finally {
      await db.close();
    }
  });

  test("openDatabase's poolSize (DATABASE_POOL_SIZE) caps the server's connections", async () => {
    const db = openDatabase(handle.url, { poolSize: 2 });
    try {
      const pids = await Promise.all(Array.from({ length: 6 }, () => db.get<{ pid: number }>("SELECT pg_backend_pid() AS pid, pg_sleep(0.1)")));
      expect(new Set(pids.map((r) => r!.pid)).size).toBe(2);
    } finally {
      await db.close();
    }
  });
});
