import postgres from "postgres";
import { ConnectionLostError } from "./errors";
import { backendPid, StatementWatchdog, StuckStatementError } from "./pg-watchdog";
import { StorageFullWatch } from "./storage-full";
import { type FinalStatementExecutor, TxState } from "./tx-state";
import type { Database, Executor, Flusher, RawValue, SqlValue, Tx } from "./types";
import { type LibpqOptions, splitLibpqParams } from "./pg-url";
import { defaultPgUser } from "./pg-user";
import { redact } from "./url";

type Sql = postgres.Sql | postgres.TransactionSql;

const placeholderCache = new Map<string, string>();

/** Rewrites the portable `?` placeholders to Postgres' `$1, $2, …` (our SQL never has `?` in literals). */
function toPgPlaceholders(sql: string): string {
  let out = placeholderCache.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    placeholderCache.set(sql, out);
  }
  return out;
}

const withValuesCache = new Map<string, boolean>();
/** An `IN` list of 64 placeholders or more. */
const LONG_IN_LIST = /\bIN \((?:\?, ){63,}\?\)/i;

/**
 * Whether a statement is sent unnamed — planned with its values on every call — instead of prepared:
 * those with a long `IN (?, …)` list (the batched lookups of `inChunks`: up to 500 ids; a push's
 * records, change ids, users and devices are read by `rowsByKey`, prepared).
 * After five calls Postgres may switch a prepared statement to its generic plan, which compares
 * every row it filters with each listed parameter in turn (a plan made with the values hashes the
 * list): while the table has no statistics yet — the first minute of a fresh database, before
 * autovacuum analyzes it — that plan filters the whole organization's rows, and a push of 500 into
 * 10,000 tasks took 600–1,200 ms instead of 150 ms. The price, a parse and postgres.js' Describe
 * round trip per call, did not show in the Postgres CPU time of batches of 500. Shorter lists stay
 * prepared: comparing a row with a few dozen values costs little, and small pushes keep their plans.
 */
function plannedWithValues(sql: string): boolean {
  let out = withValuesCache.get(sql);
  if (out === undefined) withValuesCache.set(sql, (out = LONG_IN_LIST.test(sql)));
  return out;
}

/**
 * Codes of postgres.js (`CONNECTION_CLOSED`, …), of the socket (`ECONNREFUSED`, …) and SQLSTATEs of
 * the server (class 08, `57P01` admin shutdown — a terminated backend —, `57P02`, `57P03`, `3D000`
 * database gone, `53300` too many connections, `25P03` a session ended by
 * {@link IDLE_IN_TRANSACTION_TIMEOUT_MS}, `57P05` one ended by the server's `idle_session_timeout`:
 * a pooled connection left idle, which a statement sent at that moment finds) that mean the connection is gone or cannot be made:
 * nothing is wrong with the statement, the database is unavailable.
 */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "57P01",
  "57P02",
  "57P03",
  "3D000",
  "53300",
  "25P03",
  "57P05",
]);

