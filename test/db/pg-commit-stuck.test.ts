/**
 * Postgres: the statements that postgres.js sends by itself in a transaction — its COMMIT once the
 * transaction's function returned, its ROLLBACK once it threw, a savepoint's SAVEPOINT and ROLLBACK
 * TO — are bounded like the
 * transaction's statements (src/db/pg-watchdog.ts): a connection that stops making
 * progress right then answers as a lost connection, in bounded time, instead of holding the
 * transaction (and its request) until TCP gives up.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ConnectionLostError } from "../../src/db/errors";
import { PostgresDatabase } from "../../src/db/postgres";
import { runFinal } from "../../src/db/tx-state";
import type { Executor, Flusher } from "../../src/db/types";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";
import { type PgProxy, startPgProxy } from "../support/pg-proxy";

/** The watchdog's delay in this test (10 s in service). */
const STUCK_AFTER_MS = 1_000;

/** What `p` settles with, or "hung" when it has not within 12 s. */
async function within<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown } | "hung"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((r) => (timer = setTimeout(r, 12_000, "hung")));
  try {
    return await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(!PG_AVAILABLE)("postgres: a connection that stops making progress at the transaction's own COMMIT", () => {
  let handle: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    handle = await createTestDatabase("postgres", { migrate: false });
    await handle.db.exec("CREATE TABLE commit_probe (id TEXT PRIMARY KEY)");
  });
  /**
   * The pools' closes, awaited once after all tests: a pool whose connection froze ends only after
   * its 5 s grace (src/db/postgres.ts), which each test would otherwise wait out in turn.
   */
  const closing: Promise<void>[] = [];
  const release = async (db: PostgresDatabase, proxy: PgProxy) => {
    closing.push(db.close());
    await proxy.close();
  };
  afterAll(async () => {
    await Promise.all(closing);
    await handle.drop();
  });

  test("answers as a lost connection in bounded time, nothing of it committed", async () => {
    const proxy = await startPgProxy();
    const db = new PostgresDatabase(proxy.url(handle.url), { max: 1, stuckAfterMs: STUCK_AFTER_MS });
    try {
      const outcome = await within(
        db.transaction(async (tx) => {
          await tx.run("INSERT INTO commit_probe (id) VALUES (?)", ["frozen-at-commit"]);
          proxy.freeze(); // what postgres.js sends next, its COMMIT, never arrives
        }),
      );
      expect(outcome).not.toBe("hung");
      expect((outcome as { error: unknown }).error).toBeInstanceOf(ConnectionLostError);
      expect(await handle.db.all("SELECT id FROM commit_probe")).toEqual([]);
    } finally {
      await release(db, proxy);
    }
  }, 30_000);

  test("at the ROLLBACK after the transaction's function threw: answers its failure in bounded time, nothing committed", async () => {
    const proxy = await startPgProxy();
    const db = new PostgresDatabase(proxy.url(handle.url), { max: 1, stuckAfterMs: STUCK_AFTER_MS });
    try {
      const outcome = await within(
        db.transaction(async (tx) => {
          await tx.run("INSERT INTO commit_probe (id) VALUES (?)", ["frozen-at-rollback"]);
          proxy.freeze();
          throw new Error("the transaction's own failure");
        }),
      );
      expect(outcome).not.toBe("hung");
      expect(String((outcome as { error: unknown }).error)).toContain("the transaction's own failure");
      expect(await handle.db.all("SELECT id FROM commit_probe WHERE id = 'frozen-at-rollback'")).toEqual([]);
    } finally {
      await release(db, proxy);
    }
  }, 30_000);

  test("at a SAVEPOINT or its ROLLBACK TO (sent by postgres.js too): answers as a lost connection in bounded time, nothing committed", async () => {
    for (const at of ["savepoint", "rollback-to"] as const) {
      const proxy = await startPgProxy();
      const db = new PostgresDatabase(proxy.url(handle.url), { max: 1, stuckAfterMs: STUCK_AFTER_MS });
      try {
        const outcome = await within(
          db.transaction(async (tx) => {
            await tx.run("INSERT INTO commit_probe (id) VALUES (?)", [`frozen-at-${at}`]);
            if (at === "savepoint") proxy.freeze();
            await tx
              .savepoint(async () => {
                if (at === "rollback-to") proxy.freeze();
                throw new Error("rolled back to its savepoint");
              })
              .catch(() => {});
          }),
        );
        expect(outcome).not.toBe("hung");
        expect((outcome as { error: unknown }).error).toBeInstanceOf(ConnectionLostError);
      } finally {
        await release(db, proxy);
      }
    }
    expect(await handle.db.all("SELECT id FROM commit_probe WHERE id LIKE 'frozen-at-%'")).toEqual([]);
  }, 60_000);

  test("after a final statement whose COMMIT landed: answered committed, in bounded time", async () => {
    const proxy = await startPgProxy();
    const db = new PostgresDatabase(proxy.url(handle.url), { max: 1, stuckAfterMs: STUCK_AFTER_MS });
    const final: Flusher<string> = Object.assign(
      async (exec: Executor, ids: string[]) => {
        await runFinal(exec, "INSERT INTO commit_probe (id) VALUES (?)", ids);
        await Bun.sleep(100); // the COMMIT sent behind it is answered meanwhile
        proxy.freeze(); // postgres.js' own COMMIT (of the empty transaction opened behind) never arrives
      },
      { last: true },
    );
    try {
      const outcome = await within(
        db.transaction(async (tx) => {
          tx.enqueue(final, "landed-then-frozen");
          return "answer";
        }),
      );
      expect(outcome).toEqual({ value: "answer" });
      expect(await handle.db.all("SELECT id FROM commit_probe WHERE id = 'landed-then-frozen'")).toEqual([{ id: "landed-then-frozen" }]);
    } finally {
      await release(db, proxy);
    }
  }, 30_000);
});
