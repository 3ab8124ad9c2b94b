/**
 * Postgres: a transaction whose connection dies (the backend terminated, as when the database is
 * force-dropped or restarted) fails cleanly — the caller gets a `ConnectionLostError`, nothing it
 * wrote is committed, the process keeps running (postgres.js 3.4.9 would write the transaction's
 * next statement, or its own ROLLBACK/COMMIT, on the closed socket from a `setImmediate`: an
 * uncaught TypeError), and the same pool slot serves the next statements.
 *
 * Each database gets a pool of ONE connection, so the statement after the loss goes through the
 * very connection object that was closed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { ConnectionLostError } from "../../src/db/errors";
import { PostgresDatabase } from "../../src/db/postgres";
import { runFinal } from "../../src/db/tx-state";
import type { Executor, Flusher, Tx } from "../../src/db/types";
import { createTestApp } from "../support/app";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";
import { wrapTransactions } from "../support/wrap-transactions";

/**
 * Lets pending immediates and timers run while the test still runs: the crash came from a
 * `setImmediate` after the transaction had failed, and `bun test` fails the running test with an
 * uncaught exception (a process would exit).
 */
const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 5));
};

const CREATE = "CREATE TABLE IF NOT EXISTS loss_probe (id TEXT PRIMARY KEY)";
const INSERT = "INSERT INTO loss_probe (id) VALUES (?)";

/**
 * A fresh Postgres database for the enclosing describe (dropped after it), and an admin connection
 * to it that terminates its backends. Register it before the describe's own hooks.
 */
