import { Database as BunSqlite, type Statement } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Mutex } from "./mutex";
import { TxState } from "./tx-state";
import type { Database, Executor, Flusher, SqlValue, Tx } from "./types";

/**
 * SQLite through bun:sqlite: one connection, WAL, foreign keys, busy timeout.
 * bun:sqlite is synchronous, so a mutex serializes transactions (and the statements
 * outside them) so that an `await` inside one never lets another interleave.
 */
export class SqliteDatabase implements Database {
  readonly dialect = "sqlite" as const;
  readonly label: string;
  private readonly db: BunSqlite;
  private readonly lock = new Mutex();
  private readonly direct: Executor;

  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.label = path === ":memory:" ? "sqlite::memory:" : `sqlite:${path}`;
    this.db = new BunSqlite(path, { create: true });
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = FULL");
    this.db.exec("PRAGMA foreign_keys = ON");
    this.db.exec("PRAGMA busy_timeout = 5000");
    this.db.exec("PRAGMA cache_size = -65536");
    this.db.exec("PRAGMA temp_store = MEMORY");
    this.direct = new SqliteExecutor(this.db);
  }

  all<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return this.lock.run(() => this.direct.all<T>(sql, params));
  }
  get<T>(sql: string, params: SqlValue[] = []): Promise<T | undefined> {
    return this.lock.run(() => this.direct.get<T>(sql, params));
  }
  run(sql: string, params: SqlValue[] = []): Promise<{ changes: number }> {
    return this.lock.run(() => this.direct.run(sql, params));
  }

  async exec(sql: string): Promise<void> {
    await this.lock.run(async () => this.db.exec(sql));
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      const state = new TxState();
      const tx = new SqliteTx(this.db, state);
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = await fn(tx);
        await state.flush(tx);
        this.db.exec("COMMIT");
        tx.closed = true;
        state.runAfterCommit();
        return result;
      } catch (err) {
        tx.closed = true;
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.lock.run(async () => this.db.close());
  }
}

class SqliteExecutor implements Executor {
  readonly dialect = "sqlite" as const;
  constructor(protected readonly db: BunSqlite) {}

  private stmt(sql: string): Statement {
    return this.db.query(sql); // bun:sqlite caches compiled statements by SQL text
  }
  async all<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return this.stmt(sql).all(...params) as T[];
  }
  async get<T>(sql: string, params: SqlValue[] = []): Promise<T | undefined> {
    return (this.stmt(sql).get(...params) ?? undefined) as T | undefined;
  }
  async run(sql: string, params: SqlValue[] = []): Promise<{ changes: number }> {
    const r = this.stmt(sql).run(...params);
    return { changes: r.changes };
  }
  async exec(sql: string): Promise<void> {
    this.db.exec(sql);
  }
}

class SqliteTx extends SqliteExecutor implements Tx {
  closed = false;
  private depth = 0;
  constructor(db: BunSqlite, private readonly state: TxState) {
    super(db);
  }

  async savepoint<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const name = `sp${++this.depth}`;
    const mark = this.state.mark();
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn(this);
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      this.state.rollbackTo(mark);
      throw err;
    } finally {
      this.depth--;
    }
  }
  enqueue<T>(flush: Flusher<T>, item: T): void {
    this.state.enqueue(flush, item);
  }
  afterCommit(fn: () => void): void {
    this.state.onAfterCommit(fn);
  }
}