/** Whether a postgres.js failure means the connection is gone or cannot be made (rather than a failed statement). */
function isConnectionLoss(err: unknown): boolean {
  if (err instanceof ConnectionLostError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (CONNECTION_CODES.has(code) || code.startsWith("08"));
}

/** `err` as a {@link ConnectionLostError} (same message, the driver's error as `cause`) when it is a connection loss; unchanged otherwise. */
function storageError(err: unknown): unknown {
  if (err instanceof ConnectionLostError || !isConnectionLoss(err)) return err;
  return new ConnectionLostError(err instanceof Error ? err.message : String(err), err);
}

class PgExecutor implements Executor {
  readonly dialect = "postgres" as const;
  /** The pool, or a transaction's connection (the pool may be replaced: see {@link PostgresDatabase.recover}). */
  constructor(protected sql: Sql) {}

  /** A statement with `?` placeholders, prepared unless {@link plannedWithValues} (lazy: sent when awaited or `execute()`d). */
  protected query(text: string, params: SqlValue[]): postgres.PendingQuery<postgres.Row[]> {
    return this.sql.unsafe(toPgPlaceholders(text), params as postgres.ParameterOrJSON<never>[], { prepare: !plannedWithValues(text) });
  }
  /** What a failure of this executor's statement is thrown as: a connection loss becomes a {@link ConnectionLostError}. */
  protected failure(err: unknown): unknown {
    return storageError(err);
  }
  /** The answer of a statement made by {@link query} (bounded by the pool's watchdog where there is one). */
  protected answer(q: postgres.PendingQuery<postgres.Row[]>): Promise<postgres.RowList<postgres.Row[]>> {
    return q as unknown as Promise<postgres.RowList<postgres.Row[]>>;
  }
  /** Sends a statement (a pending query of {@link query}, or `unsafe(text)`) and awaits its rows. */
  protected async send(make: () => postgres.PendingQuery<postgres.Row[]>): Promise<postgres.RowList<postgres.Row[]>> {
    let rows: postgres.RowList<postgres.Row[]>;
    try {
      rows = await this.answer(make());
    } catch (err) {
      throw this.failure(err);
    }
    return mustBeWhole(rows);
  }
  async all<T>(text: string, params: SqlValue[] = []): Promise<T[]> {
    return (await this.send(() => this.query(text, params))) as unknown as T[];
  }
  async get<T>(text: string, params: SqlValue[] = []): Promise<T | undefined> {
    const rows = await this.all<T>(text, params);
    return rows[0];
  }
  async run(text: string, params: SqlValue[] = []): Promise<{ changes: number }> {
    const rows = await this.send(() => this.query(text, params));
    return { changes: rows.count ?? 0 };
  }
  async rawRows(text: string, params: SqlValue[] = []): Promise<RawValue[][]> {
    // `raw()` marks the same pending query (it returns `this`): each value is the bytes of its text
    // form as received (a slice of the message), or null.
    const rows = await this.send(() => this.query(text, params).raw() as unknown as postgres.PendingQuery<postgres.Row[]>);
    return rows as unknown as RawValue[][];
  }
  async exec(text: string): Promise<void> {
    await this.send(() => this.sql.unsafe(text));
  }
}

/**
 * `rows`, unless postgres.js 3.4.9 stored them with holes: a connection that closed while a result's
 * rows were arriving keeps its row counter where it was, and the reconnected connection's next
 * result is stored from that position on (`result[rows++]`), its first places empty. Read as it is,
 * a lookup would find "no row" (an ended session taken as live, an active user as inactive) and a
 * page would hold holes: such a result is refused as a lost connection (503, nothing committed on
 * its account). The statement after it is whole again (the counter restarts at each command's end).
 */
function mustBeWhole<R extends postgres.RowList<postgres.Row[]>>(rows: R): R {
  if (rows.length > 0 && !(0 in rows)) throw new ConnectionLostError("the database connection was lost (a result arrived incomplete after a reconnect)");
  return rows;
}

/**
 * The health checks' executor ({@link PostgresDatabase.monitor}): a one-connection pool of its own
 * whose statements time out after {@link MONITOR_STATEMENT_TIMEOUT_MS}. After any failure the pool is
 * ended and the next check opens a fresh one: a connection that postgres.js 3.4.9 left unable to
 * connect again (see {@link PostgresDatabase.recover}) must not fail health for good. A statement
 * unanswered after `stuckAfterMs` (more than connecting and that timeout take) is such a failure: its
 * connection never connects (porsager/postgres#1193) or makes no progress.
 */
class MonitorExecutor extends PgExecutor {
  constructor(
    private readonly open: () => postgres.Sql,
    private readonly stuckAfterMs: number,
  ) {
    super(open());
  }
  protected override async send(make: () => postgres.PendingQuery<postgres.Row[]>): Promise<postgres.RowList<postgres.Row[]>> {
    const pool = this.sql as postgres.Sql;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const answer = super.send(make);
      answer.catch(() => {});
      const stuck = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new StuckStatementError(false)), this.stuckAfterMs)));
      return await Promise.race([answer, stuck]);
    } catch (err) {
      if (this.sql === pool) {
        this.sql = this.open();
        void pool.end({ timeout: 0 }).catch(() => {});
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
  close(): Promise<void> {
    return (this.sql as postgres.Sql).end({ timeout: 1 });
  }
}

/** Health gives up after 3 s (src/health/service.ts): its statements are cancelled a little before. */
const MONITOR_STATEMENT_TIMEOUT_MS = 2_500;

/**
 * Sent right behind a transaction's final statement, as ONE simple query. The probe `SELECT 1`
 * fails — and the statements after it are skipped — unless the transaction is still healthy, so
 * COMMIT runs only when every statement before it succeeded: a failed final statement (or one
 * postgres.js retries after a stale prepared statement) can never end up committed, or run, on
 * its own. `BEGIN` opens an empty transaction, so the connection stays inside postgres.js's
 * transaction (whose own COMMIT then ends it) instead of going back to the pool at the idle status.
 */
const COMMIT_BEHIND = "SELECT 1; COMMIT; BEGIN";

/** A promise that never settles (a fresh one each time: awaiting a shared one would keep every awaiter alive). */
function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

/**
 * What a transaction and its savepoints share: the COMMIT, once the final statement has sent it;
 * and whether its connection is lost.
 *
 * A lost connection (the backend terminated — a restart, a force-dropped database — or the socket
 * closed) must not be written to again: postgres.js 3.4.9 queues a write on it that runs from a
 * `setImmediate` after the socket is gone and crashes the process with an uncaught TypeError
 * (`socket.write` on null; porsager/postgres#1066, #1154, #1208 — unfixed in 3.4.10), and leaves
 * that pool slot unable to reconnect. postgres.js writes there by itself too: the ROLLBACK after the
 * transaction's function rejects, the `rollback to` after a savepoint's function rejects, the
 * COMMIT after it resolves. So once the loss is known (a statement failed with it, or postgres.js
 * rejected the transaction because the connection closed), nothing more is sent: statements throw
 * {@link ConnectionLostError} before reaching the driver, the functions given to `begin` and
 * `savepoint` never settle (postgres.js then has nothing to send), and `transaction` rejects at once
 * with the loss. The server has rolled the transaction back (unless the COMMIT itself was under way:
 * then, as with any client, it may have committed).
 */
class TxControl {
  commit: Promise<postgres.RowList<postgres.Row[]>> | null = null;
  /**
   * True once {@link commit} succeeded: the transaction is committed, whatever happens to the
   * connection afterwards (postgres.js still sends a COMMIT of its own, for the empty transaction
   * that `COMMIT_BEHIND` opened: a loss then must not answer a committed transaction as failed).
   */
  landed = false;
  /** Set once the transaction has committed or rolled back: its objects then refuse every statement. */
  ended = false;
  /** The loss, once known. */
  lost: ConnectionLostError | null = null;
  /** The latest statement of the transaction handed to postgres.js (its backend is the transaction's). */
  lastQuery: postgres.PendingQuery<postgres.Row[]> | null = null;

  /**
   * Watches a statement that postgres.js sends by itself on the transaction's connection
   * ({@link StatementWatchdog.driverStatement}; found stuck, the connection is lost) until the function
   * returned is called; nothing to watch before the transaction's first statement (its backend unknown).
   */
  watchDriver(watchdog: StatementWatchdog, pool: postgres.Sql, stuck: (err: StuckStatementError) => void = (err) => this.lose(err)): () => void {
    const pid = this.lastQuery === null ? null : backendPid(this.lastQuery);
    return pid === null ? () => {} : watchdog.driverStatement(pool, pid, stuck);
  }
  /** Rejects with the loss as soon as it is known (`transaction` races it). */
  readonly aborted: Promise<never>;
  private abort!: (err: ConnectionLostError) => void;

  constructor() {
    this.aborted = new Promise<never>((_, reject) => (this.abort = reject));
    this.aborted.catch(() => {});
  }

  /** Records the loss (the first one wins) and rejects {@link aborted}. */
  lose(err: unknown): ConnectionLostError {
    if (this.lost === null) {
      const lost = storageError(err);
      this.lost = lost instanceof ConnectionLostError ? lost : new ConnectionLostError(undefined, err);
      this.abort(this.lost);
    }
    return this.lost;
  }

  /** `p`, except that once the connection is lost it never rejects (so postgres.js sends no ROLLBACK on the dead connection). */
  async holdIfLost<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (this.lost !== null || isConnectionLoss(err)) {
        this.lose(err);
        return never();
      }
      throw err;
    }
  }
}

