import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import postgres from "postgres";
import { type FinalStatementExecutor, TxState } from "./tx-state";
import type { Database, Executor, Flusher, SqlValue, Tx } from "./types";

type Sql = postgres.Sql | postgres.TransactionSql;

const placeholderCache = new Map<string, string>();

/** Rewrites the portable `?` placeholders to Postgres' `$1, $2, …` (our SQL never has `?` in literals). */
export function toPgPlaceholders(sql: string): string {
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
 * those with a long `IN (?, …)` list (the batched lookups of a push: 500 ids, 500 change ids).
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

class PgExecutor implements Executor {
  readonly dialect = "postgres" as const;
  constructor(protected readonly sql: Sql) {}

  /** A statement with `?` placeholders, prepared unless {@link plannedWithValues} (lazy: sent when awaited or `execute()`d). */
  protected query(text: string, params: SqlValue[]): postgres.PendingQuery<postgres.Row[]> {
    return this.sql.unsafe(toPgPlaceholders(text), params as postgres.ParameterOrJSON<never>[], { prepare: !plannedWithValues(text) });
  }
  async all<T>(text: string, params: SqlValue[] = []): Promise<T[]> {
    const rows = await this.query(text, params);
    return rows as unknown as T[];
  }
  async get<T>(text: string, params: SqlValue[] = []): Promise<T | undefined> {
    const rows = await this.all<T>(text, params);
    return rows[0];
  }
  async run(text: string, params: SqlValue[] = []): Promise<{ changes: number }> {
    const rows = await this.query(text, params);
    return { changes: rows.count ?? 0 };
  }
  async exec(text: string): Promise<void> {
    await this.sql.unsafe(text);
  }
  async copyRows(table: string, columns: readonly string[], rows: readonly SqlValue[][]): Promise<void> {
    if (rows.length === 0) return;
    await copyInto(this.sql, table, columns, rows);
  }
}

/**
 * `COPY … FROM STDIN` on `sql`, which must be a connection nothing else uses meanwhile (a
 * transaction's, or a reserved one): postgres.js would otherwise pipeline other queries onto the
 * connection in the middle of the COPY, which breaks the protocol.
 */
async function copyInto(sql: Sql | postgres.ReservedSql, table: string, columns: readonly string[], rows: readonly SqlValue[][]): Promise<void> {
  const chunks: string[] = [];
  for (let i = 0; i < rows.length; i += COPY_ROWS_PER_CHUNK) {
    let text = "";
    for (const row of rows.slice(i, i + COPY_ROWS_PER_CHUNK)) text += row.map(copyText).join("\t") + "\n";
    chunks.push(text);
  }
  const target = await sql.unsafe(`COPY ${table} (${columns.join(", ")}) FROM STDIN`).writable();
  await pipeline(Readable.from(chunks), target);
}

/** Rows per chunk written to a COPY stream. */
const COPY_ROWS_PER_CHUNK = 500;
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** A value in COPY's text format: `\N` for null; backslash, tab, newline and carriage return escaped. */
function copyText(v: SqlValue): string {
  if (v === null || v === undefined) return "\\N";
  const s = String(v);
  return COPY_SPECIAL.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : s;
}

/**
 * Sent right behind a transaction's final statement, as ONE simple query. The probe `SELECT 1`
 * fails — and the statements after it are skipped — unless the transaction is still healthy, so
 * COMMIT runs only when every statement before it succeeded: a failed final statement (or one
 * postgres.js retries after a stale prepared statement) can never end up committed, or run, on
 * its own. `BEGIN` opens an empty transaction, so the connection stays inside postgres.js's
 * transaction (whose own COMMIT then ends it) instead of going back to the pool at the idle status.
 */
const COMMIT_BEHIND = "SELECT 1; COMMIT; BEGIN";

/** What a transaction and its savepoints share: the COMMIT, once the final statement has sent it. */
interface TxControl {
  commit: Promise<postgres.RowList<postgres.Row[]>> | null;
}

/**
 * A transaction (depth 0) or one of its savepoints. The last flusher may send its statement with
 * the COMMIT pipelined behind it ({@link runFinal}); nothing can be run after that.
 */
class PgTx extends PgExecutor implements Tx, FinalStatementExecutor {
  constructor(
    sql: postgres.TransactionSql,
    private readonly state: TxState,
    private readonly control: TxControl = { commit: null },
    private readonly depth = 0,
  ) {
    super(sql);
  }
  protected override query(text: string, params: SqlValue[]) {
    this.mustBeOpen();
    return super.query(text, params);
  }
  override async exec(text: string): Promise<void> {
    this.mustBeOpen();
    await super.exec(text);
  }
  override async copyRows(table: string, columns: readonly string[], rows: readonly SqlValue[][]): Promise<void> {
    this.mustBeOpen();
    await super.copyRows(table, columns, rows);
  }
  private mustBeOpen(): void {
    if (this.control.commit) throw new Error("a statement after the transaction's final statement (its COMMIT is already sent)");
  }
  async savepoint<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.mustBeOpen();
    const mark = this.state.mark();
    try {
      return (await (this.sql as postgres.TransactionSql).savepoint((sp) => fn(new PgTx(sp, this.state, this.control, this.depth + 1)))) as T;
    } catch (err) {
      this.state.rollbackTo(mark);
      throw err;
    }
  }
  /** Sends `text` with the COMMIT behind it when this is the top level during the last flush; a plain `run` otherwise. */
  async runFinal(text: string, params: SqlValue[] = []): Promise<{ changes: number }> {
    if (this.depth > 0 || !this.state.inFinalFlush) return this.run(text, params);
    const statement = this.query(text, params).execute();
    this.control.commit = this.sql.unsafe(COMMIT_BEHIND).execute();
    const rows = await statement;
    return { changes: rows.count ?? 0 };
  }
  /** After the flush: waits for the COMMIT that the final statement sent, if it did (a rejection means not committed). */
  async committed(): Promise<void> {
    if (this.control.commit !== null) await this.control.commit;
  }
  enqueue<T>(flush: Flusher<T>, item: T): void {
    this.state.enqueue(flush, item);
  }
  afterCommit(fn: () => void): void {
    this.state.onAfterCommit(fn);
  }
}

/** Postgres through postgres.js: a connection pool, prepared statements, BIGINT and NUMERIC read as numbers. */
export class PostgresDatabase extends PgExecutor implements Database {
  readonly label: string;
  private readonly pool: postgres.Sql;

  constructor(url: string, opts: { max?: number } = {}) {
    const pool = postgres(url, {
      max: opts.max ?? 10,
      onnotice: () => {},
      connect_timeout: 5,
      types: {
        numberish: {
          to: 20,
          from: [20, 1700],
          serialize: (x: unknown) => String(x),
          parse: (x: string) => Number(x),
        },
      },
    });
    super(pool);
    this.pool = pool;
    this.label = redact(url);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const state = new TxState();
    const result = await this.pool.begin(async (t) => {
      const tx = new PgTx(t, state);
      const r = await fn(tx);
      await state.flush(tx);
      await tx.committed();
      return r;
    });
    state.runAfterCommit();
    return result as T;
  }

  /** Outside a transaction, a COPY gets a connection of its own for its duration. */
  override async copyRows(table: string, columns: readonly string[], rows: readonly SqlValue[][]): Promise<void> {
    if (rows.length === 0) return;
    const reserved = await this.pool.reserve();
    try {
      await copyInto(reserved, table, columns, rows);
    } finally {
      reserved.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end({ timeout: 5 });
  }
}

/** The URL without its password, safe for logs and error messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://…";
  }
}
