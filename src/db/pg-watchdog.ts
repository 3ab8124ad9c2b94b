import type postgres from "postgres";
import { ConnectionLostError } from "./errors";

/**
 * A statement that the watchdog gave up on ({@link StatementWatchdog}): its connection never
 * connected, or no longer makes progress. `unsent` when postgres.js provably never sent it (it is
 * then cancelled in the pool it waited in, which can no longer send it: it may be sent again).
 */
export class StuckStatementError extends ConnectionLostError {
  constructor(readonly unsent: boolean) {
    super(unsent ? "the database connection could not be made (a statement waited for it too long)" : "the database connection was lost (a statement had no answer and its connection made no progress)");
  }
}

/**
 * What the watchdog asks the database: which of these backends (pids) are making progress — running
 * something, or idle for less than `idleMs` — (null when it cannot tell: no answer, or a pooler
 * such as PgBouncer between, whose backend keys are not the server's pids).
 */
export type ProgressCheck = (pids: number[], idleMs: number) => Promise<Set<number> | null>;

/** One statement (or a transaction's BEGIN) waiting for its answer. */
interface Waiting {
  readonly seq: number;
  readonly since: number;
  /** The pool it was handed to. */
  readonly pool: postgres.Sql;
  /** Its postgres.js query (none for a BEGIN or a COMMIT, sent by postgres.js itself). */
  readonly query: postgres.PendingQuery<postgres.Row[]> | null;
  /** The backend it was sent to, once sent (null when unknown); none for a BEGIN, whose connection is not known. */
  readonly backend: (() => number | null) | null;
  /** Whether the statement was sent (a BEGIN: once its transaction started). */
  sent(): boolean;
  /** Answers it with `err` (the wait rejects; a later answer of postgres.js is ignored). */
  abandon(err: StuckStatementError): void;
}

/** How often the watchdog looks at the statements waiting. */
const SCAN_INTERVAL_MS = 1_000;

/**
 * Bounds every statement of a postgres.js pool: none waits for good. postgres.js 3.4.10 can leave a
 * statement unanswered for ever — its connection reconnecting without end after the server closed
 * it during startup (porsager/postgres#1193), or a write it never makes — and its own timeouts do
 * not fire then. Statements are registered while they wait (no timer each: one scan a second, which
 * does nothing until one has waited `stuckAfterMs`, longer than the connect timeout). Then:
 *
 * - a statement sent (on a backend) is stuck when the database says its backend is gone, or idle for
 *   `stuckAfterMs` while the statement waits; a backend still running something (a long statement,
 *   a lock wait) is progress, however long;
 * - a statement not sent yet is stuck when the pool sent a later statement instead (it is not
 *   waiting its turn: it waits for a connection that never connects; not said of a BEGIN while an
 *   older statement of its pool still runs: its sending is not seen, and it may be pipelined behind
 *   that one), or when the pool made no progress meanwhile: nothing answered, nothing sent waiting,
 *   no transaction open.
 *
 * The pool of a stuck statement is replaced (`replace`), and the statements waiting on it are
 * answered with {@link StuckStatementError}: the stuck ones that were sent, as lost connections; every
 * unsent one of that pool is first cancelled there (postgres.js then never sends it), as `unsent`.
 */