/**
 * A transaction (depth 0) or one of its savepoints. The last flusher may send its statement with
 * the COMMIT pipelined behind it ({@link runFinal}); nothing can be run after that.
 */
class PgTx extends PgExecutor implements Tx, FinalStatementExecutor {
  constructor(
    sql: postgres.TransactionSql,
    private readonly state: TxState,
    private readonly control: TxControl,
    /** The pool the transaction runs in, and its watchdog. */
    private readonly pool: postgres.Sql,
    private readonly watchdog: StatementWatchdog,
    private readonly depth = 0,
  ) {
    super(sql);
  }
  protected override answer(q: postgres.PendingQuery<postgres.Row[]>): Promise<postgres.RowList<postgres.Row[]>> {
    this.control.lastQuery = q;
    return this.watchdog.guard(this.pool, q, q, true);
  }
  protected override query(text: string, params: SqlValue[]) {
    this.mustBeOpen();
    return super.query(text, params);
  }
  protected override failure(err: unknown): unknown {
    return this.control.lost !== null || isConnectionLoss(err) ? this.control.lose(err) : err;
  }
  override async exec(text: string): Promise<void> {
    this.mustBeOpen();
    await super.exec(text);
  }
  private mustBeOpen(): void {
    if (this.control.lost) throw this.control.lost;
    if (this.control.commit) throw new Error("a statement after the transaction's final statement (its COMMIT is already sent)");
    if (this.control.ended) throw new Error("a statement on a transaction that has already ended");
  }
  async savepoint<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.mustBeOpen();
    const mark = this.state.mark();
    // postgres.js sends the SAVEPOINT, and the ROLLBACK TO when `fn` throws: watched until `fn` starts, and from its throw on.
    let unwatch = this.control.watchDriver(this.watchdog, this.pool);
    try {
      const sp = (this.sql as postgres.TransactionSql).savepoint((t) => {
        unwatch();
        const done = fn(new PgTx(t, this.state, this.control, this.pool, this.watchdog, this.depth + 1)).catch((err: unknown) => {
          // Not after a loss: then postgres.js is given nothing to send ({@link TxControl.holdIfLost}).
          if (this.control.lost === null && !isConnectionLoss(err)) unwatch = this.control.watchDriver(this.watchdog, this.pool);
          throw err;
        });
        return this.control.holdIfLost(done);
      });
      return (await sp) as T;
    } catch (err) {
      this.state.rollbackTo(mark);
      throw this.failure(err);
    } finally {
      unwatch();
    }
  }
  /** Sends `text` with the COMMIT behind it when this is the top level during the last flush; a plain `run` otherwise. */
  async runFinal(text: string, params: SqlValue[] = []): Promise<{ changes: number }> {
    if (this.depth > 0 || !this.state.inFinalFlush) return this.run(text, params);
    const statement = this.answer(this.query(text, params).execute());
    const control = this.control;
    control.commit = this.answer(this.sql.unsafe(COMMIT_BEHIND).execute() as unknown as postgres.PendingQuery<postgres.Row[]>);
    // Awaited by committed(), unless the statement fails first.
    control.commit.then(
      () => (control.landed = true),
      () => {},
    );
    try {
      const rows = await statement;
      return { changes: rows.count ?? 0 };
    } catch (err) {
      throw this.failure(err);
    }
  }
  /** After the flush: waits for the COMMIT that the final statement sent, if it did (a rejection means not committed). */
  async committed(): Promise<void> {
    if (this.control.commit === null) return;
    try {
      await this.control.commit;
    } catch (err) {
      throw this.failure(err);
    }
  }
  enqueue<T>(flush: Flusher<T>, item: T): void {
    this.mustBeOpen();
    this.state.enqueue(flush, item);
  }
  afterCommit(fn: () => void): void {
    this.mustBeOpen();
    this.state.onAfterCommit(fn);
  }
}

