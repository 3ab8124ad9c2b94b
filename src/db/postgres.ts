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
