/**
 * The Postgres statement watchdog's decisions (src/db/pg-watchdog.ts), with stand-ins for postgres.js'
 * queries and the database's answer: what it gives up on, and what it leaves alone.
 */
import { describe, expect, test } from "bun:test";
import type postgres from "postgres";
import { StatementWatchdog, StuckStatementError } from "../../src/db/pg-watchdog";

const STUCK_AFTER_MS = 60;

/** A stand-in for a postgres.js query: `state` is set once "sent" (with its backend's pid). */
function fakeQuery(): { q: postgres.PendingQuery<postgres.Row[]>; send: (pid: number) => void; cancelled: () => boolean; answer: Promise<string>; resolve: (v: string) => void } {
  let cancelled = false;
  let resolve!: (v: string) => void;
  const answer = new Promise<string>((r) => (resolve = r));
  const q = { state: null as { pid: number } | null, cancel: () => (cancelled = true) };
  return { q: q as unknown as postgres.PendingQuery<postgres.Row[]>, send: (pid) => (q.state = { pid }), cancelled: () => cancelled, answer, resolve };
}

/** What `p` settled with so far ("waiting" if nothing yet). */
function peek<T>(p: Promise<T>): () => T | { error: unknown } | "waiting" {
  let out: T | { error: unknown } | "waiting" = "waiting";
  p.then(
    (v) => (out = v),
    (error: unknown) => (out = { error }),
  );
  return () => out;
}