export class StatementWatchdog {
  private readonly waiting = new Set<Waiting>();
  /** When each sent statement was last asked about ({@link judge}). */
  private readonly checkedAt = new WeakMap<Waiting, number>();
  private seq = 0;
  /** The highest `seq` of a pool statement known sent. */
  private lastSentSeq = 0;
  /** When a statement last had an answer from the database (or a BEGIN started). */
  private lastProgress = performance.now();
  /** Transactions started and not ended. */
  private openTransactions = 0;
  private scanning = false;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly stuckAfterMs: number,
    private readonly check: ProgressCheck,
    /** Replaces `pool` with a fresh one, if it is still the current one. */
    private readonly replace: (pool: postgres.Sql) => void,
  ) {
    this.timer = setInterval(() => void this.scan(), Math.min(SCAN_INTERVAL_MS, stuckAfterMs / 2));
    this.timer.unref?.();
  }

  /**
   * `answer` (the answer of `q`, handed to `pool` or to a transaction of it: `inTransaction`), unless
   * the watchdog answers first ({@link StuckStatementError}).
   */
  guard<R>(pool: postgres.Sql, q: postgres.PendingQuery<postgres.Row[]>, answer: PromiseLike<R>, inTransaction: boolean): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      // A transaction's statements wait their turn on its connection, not in the pool's queue: no `seq`.
      const w: Waiting = { seq: inTransaction ? 0 : ++this.seq, since: performance.now(), pool, query: q, backend: () => backendPid(q), sent: () => sentQuery(q), abandon: reject };
      this.waiting.add(w);
      answer.then(
        (rows) => {
          this.settle(w);
          resolve(rows);
        },
        (err: unknown) => {
          this.settle(w);
          reject(err);
        },
      );
    });
  }

  /**
   * Registers a transaction's BEGIN until `started` says the transaction started; `abandon` answers it.
   * Returns the function to call once it started or failed, and the function to call when it ended.
   */
  beginning(pool: postgres.Sql, abandon: (err: StuckStatementError) => void): { started: () => void; settled: () => void; ended: () => void } {
    let started = false;
    const w: Waiting = {
      seq: ++this.seq,
      since: performance.now(),
      pool,
      query: null,
      backend: null,
      sent: () => started,
      abandon,
    };
    this.waiting.add(w);
    let open = false;
    return {
      started: () => {
        started = true;
        open = true;
        this.openTransactions++;
        this.progressed(w);
        this.waiting.delete(w);
      },
      settled: () => void this.waiting.delete(w),
      ended: () => {
        if (open) this.openTransactions--;
        open = false;
      },
    };
  }

  /**
   * Registers a statement that postgres.js sends by itself in a transaction (its COMMIT once the
   * transaction's function returned, a savepoint's SAVEPOINT or ROLLBACK TO), on the connection of
   * backend `pid` (the transaction's statements'), until the function returned is called: it is
   * judged as a sent statement, and `abandon` answers it when found stuck.
   */
  driverStatement(pool: postgres.Sql, pid: number | null, abandon: (err: StuckStatementError) => void): () => void {
    const w: Waiting = { seq: 0, since: performance.now(), pool, query: null, backend: () => pid, sent: () => true, abandon };
    this.waiting.add(w);
    return () => void this.waiting.delete(w);
  }

  private settle(w: Waiting): void {
    if (this.waiting.delete(w) && w.sent()) this.progressed(w);
  }

  private progressed(w: Waiting): void {
    this.lastProgress = performance.now();
    if (w.seq > this.lastSentSeq) this.lastSentSeq = w.seq;
  }

  /** Looks for stuck statements (one scan at a time; nothing to do unless one waited `stuckAfterMs`). */
  private async scan(): Promise<void> {
    if (this.scanning || this.waiting.size === 0) return;
    const now = performance.now();
    let old = false;
    for (const w of this.waiting) {
      if (w.sent() && w.seq > this.lastSentSeq) this.lastSentSeq = w.seq;
      if (now - w.since >= this.stuckAfterMs) old = true;
    }
    if (!old) return;
    this.scanning = true;
    try {
      await this.judge(now);
    } finally {
      this.scanning = false;
    }
  }

  private async judge(now: number): Promise<void> {
    const old = [...this.waiting].filter((w) => now - w.since >= this.stuckAfterMs);
    // A sent statement is asked about once per `stuckAfterMs` (each check opens a connection): one
    // checked since is taken as still making progress.
    const sentOld = old.filter((w) => w.backend !== null && w.sent() && now - (this.checkedAt.get(w) ?? Number.NEGATIVE_INFINITY) >= this.stuckAfterMs);
    for (const w of sentOld) this.checkedAt.set(w, now);
    const pids = sentOld.map((w) => w.backend!());
    const progressing = pids.length > 0 ? await this.check([...new Set(pids.filter((p) => p !== null))] as number[], this.stuckAfterMs) : new Set<number>();
    const stuck = new Set<Waiting>();
    sentOld.forEach((w, i) => {
      // No answer from the database: nothing is known (a network partition ends in the socket's keepalive).
      if (progressing !== null && !progressing.has(pids[i]!)) stuck.add(w);
    });
    // Whether the pool is at work: a statement the pool's connections may still be serving (sent, and
    // not found stuck), an open transaction, or an answer lately. A statement not sent waits its turn then.
    const busy =
      this.openTransactions > 0 || now - this.lastProgress < this.stuckAfterMs || [...this.waiting].some((w) => w.backend !== null && w.sent() && !stuck.has(w));
    for (const w of old) {
      if (w.sent()) continue;
      if ((w.seq > 0 && w.seq < this.lastSentSeq && !this.mayWaitBehind(w, stuck)) || !busy) stuck.add(w);
    }
    const pending = [...stuck].filter((w) => this.waiting.has(w));
    if (pending.length === 0) return;
    for (const pool of new Set(pending.map((w) => w.pool))) {
      this.replace(pool);
      for (const w of [...this.waiting]) {
        if (w.pool !== pool) continue;
        // The pool's own queue is not served once it ends: what waits there is sent again on the fresh
        // pool. A transaction's statement waits behind its own, which the old pool still serves a while.
        if (!w.sent() && (w.seq > 0 || stuck.has(w))) {
          this.waiting.delete(w);
          w.query?.cancel();
          w.abandon(new StuckStatementError(true));
        } else if (stuck.has(w)) {
          this.waiting.delete(w);
          w.abandon(new StuckStatementError(false));
        }
      }
    }
  }

  /**
   * Whether `w`, a BEGIN not answered yet, may be waiting its turn on a working connection: postgres.js
   * pipelines a BEGIN behind the statements of a busy connection when every connection is busy, and
   * it is sent then, unseen (only its transaction's start shows). So while an older statement of its
   * pool is still running (sent, not found stuck), a later one sent is no sign that it waits for a
   * connection that never connects: given up on, the pool replaced would end that statement.
   */
  private mayWaitBehind(w: Waiting, stuck: ReadonlySet<Waiting>): boolean {
    if (w.query !== null) return false;
    for (const o of this.waiting) if (o.pool === w.pool && o.seq > 0 && o.seq < w.seq && o.query !== null && o.sent() && !stuck.has(o)) return true;
    return false;
  }

  /** Stops the scans. */
  close(): void {
    clearInterval(this.timer);
  }
}

/** Whether postgres.js sent `q` (it sets `state` when it does). */
function sentQuery(q: postgres.PendingQuery<postgres.Row[]>): boolean {
  return (q as unknown as { state: unknown }).state != null;
}

/** The backend a sent statement went to (postgres.js keeps the connection's backend key as the query's `state`); null if not sent. */
export function backendPid(q: postgres.PendingQuery<postgres.Row[]>): number | null {
  const state = (q as unknown as { state: { pid?: unknown } | null }).state;
  return typeof state?.pid === "number" ? state.pid : null;
}