/**
 * Whether `err` is a server error that postgres.js 3.4.9 handed to a statement it never sent (`q`,
 * when known, was never sent): a connection closed while a statement ran on it keeps that
 * statement's error (e.g. `57P01`, its backend terminated) and, once reconnected, fails the first
 * statement of the new connection with it, unsent (porsager/postgres#1215). Sending it again is
 * safe. (Failures to connect are another matter: see {@link PostgresDatabase.recover}.)
 */
function staleFailure(err: unknown, q?: postgres.PendingQuery<postgres.Row[]>): boolean {
  return err instanceof postgres.PostgresError && isConnectionLoss(err) && (q === undefined || unsent(q));
}

/** A statement that never reached the database (postgres.js sets `state` when it sends one). */
function unsent(q: postgres.PendingQuery<postgres.Row[]>): boolean {
  return (q as unknown as { state: unknown }).state == null;
}

/**
 * Postgres ends a session that stays this long inside a transaction without sending anything — an
 * instance frozen mid-transaction (a paused VM or container, a stopped process, a network partition)
 * — and so releases its locks. A live instance never idles that long within a transaction: each of
 * its transactions sends its statements back to back (a push batch spends well under a second of
 * work between two). The frozen instance's request fails (never acknowledged) when it wakes.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 15_000;

/**
 * A statement waiting this long for a lock fails with `55P03` (the HTTP layer answers 503
 * `unavailable`): requests queued behind a lock nobody releases — e.g. the organization's feed
 * counter held by a frozen instance, until {@link IDLE_IN_TRANSACTION_TIMEOUT_MS} ends its session —
 * fail in bounded time instead of hanging and using up the pool, whose connections health and pulls
 * need too. Migrations wait without limit (src/db/migrate.ts).
 */