describe("postgres statement watchdog", () => {
  test("a statement not sent while a later one was: given up on as unsent (cancelled, to be sent again), its pool replaced", async () => {
    const pool = {} as postgres.Sql;
    const replaced: postgres.Sql[] = [];
    const dog = new StatementWatchdog(STUCK_AFTER_MS, async () => new Set([7]), (p) => replaced.push(p));
    try {
      const a = fakeQuery();
      const b = fakeQuery();
      const aOut = peek(dog.guard(pool, a.q, a.answer, false));
      dog.guard(pool, b.q, b.answer, false).catch(() => {});
      b.send(7); // the later statement went out on a working connection; `a` waits for one that never connects
      await Bun.sleep(STUCK_AFTER_MS * 4);
      expect(aOut()).toEqual({ error: expect.any(StuckStatementError) });
      expect(((aOut() as { error: StuckStatementError }).error).unsent).toBe(true);
      expect(a.cancelled()).toBe(true);
      expect(replaced).toEqual([pool]);
    } finally {
      dog.close();
    }
  });

  test("a statement found unsent that is sent while the database is asked about the others: left alone", async () => {
    const pool = {} as postgres.Sql;
    const replaced: postgres.Sql[] = [];
    const a = fakeQuery();
    let asked = 0;
    const dog = new StatementWatchdog(
      STUCK_AFTER_MS,
      async () => {
        asked++;
        a.send(8); // its connection came up meanwhile
        return new Set([7, 8]);
      },
      (p) => replaced.push(p),
    );
    try {
      const b = fakeQuery();
      const aOut = peek(dog.guard(pool, a.q, a.answer, false));
      dog.guard(pool, b.q, b.answer, false).catch(() => {});
      b.send(7);
      await Bun.sleep(STUCK_AFTER_MS * 4);
      expect(asked).toBeGreaterThan(0);
      expect(aOut()).toBe("waiting");
      expect(a.cancelled()).toBe(false);
      expect(replaced).toEqual([]);
      a.resolve("rows");
      await Bun.sleep(1);
      expect(aOut()).toBe("rows");
    } finally {
      dog.close();
    }
  });

  test("a sent statement whose backend the database says is running is left alone, however long; one whose backend is gone is given up on as lost", async () => {
    const pool = {} as postgres.Sql;
    const replaced: postgres.Sql[] = [];
    let running = new Set([7]);
    const dog = new StatementWatchdog(STUCK_AFTER_MS, async () => running, (p) => replaced.push(p));
    try {
      const a = fakeQuery();
      a.send(7);
      const aOut = peek(dog.guard(pool, a.q, a.answer, false));
      await Bun.sleep(STUCK_AFTER_MS * 4);
      expect(aOut()).toBe("waiting");
      expect(replaced).toEqual([]);
      running = new Set();
      await Bun.sleep(STUCK_AFTER_MS * 2);
      expect(aOut()).toEqual({ error: expect.any(StuckStatementError) });
      expect(((aOut() as { error: StuckStatementError }).error).unsent).toBe(false);
      expect(a.cancelled()).toBe(false);
      expect(replaced).toEqual([pool]);
    } finally {
      dog.close();
    }
  });

  test("a sent statement the database cannot be asked about (no answer, or a pooler between) is left alone", async () => {
    const pool = {} as postgres.Sql;
    const replaced: postgres.Sql[] = [];
    const dog = new StatementWatchdog(STUCK_AFTER_MS, async () => null, (p) => replaced.push(p));
    try {
      const a = fakeQuery();
      a.send(7);
      const aOut = peek(dog.guard(pool, a.q, a.answer, false));
      await Bun.sleep(STUCK_AFTER_MS * 4);
      expect(aOut()).toBe("waiting");
      expect(replaced).toEqual([]);
    } finally {
      dog.close();
    }
  });

  test("a BEGIN not started while an older statement of its pool still runs (postgres.js may have pipelined it behind): left alone until that one is answered", async () => {
    const pool = {} as postgres.Sql;
    const replaced: postgres.Sql[] = [];
    const dog = new StatementWatchdog(STUCK_AFTER_MS, async () => new Set([7]), (p) => replaced.push(p));
    try {
      const long = fakeQuery();
      long.send(7);
      dog.guard(pool, long.q, long.answer, false).catch(() => {});
      let abandoned: StuckStatementError | null = null;
      const begin = dog.beginning(pool, (err) => (abandoned = err));
      const later = fakeQuery();
      dog.guard(pool, later.q, later.answer, false).catch(() => {});
      later.send(8); // on the pool's other connection, and answered
      later.resolve("rows");
      await Bun.sleep(STUCK_AFTER_MS * 4);
      expect(abandoned).toBeNull();
      expect(replaced).toEqual([]);
      long.resolve("rows"); // the BEGIN was not behind it after all: it waits for a connection that never connects
      await Bun.sleep(STUCK_AFTER_MS * 4);
      expect(abandoned).toEqual(expect.any(StuckStatementError));
      expect(abandoned!.unsent).toBe(true);
      expect(replaced).toEqual([pool]);
      begin.settled();
    } finally {
      dog.close();
    }
  });

  test("a transaction's statement waiting behind its own is left alone while the transaction is open", async () => {
    const pool = {} as postgres.Sql;
    const replaced: postgres.Sql[] = [];
    const dog = new StatementWatchdog(STUCK_AFTER_MS, async () => new Set([7]), (p) => replaced.push(p));
    try {
      const begin = dog.beginning(pool, () => {});
      begin.started();
      const a = fakeQuery();
      const aOut = peek(dog.guard(pool, a.q, a.answer, true));
      const later = fakeQuery();
      dog.guard(pool, later.q, later.answer, false).catch(() => {});
      later.send(7);
      await Bun.sleep(STUCK_AFTER_MS * 4);
      expect(aOut()).toBe("waiting");
      expect(replaced).toEqual([]);
      begin.ended();
    } finally {
      dog.close();
    }
  });

  test("a statement the database is still running is asked about at most once per stuckAfterMs, not at every scan (each check opens a connection)", async () => {
    const pool = {} as postgres.Sql;
    let asked = 0;
    const dog = new StatementWatchdog(
      STUCK_AFTER_MS,
      async () => {
        asked++;
        return new Set([9]); // still running: progress
      },
      () => {},
    );
    try {
      const long = fakeQuery();
      const guarded = dog.guard(pool, long.q, long.answer, false);
      const out = peek(guarded);
      long.send(9);
      const t0 = performance.now();
      await Bun.sleep(STUCK_AFTER_MS * 20);
      const elapsed = performance.now() - t0;
      expect(out()).toBe("waiting");
      expect(asked).toBeGreaterThan(0);
      expect(asked).toBeLessThanOrEqual(Math.ceil(elapsed / STUCK_AFTER_MS));
      long.resolve("done");
      expect(await guarded).toBe("done");
    } finally {
      dog.close();
    }
  });
});
