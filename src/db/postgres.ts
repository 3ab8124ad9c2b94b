import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import postgres from "postgres";
import { TxState } from "./tx-state";
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

class PgExecutor implements Executor {
  readonly dialect = "postgres" as const;
  constructor(protected readonly sql: Sql) {}

  async all<T>(text: string, params: SqlValue[] = []): Promise<T[]> {
    const rows = await this.sql.unsafe(toPgPlaceholders(text), params as postgres.ParameterOrJSON<never>[], { prepare: true });
    return rows as unknown as T[];
  }
  async get<T>(text: string, params: SqlValue[] = []): Promise<T | undefined> {
    const rows = await this.all<T>(text, params);
    return rows[0];
  }
  async run(text: string, params: SqlValue[] = []): Promise<{ changes: number }> {
    const rows = await this.sql.unsafe(toPgPlaceholders(text), params as postgres.ParameterOrJSON<never>[], { prepare: true });
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

class PgTx extends PgExecutor implements Tx {
  constructor(sql: postgres.TransactionSql, private readonly state: TxState) {
    super(sql);
  }
  async savepoint<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const mark = this.state.mark();
    try {
      return (await (this.sql as postgres.TransactionSql).savepoint((sp) => fn(new PgTx(sp, this.state)))) as T;
    } catch (err) {
      this.state.rollbackTo(mark);
      throw err;
    }
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