function scratchDatabase(): { url: () => string; admin: () => postgres.Sql } {
  let handle: Awaited<ReturnType<typeof createTestDatabase>>;
  let admin: postgres.Sql;
  beforeAll(async () => {
    handle = await createTestDatabase("postgres");
    admin = postgres(handle.url, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await admin.end({ timeout: 1 });
    await handle.drop();
  });
  return { url: () => handle.url, admin: () => admin };
}

describe.skipIf(!PG_AVAILABLE)("postgres: connection lost in the middle of a transaction", () => {
  const scratch = scratchDatabase();
  let db: PostgresDatabase;

  beforeAll(async () => {
    db = new PostgresDatabase(scratch.url(), { max: 1 });
    await db.exec(CREATE);
  });
  afterAll(() => db.close());

  /** Terminates the backend of the transaction `tx` runs on (from another connection). */
  async function kill(tx: Executor): Promise<void> {
    const { pid } = (await tx.get<{ pid: number }>("SELECT pg_backend_pid() AS pid"))!;
    await scratch.admin()`SELECT pg_terminate_backend(${pid})`;
  }

  /** Runs `fn` in a transaction that must fail with ConnectionLostError; then checks the aftermath. */
  async function expectLost(id: string, fn: (tx: Tx) => Promise<unknown>): Promise<void> {
    const err = await db.transaction(fn).then(
      () => null,
      (e: unknown) => e,
    );
    await settle(); // postgres.js 3.4.9 unguarded: TypeError: null is not an object (evaluating 'socket.write')
    expect(err).toBeInstanceOf(ConnectionLostError);
    // Nothing of the lost transaction was committed, and the (one) pool connection works again.
    expect(await db.get("SELECT id FROM loss_probe WHERE id LIKE ?", [`${id}%`])).toBeUndefined();
    await db.transaction(async (tx) => tx.run(INSERT, [`${id}-after`]));
    expect(await db.get<{ id: string }>("SELECT id FROM loss_probe WHERE id = ?", [`${id}-after`])).toEqual({ id: `${id}-after` });
    await settle();
  }

  test("terminated while idle in the transaction: the next statement fails cleanly", async () => {
    await expectLost("next", async (tx) => {
      await tx.run(INSERT, ["next-1"]);
      await kill(tx);
      await tx.run(INSERT, ["next-2"]);
    });
  });

  test("terminated just before the COMMIT (the transaction's function returns)", async () => {
    await expectLost("commit", async (tx) => {
      await tx.run(INSERT, ["commit-1"]);
      await kill(tx);
    });
  });

  test("terminated before the final statement that pipelines the COMMIT (runFinal)", async () => {
    const final: Flusher<string> = async (exec, ids) => {
      for (const id of ids) await runFinal(exec, INSERT, [id]);
    };
    final.last = true;
    await expectLost("final", async (tx) => {
      await tx.run(INSERT, ["final-1"]);
      tx.enqueue(final, "final-2");
      await kill(tx);
    });
  });

  test("terminated after the final statement's pipelined COMMIT landed, before postgres.js' own COMMIT: answered as committed, not as lost", async () => {
    const final: Flusher<string> = async (exec, ids) => {
      const { pid } = (await exec.get<{ pid: number }>("SELECT pg_backend_pid() AS pid"))!;
      await runFinal(exec, INSERT, [ids[0]!]);
      // Once the row is visible to others the COMMIT is done: then the backend goes.
      while ((await scratch.admin()`SELECT id FROM loss_probe WHERE id = ${ids[0]!}`).length === 0) await Bun.sleep(2);
      await scratch.admin()`SELECT pg_terminate_backend(${pid})`;
      await settle(); // the close has arrived
    };
    final.last = true;
    const answer = await db
      .transaction(async (tx) => {
        await tx.run(INSERT, ["landed-1"]);
        tx.enqueue(final, "landed-2");
        return "committed";
      })
      .catch((e: unknown) => e);
    await settle();
    expect(answer).toBe("committed");
    expect(await db.all("SELECT id FROM loss_probe WHERE id LIKE 'landed-%' ORDER BY id")).toEqual([{ id: "landed-1" }, { id: "landed-2" }]);
  });

  test("terminated while a statement runs", async () => {
    await expectLost("busy", async (tx) => {
      await tx.run(INSERT, ["busy-1"]);
      const { pid } = (await tx.get<{ pid: number }>("SELECT pg_backend_pid() AS pid"))!;
      const slow = tx.get("SELECT pg_sleep(5)");
      // Terminate once the sleep is running on that backend.
      for (;;) {
        const r = await scratch.admin()`SELECT state, query FROM pg_stat_activity WHERE pid = ${pid}`;
        if (r[0]?.state === "active" && String(r[0]?.query).includes("pg_sleep")) break;
        await new Promise((res) => setTimeout(res, 5));
      }
      await scratch.admin()`SELECT pg_terminate_backend(${pid})`;
      await slow;
    });
  });

  test("terminated inside a savepoint, whose function then throws", async () => {
    await expectLost("savepoint", async (tx) => {
      await tx.run(INSERT, ["savepoint-1"]);
      await tx.savepoint(async (sp) => {
        await sp.run(INSERT, ["savepoint-2"]);
        await kill(sp);
        await sp.run(INSERT, ["savepoint-3"]);
      });
    });
  });

  test("terminated, then the transaction's function throws an error of its own", async () => {
    await expectLost("throws", async (tx) => {
      await tx.run(INSERT, ["throws-1"]);
      await kill(tx);
      await new Promise((r) => setTimeout(r, 20)); // the close has arrived
      throw new Error("a rule failed");
    });
  });

  test("a statement outside a transaction, terminated while it runs: ConnectionLostError, and the next statement on that pool slot works", async () => {
    const busy = db.get("SELECT pg_sleep(5), pg_backend_pid()");
    for (;;) {
      const r = await scratch.admin()`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep(5)%'`;
      if (r.length > 0) {
        await scratch.admin()`SELECT pg_terminate_backend(${r[0].pid})`;
        break;
      }
      await new Promise((res) => setTimeout(res, 5));
    }
    const err = await busy.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectionLostError);
    // postgres.js 3.4.9 keeps the killed statement's 57P01 and fails the reconnected slot's first
    // statement with it, unsent: that one is sent again.
    expect(await db.get<{ one: number }>("SELECT 1 AS one")).toEqual({ one: 1 });
    await settle();
  });
});

describe.skipIf(!PG_AVAILABLE)("postgres: a connection lost while a result's rows arrive", () => {
  const scratch = scratchDatabase();
  let db: PostgresDatabase;
  beforeAll(() => {
    db = new PostgresDatabase(scratch.url(), { max: 1 });
  });
  afterAll(() => db.close());

  // postgres.js 3.4.9 leaves its row counter where it was when the connection closed mid-result, and
  // stores the reconnected connection's next result from there on: its first places empty. Read
  // as it is, a lookup would find "no row" (an ended session taken as live, an active user as
  // inactive) and a page would hold holes; it is refused as a lost connection instead (503).
  test("the first result after the reconnect is refused as a lost connection, not read with holes; the next one is whole", async () => {
    const streaming = db.all("SELECT g, repeat('x', 2000) AS pad, pg_sleep(0.002) FROM generate_series(1, 5000) AS g");
    await new Promise((res) => setTimeout(res, 400)); // hundreds of rows have arrived
    const r = await scratch.admin()`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT g, repeat%'`;
    expect(r).toHaveLength(1);
    await scratch.admin()`SELECT pg_terminate_backend(${r[0]!.pid})`;
    expect(await streaming.then(() => null, (e: unknown) => e)).toBeInstanceOf(ConnectionLostError);
    // Without the check this answered about 200 empty places, then the two rows.
    const first = await db.all<{ n: number }>("SELECT 1 AS n UNION ALL SELECT 2").then((rows) => rows, (e: unknown) => e);
    expect(first).toBeInstanceOf(ConnectionLostError);
    expect(await db.all<{ n: number }>("SELECT 1 AS n UNION ALL SELECT 2")).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await db.get<{ n: number }>("SELECT 3 AS n")).toEqual({ n: 3 });
    await settle();
  });
});

