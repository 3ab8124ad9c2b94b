import type { Executor, Flusher, SqlValue } from "./types";

/**
 * An executor that can send a transaction's last statement together with its COMMIT (a Postgres
 * transaction during the flush of its `last` flushers): one round trip for both, so the row locks
 * that statement takes — the organization's feed counter — are held only while the database runs
 * it and commits, never while the server process is busy with other requests.
 */
export interface FinalStatementExecutor extends Executor {
  runFinal(sql: string, params?: SqlValue[]): Promise<{ changes: number }>;
}

/**
 * Runs `sql` as the LAST statement of the transaction that `exec` belongs to: nothing may be run
 * through it afterwards. Where the executor supports it the COMMIT is pipelined right behind the
 * statement (see {@link FinalStatementExecutor}); otherwise this is a plain `run`.
 */
export function runFinal(exec: Executor, sql: string, params: SqlValue[] = []): Promise<{ changes: number }> {
  const final = (exec as Partial<FinalStatementExecutor>).runFinal;
  return final ? final.call(exec, sql, params) : exec.run(sql, params);
}

/**
 * Bookkeeping shared by both dialects' transactions: queued flush items and
 * after-commit callbacks, truncated when a savepoint rolls back.
 */
export class TxState {
  private queued: { flush: Flusher<unknown>; item: unknown }[] = [];
  private after: (() => void)[] = [];
  /** True while the last flusher of the transaction runs (and nothing is queued after it): it may send the final statement. */
  private finalFlush = false;

  enqueue<T>(flush: Flusher<T>, item: T): void {
    this.queued.push({ flush: flush as Flusher<unknown>, item });
  }

  onAfterCommit(fn: () => void): void {
    this.after.push(fn);
  }

  /** A position to roll back to. */
  mark(): [number, number] {
    return [this.queued.length, this.after.length];
  }

  rollbackTo([q, a]: [number, number]): void {
    this.queued.length = q;
    this.after.length = a;
  }

  /** Calls every flusher once with its items, in order of first use (those marked `last` after the others). */
  async flush(exec: Executor): Promise<void> {
    while (this.queued.length > 0) {
      const groups = new Map<Flusher<unknown>, unknown[]>();
      for (const { flush, item } of this.queued.splice(0)) {
        const list = groups.get(flush);
        if (list) list.push(item);
        else groups.set(flush, [item]);
      }
      const ordered = [...groups].sort(([a], [b]) => Number(a.last === true) - Number(b.last === true));
      for (const [i, [flush, items]] of ordered.entries()) {
        this.finalFlush = flush.last === true && i === ordered.length - 1 && this.queued.length === 0;
        try {
          await flush(exec, items);
        } finally {
          this.finalFlush = false;
        }
      }
    }
  }

  /** Whether the running flusher is the transaction's last one (see {@link runFinal}). */
  get inFinalFlush(): boolean {
    return this.finalFlush;
  }

  runAfterCommit(): void {
    for (const fn of this.after.splice(0)) {
      try {
        fn();
      } catch {
        // The transaction is committed; a failing side effect must not turn it into an error.
      }
    }
  }
}
