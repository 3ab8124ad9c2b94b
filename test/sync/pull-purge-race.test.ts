/**
 * A tombstone purge that commits in the middle of an incremental pull: the pull must either
 * deliver the purged tombstone (it read it before the purge) or answer 410 `reset_required` —
 * never a page that silently skips it.
 *
 * The interleaving is constructed deterministically: the pull runs over a Database wrapper that
 * holds its k-th SELECT until every SELECT issued before it has finished, then runs the purge
 * (committed), then lets that SELECT and every later statement through. Every k is tried, from
 * "before the pull's first read" to "after its last one".
 */
import { beforeAll, expect, test } from "bun:test";
import type { Database, Executor, RawValue, SqlValue, Tx } from "../../src/db/types";
import { DomainError } from "../../src/errors";
import { silentLogger } from "../../src/log/logger";
import { SyncService } from "../../src/sync/service";
import { systemClock } from "../../src/time";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { pullParsed, taskData, twoDevices } from "./helpers";

/** `inner`, except that its `at`-th SELECT (0-based) waits for the SELECTs before it, then for `purge`, and so does everything after it. */
class PurgeBeforeSelect implements Database {
  readonly dialect: Database["dialect"];
  readonly label = "purge-injecting wrapper";
  /** SELECTs seen so far. */
  selects = 0;
  /** Whether the purge ran (false: the pull issued no more than `at` SELECTs). */
  purged = false;
  private readonly inFlight: Promise<unknown>[] = [];
  private gate: Promise<void> | null = null;

  constructor(
    private readonly inner: Database,
    private readonly at: number,
    private readonly purge: () => Promise<void>,
  ) {
    this.dialect = inner.dialect;
  }

  private async through<T>(sql: string, call: () => Promise<T>): Promise<T> {
    if (/^\s*SELECT\b/i.test(sql) && this.selects++ === this.at) {
      const before = [...this.inFlight];
      this.gate = (async () => {
        await Promise.allSettled(before);
        await this.purge();
        this.purged = true;
      })();
    }
    if (this.gate) await this.gate;
    const p = call();
    this.inFlight.push(p.catch(() => {}));
    return p;
  }

  get monitor() {
    return this.inner.monitor;
  }
  storageFullAt(): Date | null {
    return this.inner.storageFullAt();
  }
  all<T>(sql: string, params?: SqlValue[]): Promise<T[]> {
    return this.through(sql, () => this.inner.all<T>(sql, params));
  }
  get<T>(sql: string, params?: SqlValue[]): Promise<T | undefined> {
    return this.through(sql, () => this.inner.get<T>(sql, params));
  }
  verify(): void {
    this.inner.verify();
  }
  rawRows(sql: string, params?: SqlValue[]): Promise<RawValue[][]> {
    return this.through(sql, () => this.inner.rawRows(sql, params));
  }
  run(sql: string, params?: SqlValue[]): Promise<{ changes: number }> {
    return this.through(sql, () => this.inner.run(sql, params));
  }
  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.inner.transaction(fn);
  }
  /** Not one snapshot: the pull reads no list page (src/db/page.ts), the one user of it. */
  readSnapshot<T>(fn: (exec: Executor) => Promise<T>): Promise<T> {
    return fn(this);
  }
  backup(target: string): Promise<void> {
    return this.inner.backup(target);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

forEachDialect("pull racing a tombstone purge", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db(), { config: { tombstoneRetentionDays: 0 } });
  });

  test("a purge committing between any two reads of a pull: the tombstone is delivered or the pull answers 410, never skipped", async () => {
    const outcomes: string[] = [];
    for (let at = 0; ; at++) {
      // A task B has pulled, then deleted by A: its tombstone lies after B's cursor.
      const { a, b, ub } = await twoDevices(t);
      const keep = a.create("task", taskData({ title: "stays" }));
      const gone = a.create("task", taskData({ title: "deleted, then purged" }));
      await a.push(keep, gone);
      await b.pullAll();
      expect((await a.push1(a.delete("task", gone.entity_id))).status).toBe("applied");
      await a.push1(a.update("task", keep.entity_id, { title: "edited after the delete" }));

      const wrapped = new PurgeBeforeSelect(db(), at, async () => {
        const run = await t.services.jobs.run("cleanup-tombstones");
        expect(run.ok).toBe(true);
        expect(run.result!.tasks).toBeGreaterThanOrEqual(1);
      });
      const sync = new SyncService({ db: wrapped, clock: systemClock, log: silentLogger });
      let outcome: string;
      try {
        const page = await pullParsed(sync, { userId: ub.user.id, orgId: ub.org.id, deviceId: b.id }, { device_id: b.id, cursor: b.cursor! });
        // A page may be answered only if it carries the tombstone (read before the purge committed).
        outcome = page.changes.some((c) => c.entity_id === gone.entity_id && c.op === "delete") ? "delivered" : "skipped";
      } catch (err) {
        outcome = err instanceof DomainError ? err.code : String(err);
      } finally {
        await sync.flushLog();
      }
      if (!wrapped.purged) {
        // The pull issued `at` SELECTs or fewer: the purge ran after it (now, for the next round's sake).
        await t.services.jobs.run("cleanup-tombstones");
        expect(`after the pull: ${outcome}`).toBe("after the pull: delivered");
        break;
      }
      outcomes.push(`purge before SELECT #${at}: ${outcome}`);
    }
    // The purge before the first read was exercised (a pull reads its page and the feed state in one
    // statement; the state comes in a second one only after an empty page).
    expect(outcomes.length).toBeGreaterThanOrEqual(1);
    expect(outcomes[0]).toBe("purge before SELECT #0: reset_required");
    expect(outcomes.filter((o) => !o.endsWith(": reset_required") && !o.endsWith(": delivered"))).toEqual([]);
  });
});