describe.skipIf(!PG_AVAILABLE)("postgres: the database restarting under load", () => {
  const scratch = scratchDatabase();

  test("backends terminated again and again while statements and transactions run: no crash, and the pool works again once the database is back", async () => {
    // One connection: the statements after the outage go through the very connection object that
    // lived through it. postgres.js 3.4.9 could leave it unable to connect ever again (every statement
    // CONNECT_TIMEOUT after 5 s), and crash the process with an unhandled rejection of the array
    // types query it sends on connecting (with `fetch_types`).
    const db = new PostgresDatabase(scratch.url(), { max: 1 });
    try {
      await db.exec(CREATE);
      let running = true;
      const load = Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; running; i++) {
          if (w === 0) await db.transaction(async (tx) => tx.run(INSERT, [`restart-${i}`])).catch(() => {});
          else await db.get("SELECT 1").catch(() => {});
        }
      });
      const until = Date.now() + 300;
      while (Date.now() < until) {
        await scratch.admin()`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
      }
      running = false;
      await Promise.all(load);
      await settle();
      // The database is back: the next statements succeed (a stuck pool is replaced by a fresh one,
      // and the statement that found it stuck, never sent, is sent again).
      for (let i = 0; i < 5; i++) expect(await db.get<{ one: number }>("SELECT 1 AS one")).toEqual({ one: 1 });
      await db.transaction(async (tx) => tx.run(INSERT, ["restart-after"]));
      expect(await db.get<{ id: string }>("SELECT id FROM loss_probe WHERE id = 'restart-after'")).toEqual({ id: "restart-after" });
      await settle();
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe.skipIf(!PG_AVAILABLE)("postgres: sessions ended by the server's idle_session_timeout", () => {
  const scratch = scratchDatabase();

  test("a statement meeting its session's end by idle_session_timeout (57P05) fails as a lost connection (503) or is sent again, never a plain database error (500)", async () => {
    // A server (or role, or database) with idle_session_timeout ends pooled connections left idle;
    // statements sent about then meet the end (before the fix, 1 in 7 here failed with a bare 57P05).
    const name = new URL(scratch.url()).pathname.slice(1);
    await scratch.admin().unsafe(`ALTER DATABASE ${name} SET idle_session_timeout = 20`);
    const db = new PostgresDatabase(scratch.url(), { max: 1 });
    const others: unknown[] = [];
    let ok = 0;
    try {
      // At most 60 statements, for at most 8 s (each lost session is a new connection: slow on a loaded machine).
      const until = performance.now() + 8_000;
      for (let i = 0; i < 60 && others.length === 0 && performance.now() < until; i++) {
        await Bun.sleep(15 + Math.random() * 10);
        try {
          if ((await db.get<{ one: number }>("SELECT 1 AS one"))?.one === 1) ok++;
        } catch (err) {
          if (!(err instanceof ConnectionLostError)) others.push(err);
        }
      }
      await settle();
      expect(others).toEqual([]);
      expect(ok).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe.skipIf(!PG_AVAILABLE)("postgres: a request whose database connection is lost", () => {
  const scratch = scratchDatabase();

  test("answers 503 `unavailable` in the contract's error body (no internals), commits nothing, and the next request works", async () => {
    const db = new PostgresDatabase(scratch.url(), { max: 1 });
    let killNext = false;
    // The storage, except that a transaction can be made to lose its connection as it starts.
    const flaky = wrapTransactions(db, async (fn, tx) => {
      if (killNext) {
        killNext = false;
        const { pid } = (await tx.get<{ pid: number }>("SELECT pg_backend_pid() AS pid"))!;
        await scratch.admin()`SELECT pg_terminate_backend(${pid})`;
      }
      return fn(tx);
    });
    try {
      const t = await createTestApp(flaky);
      const me = await t.createUser();
      killNext = true;
      const lost = await t.request("POST", "/api/projects", { token: me.token, body: { name: "never stored" } });
      expect(lost.status).toBe(503);
      expect(lost.headers.get("content-type")).toContain("application/json");
      expect(Object.keys(lost.body)).toEqual(["error"]);
      expect(lost.body.error).toEqual({ code: "unavailable", message: expect.any(String), details: {} });
      const text = JSON.stringify(lost.body);
      for (const leak of ["CONNECTION", "57P01", "postgres", "127.0.0.1", "at ", ".ts"]) expect(text).not.toContain(leak);
      await settle();

      const list = await t.request("GET", "/api/projects", { token: me.token });
      expect(list.status).toBe(200);
      expect(list.body.results.map((p: { name: string }) => p.name)).not.toContain("never stored");
      const again = await t.request("POST", "/api/projects", { token: me.token, body: { name: "stored" } });
      expect(again.status).toBe(201);
      await settle();
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe.skipIf(!PG_AVAILABLE)("postgres: the connection cut in the middle of a result, with no error from the server", () => {
  const scratch = scratchDatabase();

  /**
   * A TCP relay to Postgres that can close every connection through it at once, cleanly (a FIN),
   * without the server's "terminating connection" message: what a network failure, a proxy or a
   * reset (ECONNRESET) looks like to postgres.js. Counts the bytes the server sent.
   */
  async function relay(target: URL) {
    type Pair = { client: Bun.Socket<Pair>; server?: Bun.Socket<Pair>; pending: Uint8Array[] };
    const pairs = new Set<Pair>();
    let fromServer = 0;
    const listener = Bun.listen<Pair>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        async open(client) {
          const pair: Pair = { client, pending: [] };
          client.data = pair;
          pairs.add(pair);
          pair.server = await Bun.connect<Pair>({
            hostname: target.hostname,
            port: Number(target.port || 5432),
            socket: {
              data(_s, chunk) {
                fromServer += chunk.length;
                pair.client.write(chunk);
              },
              close() {
                pair.client.end();
              },
            },
            data: pair,
          });
          for (const chunk of pair.pending.splice(0)) pair.server.write(chunk);
        },
        data(client, chunk) {
          const pair = client.data;
          if (pair.server) pair.server.write(chunk);
          else pair.pending.push(new Uint8Array(chunk));
        },
        close(client) {
          client.data.server?.end();
          pairs.delete(client.data);
        },
      },
    });
    return {
      url: Object.assign(new URL(target.href), { hostname: "127.0.0.1", port: String(listener.port) }).href,
      received: () => fromServer,
      cut: () => {
        for (const pair of pairs) {
          pair.client.end();
          pair.server?.end();
        }
        pairs.clear();
      },
      stop: () => listener.stop(true),
    };
  }

  // postgres.js 3.4.10 keeps its row counter when a connection closes mid-result; when no error
  // message came with the loss, the reconnected connection's next statement is not failed first
  // (as it is after a terminated backend), and its result is stored with its first places empty.
  test("the pool's next result is refused as a lost connection or whole, never read with holes (no row where there is one)", async () => {
    const proxy = await relay(new URL(scratch.url()));
    const db = new PostgresDatabase(proxy.url, { max: 1 });
    try {
      expect(await db.get<{ n: number }>("SELECT 1 AS n")).toEqual({ n: 1 });
      const streaming = db.all("SELECT g, repeat('x', 2000) AS pad, pg_sleep(0.002) FROM generate_series(1, 5000) AS g");
      const before = proxy.received();
      while (proxy.received() - before < 400_000) await new Promise((res) => setTimeout(res, 5)); // about 200 rows have arrived
      proxy.cut();
      expect(await streaming.then(() => null, (e: unknown) => e)).toBeInstanceOf(ConnectionLostError);
      const next = await db.all<{ n: number }>("SELECT 1 AS n UNION ALL SELECT 2").then((rows) => rows, (e: unknown) => e);
      if (!(next instanceof ConnectionLostError)) expect(next).toEqual([{ n: 1 }, { n: 2 }]);
      expect(await db.get<{ n: number }>("SELECT 3 AS n")).toEqual({ n: 3 });
      await settle();
    } finally {
      await db.close();
      proxy.stop();
    }
  }, 60_000);
});
