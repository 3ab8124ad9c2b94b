/** A SQL parameter value accepted by both dialects. */
export type SqlValue = string | number | null;

/**
 * A column value of {@link Executor.rawRows}, as the driver read it: on Postgres the UTF-8 bytes of
 * its text form; on SQLite a number (INTEGER, REAL), a string (TEXT) or bytes (BLOB).
 */
export type RawValue = Uint8Array | string | number | null;

/**
 * Runs SQL written once for both dialects: `?` placeholders, portable types
 * (TEXT, INTEGER, BIGINT), ISO-8601 text timestamps, JSON stored as TEXT.
 */
export interface Executor {
  readonly dialect: "sqlite" | "postgres";
  all<T = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: SqlValue[]): Promise<{ changes: number }>;
  /**
   * The rows as arrays of column values ({@link RawValue}), nothing decoded: for JSON stored as text
   * and sent on as it is, where decoding it into strings and encoding it again is most of the cost.
   */
  rawRows(sql: string, params?: SqlValue[]): Promise<RawValue[][]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * Flushes items queued in one transaction; runs once per transaction, just before COMMIT, flushers
 * in order of first use — except those marked `last`, which run after all others (the change feed:
 * its per-organization lock is then held only for its own write and the COMMIT).
 */
export type Flusher<T> = ((exec: Executor, items: T[]) => Promise<void>) & { last?: boolean };

/** An open transaction. Everything done through it commits or rolls back together. */
export interface Tx extends Executor {
  /** Runs `fn` in a savepoint: a throw rolls back only what `fn` did (and what it queued), then rethrows. */
  savepoint<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Queues `item` for `flush`, called with all items queued for it just before COMMIT (dropped if their savepoint rolls back). */
  enqueue<T>(flush: Flusher<T>, item: T): void;
  /** Runs `fn` after a successful COMMIT (dropped on rollback). Errors in `fn` are swallowed: the data is committed. */
  afterCommit(fn: () => void): void;
}

/** The storage interface: one implementation per dialect (sqlite.ts, postgres.ts). */
export interface Database extends Executor {
  /**
   * Throws {@link ConnectionLostError} when the database is no longer the one opened: a SQLite file,
   * or its `-wal` or `-shm`, removed or replaced under the running server (its writes would go to a
   * file nobody will open again). Cheap (a `stat` each); a no-op on Postgres, whose connections
   * report such losses themselves.
   */
  verify(): void;
  /**
   * Reads for health checks, on a connection of their own: never queued behind the requests' (a
   * pool whose every connection waits for a lock would otherwise make a working database look
   * dead). Postgres: a one-connection pool opened on first use; SQLite: the read connection.
   */
  readonly monitor: Executor;
  /** Runs `fn` in one transaction; a throw rolls everything back and rethrows. On SQLite it takes the write lock at BEGIN. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Runs `fn`, which only reads, on one snapshot: all its statements see the same committed state (a
   * page and the count beside it: src/db/page.ts), whatever commits meanwhile. Postgres: a `READ ONLY`,
   * `REPEATABLE READ` transaction; SQLite: one read transaction on the read connection (other reads
   * outside transactions wait for its end: `fn` must not wait on anything but its own statements).
   */
  readSnapshot<T>(fn: (exec: Executor) => Promise<T>): Promise<T>;
  /**
   * Writes a consistent copy of the database, as of its last commit, to `target`, a new file (never
   * overwritten; readable by its owner only), while writers go on (`taskmgr backup`). SQLite: `VACUUM
   * INTO` on the read connection (it blocks the process's event loop while it copies: a command's job,
   * not a server's). Postgres refuses: that is `pg_dump`'s job.
   */
  backup(target: string): Promise<void>;
  /**
   * When a write of this process ({@link run}, {@link exec}, {@link transaction}) last failed because the
   * database's storage is full, if that was within the last minute (src/db/storage-full.ts); else null.
   */
  storageFullAt(): Date | null;
  close(): Promise<void>;
  /** A human description without credentials, for logs and errors. */
  readonly label: string;
}
