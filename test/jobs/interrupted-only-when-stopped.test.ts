/**
 * A cleanup run says `interrupted` only when a stop left work undone: a stop asked after its last
 * statement (nothing left to do when the signal is next read) is no interruption, and
 * `taskmgr jobs run` would otherwise exit 1 saying part of the work was left (found by review).
 */
import { beforeEach, expect, test } from "bun:test";
import { cleanupSyncLogs } from "../../src/jobs/cleanup-sync-logs";
import { cleanupTombstones } from "../../src/jobs/cleanup-tombstones";
import type { Database } from "../../src/db/types";
import type { Job, JobContext } from "../../src/jobs/types";
import { silentLogger } from "../../src/log/logger";
import { testConfig } from "../support/app";
import { forEachDialect } from "../support/db";
import { resetTables } from "./seed";

/**
 * `db` whose first DELETE statement, once it has run, aborts `stop`: with nothing to purge, the last
 * step of either job (the exactly-once rows; each log table of the one batch), so the stop comes when
 * no work is left.
 */
function stopAtFirstDelete(db: Database, stop: AbortController): Database {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        if (typeof args[0] === "string" && /^\s*DELETE/i.test(args[0])) void Promise.resolve(result).then(() => stop.abort());
        return result;
      };
    },
  });
}

forEachDialect("cleanup jobs: interrupted only when stopped with work left", ({ db }) => {
  beforeEach(() => resetTables(db()));
  const ctx = (signal: AbortSignal, database = db()): JobContext => ({
    db: database,
    config: testConfig(),
    log: silentLogger,
    now: new Date(),
    scheduledFor: null,
    batchSize: 100,
    signal,
    flushSyncLog: async () => {},
  });

  test.each([cleanupTombstones, cleanupSyncLogs].map((j): [string, Job] => [j.name, j]))("%s: a stop asked during its last statement is no interruption; one asked before it started is", async (_name, job) => {
    const stop = new AbortController();
    expect((await job.run(ctx(stop.signal, stopAtFirstDelete(db(), stop)))).interrupted).toBe(false);
    expect(stop.signal.aborted).toBe(true);
    expect((await job.run(ctx(AbortSignal.abort()))).interrupted).toBe(true);
  });
});
