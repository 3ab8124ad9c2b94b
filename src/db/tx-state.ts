import type { Executor, Flusher } from "./types";

/**
 * Bookkeeping shared by both dialects' transactions: queued flush items and
 * after-commit callbacks, truncated when a savepoint rolls back.
 */
export class TxState {
  private queued: { flush: Flusher<unknown>; item: unknown }[] = [];
  private after: (() => void)[] = [];

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
      for (const [flush, items] of ordered) await flush(exec, items);
    }
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
