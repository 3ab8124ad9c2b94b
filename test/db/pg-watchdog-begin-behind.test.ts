/**
 * Postgres: a transaction's BEGIN that postgres.js pipelined behind a long statement of the pool (every
 * connection busy) waits its turn on a working connection: the watchdog must not take it for one
 * waiting on a connection that never connects (src/db/pg-watchdog.ts), replace the pool, and so end
 * the long statement with the old pool.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PostgresDatabase } from "../../src/db/postgres";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";

/** The watchdog's delay in this test (10 s in service). */
const STUCK_AFTER_MS = 1_000;

describe.skipIf(!PG_AVAILABLE)("postgres: a BEGIN pipelined behind a long statement", () => {
  let handle: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    handle = await createTestDatabase("postgres", { migrate: false });
  });
  afterAll(() => handle.drop());

  test("waits its turn: the long statement and the transaction both succeed", async () => {
    const db = new PostgresDatabase(handle.url, { max: 2, stuckAfterMs: STUCK_AFTER_MS });
    try {
      await Promise.all([db.get("SELECT 1"), db.get("SELECT 2")]); // both connections open
      const long = db.get<{ slept: string }>("SELECT pg_sleep(8)::text AS slept").then(
        (v) => ({ value: v }),
        (error: unknown) => ({ error }),
      );
      const short = db.get("SELECT pg_sleep(0.3)");
      let ran = 0;
      const tx = db.transaction(async (t) => {
        ran++;
        return t.get<{ one: number }>("SELECT 1 AS one");
      }); // every connection busy: pipelined behind the long statement
      await short;
      expect(await db.get<{ two: number }>("SELECT 2 AS two")).toEqual({ two: 2 }); // a later statement, sent and answered
      expect(await tx).toEqual({ one: 1 });
      expect(await long).toEqual({ value: { slept: "" } });
      expect(ran).toBe(1);
    } finally {
      await db.close();
    }
  }, 30_000);
});