export const LOCK_TIMEOUT_MS = 10_000;

/** A pool's size and timeouts: shorter than {@link LOCK_TIMEOUT_MS} and {@link IDLE_IN_TRANSACTION_TIMEOUT_MS} in tests, a statement timeout for the health pool. */
export interface PoolOptions {
  max?: number;
  lockTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
  /** None by default: a request's statements run as long as they need. */
  statementTimeoutMs?: number;
  /** When the pool's watchdog looks at a statement still waiting ({@link STUCK_AFTER_MS} by default; shorter in tests). */
  stuckAfterMs?: number;
}

/**
 * A probe's answer ({@link PostgresDatabase.probe}), or null when it has none within 3 s (its own
 * connect timeout is 2 s, but a connection that the server hangs up on during its startup reconnects
 * without end: porsager/postgres#1193). Rejects when the probe's statement fails.
 */
async function probeAnswer<T>(answer: PromiseLike<T>): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const asked = Promise.resolve(answer);
  asked.catch(() => {}); // answered after the 3 s: not awaited any more
  try {
    return await Promise.race([asked, new Promise<null>((resolve) => (timer = setTimeout(resolve, 3_000, null)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** postgres.js' `connect_timeout`, in seconds: a connection not ready by then fails its statement with `CONNECT_TIMEOUT`. */
const CONNECT_TIMEOUT_S = 5;

/**
 * A statement still waiting after this long is looked at by the pool's watchdog
 * (src/db/pg-watchdog.ts): the connect timeout and 5 s more. One found stuck — its connection never
 * connects, or its backend is gone or idle — answers as a lost connection (503), or is sent again
 * on a fresh pool when it was never sent. A statement that its backend is still running is left alone.
 */
export const STUCK_AFTER_MS = CONNECT_TIMEOUT_S * 1_000 + 5_000;

/**
 * Which of `pids` run something, or went idle less than `$2` ms ago; and the probe's own backend pid
 * (compared with the one postgres.js was told: behind a pooler they differ, and pids mean nothing).
 */
const PROGRESS_SQL = `SELECT pg_backend_pid() AS me, coalesce(array_to_string(array_agg(pid), ','), '') AS pids FROM pg_stat_activity
  WHERE pid = ANY(string_to_array($1, ',')::int[])
    AND (state IS NULL OR state NOT LIKE 'idle%' OR state_change IS NULL OR state_change > now() - make_interval(secs => $2::float8 / 1000))`;

/**
 * What postgres.js connects with besides the URL it is handed: the URL's libpq query parameters
 * (src/db/pg-url.ts), and the `user` option when neither the URL nor its parameters name the user:
 * the one libpq would take (`PGUSER`, the system user: src/db/pg-user.ts); a URL without one where
 * none can be found is refused.
 */
function connectOptions(url: string, options: LibpqOptions): LibpqOptions {
  if (options.user !== undefined) return options;
  const user = defaultPgUser(url);
  if (user instanceof Error) throw user;
  return user === undefined ? options : { ...options, user };
}

/** A pool with the server's settings: prepared statements, BIGINT and NUMERIC read as numbers, no array types, the timeouts of `opts`. */
function openPool(url: string, opts: PoolOptions, connect: LibpqOptions): postgres.Sql {
  return postgres(url, {
    ...connect,
    max: opts.max ?? 10,
    onnotice: () => {},
    connect_timeout: CONNECT_TIMEOUT_S,
    connection: {
      application_name: "taskmgr",
      lock_timeout: opts.lockTimeoutMs ?? LOCK_TIMEOUT_MS,
      idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs ?? IDLE_IN_TRANSACTION_TIMEOUT_MS,
      ...(opts.statementTimeoutMs === undefined ? {} : { statement_timeout: opts.statementTimeoutMs }),
    },
    // No array types are used. postgres.js would otherwise query them on every new connection,
    // and (3.4.9) leave that query's failure unhandled when the connection dies meanwhile: an
    // unhandled rejection, which ends a Bun process.
    fetch_types: false,
    types: {
      numberish: {
        to: 20,
        from: [20, 1700],
        serialize: (x: unknown) => String(x),
        parse: (x: string) => Number(x),
      },
    },
  });
}

/** Postgres through postgres.js: a connection pool, prepared statements, BIGINT and NUMERIC read as numbers. */
export class PostgresDatabase extends PgExecutor implements Database {
  readonly label: string;
  private pool: postgres.Sql;
  /** The check of a pool that could not connect, while one runs ({@link recover}). */
  private recovering: Promise<boolean> | null = null;
  /** Replaced pools, ending (awaited by {@link close}). */
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;
  /** Bounds every statement of the pool ({@link STUCK_AFTER_MS}). */
  private readonly watchdog: StatementWatchdog;
  private monitorExec: MonitorExecutor | null = null;
  private readonly storage = new StorageFullWatch();
  /** The URL handed to postgres.js: the configured one without its libpq query parameters. */
  private readonly url: string;
  /** Those parameters and the user to connect as when nothing names one ({@link connectOptions}). */
  private readonly connect: LibpqOptions;

  constructor(
    url: string,
    private readonly opts: PoolOptions = {},
  ) {
    const split = splitLibpqParams(url);
    const connect = connectOptions(split.url, split.options);
    const pool = openPool(split.url, opts, connect);
    super(pool);
    this.url = split.url;
    this.connect = connect;
    this.pool = pool;
    this.label = redact(url);
    this.watchdog = new StatementWatchdog(
      opts.stuckAfterMs ?? STUCK_AFTER_MS,
      (pids, idleMs) => this.progressing(pids, idleMs),
      (stuck) => this.replacePool(stuck),
    );
  }

  /** A one-connection pool of its own to ask the database something, connecting within 2 s (end it after use). */
  private probe(): postgres.Sql {
    return postgres(this.url, { ...this.connect, max: 1, connect_timeout: 2, fetch_types: false, onnotice: () => {} });
  }

  /** Replaces `stuck` with a fresh pool if it is still the pool; it ends once its work is done, or after 5 s. */
  private replacePool(stuck: postgres.Sql): void {
    if (this.closed || this.pool !== stuck) return;
    this.pool = this.sql = openPool(this.url, this.opts, this.connect);
    // Transactions still running on the old pool get as long as `close` gives them.
    const ending = stuck.end({ timeout: 5 }).catch(() => {});
    this.retiring.add(ending);
    void ending.then(() => this.retiring.delete(ending));
  }

  /** The watchdog's question ({@link PROGRESS_SQL}), asked on a connection of its own ({@link probeAnswer}); null when it cannot be answered. */
  private async progressing(pids: number[], idleMs: number): Promise<Set<number> | null> {
    const probe = this.probe();
    try {
      const rows = await probeAnswer(probe.unsafe(PROGRESS_SQL, [pids.join(","), idleMs]));
      const row = rows?.[0] as { me: number; pids: string } | undefined;
      if (rows === null || row === undefined || (rows as unknown as { state?: { pid?: unknown } }).state?.pid !== row.me) return null;
      return new Set(row.pids === "" ? [] : row.pids.split(",").map(Number));
    } catch {
      return null;
    } finally {
      void probe.end({ timeout: 0 }).catch(() => {});
    }
  }

  /**
   * After a statement of the pool failed with `CONNECT_TIMEOUT`: checks with a connection of its own
   * whether the database answers (within 3 s, {@link probeAnswer}; one check at a time), and if it does, replaces the pool with a fresh one (the old one
   * ends once its work is done, or after 5 s). True when the pool was replaced, so that a statement that was
   * never sent may be sent again on the fresh pool.
   *
   * Why: postgres.js 3.4.9 can leave a pooled connection unable to connect ever again when its
   * socket closes while a write is queued (`closed()` clears the queued write's immediate without
   * forgetting it, and every later write waits for it — the startup message included), e.g. when
   * the database restarts under load. Every statement routed to that connection then fails with
   * `CONNECT_TIMEOUT` after 5 s, for good, although the database is up.
   */
  private recover(err: unknown): Promise<boolean> {
    if ((err as { code?: unknown } | null)?.code !== "CONNECT_TIMEOUT" || this.closed) return Promise.resolve(false);
    this.recovering ??= (async () => {
      const stuck = this.pool;
      const probe = this.probe();
      try {
        if ((await probeAnswer(probe`SELECT 1`)) === null) return false; // the database itself does not answer
      } catch {
        return false;
      } finally {
        void probe.end({ timeout: 1 }).catch(() => {});
      }
      if (this.closed) return false;
      this.replacePool(stuck);
      return true;
    })().finally(() => (this.recovering = null));
    return this.recovering;
  }

  /**
   * Runs `fn` in a transaction (`sql.begin`). A lost connection rejects it with {@link ConnectionLostError}
   * as soon as the loss is known, and nothing more is sent on that connection ({@link TxControl}).
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.storage.watch(this.inTransaction("", fn));
  }

  override all<T>(text: string, params: SqlValue[] = []): Promise<T[]> {
    return this.storage.watch(super.all<T>(text, params));
  }

  override run(text: string, params: SqlValue[] = []): Promise<{ changes: number }> {
    return this.storage.watch(super.run(text, params));
  }

  override exec(text: string): Promise<void> {
    return this.storage.watch(super.exec(text));
  }

  storageFullAt(): Date | null {
    return this.storage.latest();
  }

  /**
   * A `READ ONLY`, `REPEATABLE READ` transaction: every statement of `fn` reads the snapshot its first
   * one took (READ COMMITTED, the default, takes one per statement). Two round trips more than the
   * statements alone (BEGIN, COMMIT); the statements and their plans are the same.
   */
  readSnapshot<T>(fn: (exec: Executor) => Promise<T>): Promise<T> {
    return this.inTransaction("isolation level repeatable read read only", fn);
  }

  /** {@link transaction} with `options` after its BEGIN (letters and spaces only: postgres.js drops anything else). */
  private async inTransaction<T>(options: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let started = false;
      try {
        return await this.attempt(options, fn, () => (started = true));
      } catch (err) {
        // Failed before `fn` ran (its BEGIN was never sent, or did nothing): once more ({@link staleFailure},
        // a BEGIN the watchdog gave up on, {@link recover}).
        const cause = (err as ConnectionLostError).cause ?? err;
        if (started || attempt > 1 || !(staleFailure(cause) || (err instanceof StuckStatementError && err.unsent) || (await this.recover(cause)))) throw err;
      }
    }
  }

  private async attempt<T>(options: string, fn: (tx: Tx) => Promise<T>, onStart: () => void): Promise<T> {
    const state = new TxState();
    const control = new TxControl();
    /** `fn`'s result, once it returned (answered if the connection is lost after the COMMIT landed). */
    const returned: { value?: T; done: boolean } = { done: false };
    const pool = this.pool;
    // Until its BEGIN is answered, the watchdog may give up on the transaction (its connection never
    // connects): `fn` must then never run on that pool, should the BEGIN be answered after all.
    let gaveUp: StuckStatementError | null = null;
    let abandon!: (err: unknown) => void;
    const abandoned = new Promise<never>((_, reject) => (abandon = reject));
    abandoned.catch(() => {});
    const watch = this.watchdog.beginning(pool, (err) => {
      gaveUp = err;
      abandon(err);
    });
    /** Ends the watch on postgres.js' own COMMIT, once it is sent. */
    let committing: (() => void) | null = null;
    const run = pool.begin(options, (t) => {
      if (gaveUp !== null) return Promise.reject(gaveUp);
      return control.holdIfLost(
        (async () => {
          watch.started();
          onStart();
          const tx = new PgTx(t, state, control, pool, this.watchdog);
          let r: T;
          try {
            r = await fn(tx);
            Object.assign(returned, { value: r, done: true });
            await state.flush(tx);
            await tx.committed();
          } catch (err) {
            // postgres.js sends its ROLLBACK now (not after a loss: {@link TxControl.holdIfLost}); should
            // it never be answered, the transaction answers with its failure (nothing of it committed).
            if (control.lost === null && !isConnectionLoss(err)) committing = control.watchDriver(this.watchdog, pool, () => abandon(err));
            throw err;
          }
          // Lost after all (a statement of `fn` swallowed the error): postgres.js must not send its COMMIT.
          if (control.lost !== null) return never<T>();
          // postgres.js sends its COMMIT now, unseen by the watchdog unless registered: a connection
          // that stops making progress there would hold the transaction for good.
          committing = control.watchDriver(this.watchdog, pool);
          return r;
        })(),
      );
    });
    // postgres.js rejects `begin` when the connection closes, even while `fn` still runs: from then on
    // `fn` must send nothing.
    run.catch((err: unknown) => {
      if (isConnectionLoss(err)) control.lose(err);
    });
    let result: T;
    try {
      result = (await Promise.race([run, control.aborted, abandoned])) as T;
    } catch (err) {
      // Committed by the final statement's COMMIT, then the connection was lost: committed all the same.
      // (Any other failure after that COMMIT is a bug — a statement after the final one — and thrown.)
      const lostAfterCommit = control.landed && returned.done && (control.lost !== null || isConnectionLoss(err));
      if (!lostAfterCommit) throw control.lost ?? storageError(err);
      result = returned.value as T;
    } finally {
      control.ended = true;
      (committing as (() => void) | null)?.();
      watch.settled();
      watch.ended();
    }
    state.runAfterCommit();
    return result;
  }

  /**
   * A statement of the pool, sent again once when postgres.js failed it without sending it
   * ({@link staleFailure}, {@link recover}); its rows checked as every executor's are ({@link mustBeWhole}).
   */
  protected override async send(make: () => postgres.PendingQuery<postgres.Row[]>): Promise<postgres.RowList<postgres.Row[]>> {
    const q = make();
    let rows: postgres.RowList<postgres.Row[]>;
    try {
      rows = await this.answer(q);
    } catch (err) {
      const again = err instanceof StuckStatementError ? err.unsent : staleFailure(err, q) || (unsent(q) && (await this.recover(err)));
      if (!again) throw this.failure(err);
      return super.send(make);
    }
    return mustBeWhole(rows);
  }

  protected override answer(q: postgres.PendingQuery<postgres.Row[]>): Promise<postgres.RowList<postgres.Row[]>> {
    return this.watchdog.guard(this.pool, q, q, false);
  }

  verify(): void {}

  get monitor(): Executor {
    return (this.monitorExec ??= new MonitorExecutor(
      () => openPool(this.url, { ...this.opts, max: 1, statementTimeoutMs: MONITOR_STATEMENT_TIMEOUT_MS }, this.connect),
      this.opts.stuckAfterMs ?? STUCK_AFTER_MS,
    ));
  }

  async backup(): Promise<void> {
    throw new Error("taskmgr backup copies SQLite databases: back up Postgres with pg_dump, e.g. (umask 077; pg_dump --format=custom --file=taskmgr.dump \"$DATABASE_URL\"): the dump holds password and token hashes");
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watchdog.close();
    await Promise.all([this.pool.end({ timeout: 5 }), this.monitorExec?.close(), ...this.retiring]);
  }
}
