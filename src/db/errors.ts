/**
 * Storage failures that callers may tell apart from bugs: the database connection was lost or
 * could not be made (a restart, a terminated backend, a dropped database, a network failure).
 * The HTTP layer answers them 503 `unavailable`; the request may be retried.
 */
export class ConnectionLostError extends Error {
  override readonly name = "ConnectionLostError";
  constructor(
    message = "the database connection was lost",
    /** The driver's error (for logs only: never sent to clients). */
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/**
 * A lock held too long by someone else. SQLite's "database is locked" (`SQLITE_BUSY*`, after the busy
 * timeout; not `SQLITE_LOCKED`, a conflict within one connection: a bug): another process holds the
 * file's write lock — an operator's `sqlite3` shell with a transaction open, a `VACUUM`, a long CLI
 * command. Postgres' `55P03` lock_not_available: a statement waited `lock_timeout` for a row or table
 * lock (src/db/postgres.ts, LOCK_TIMEOUT_MS); and `57014` query_canceled: a statement ended by the
 * database's operator, a `statement_timeout` set on the database or role, or `pg_cancel_backend`
 * (taskmgr cancels none of the statements of a request itself). Like a lost connection it is
 * temporary and nothing of the transaction was committed: the HTTP layer answers 503 `unavailable`.
 */
export function isDatabaseBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code === "55P03" || code === "57014");
}

/**
 * A Postgres transaction the server rolled back because it lost a race with others: `40P01`
 * deadlock detected, `40001` serialization failure. Nothing of it was committed and running it again
 * may well succeed, so the HTTP layer answers 503 `unavailable` (and logs it: a deadlock means two
 * transactions take locks in different orders, which should be fixed where they are taken). It is
 * not retried here: the storage layer cannot tell whether a transaction's function may run twice.
 */
export function isTransactionConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "40P01" || code === "40001";
}

/**
 * The database's storage is full: SQLite's `SQLITE_FULL` ("database or disk is full": the disk, or
 * `max_page_count`) and `SQLITE_IOERR_SHMSIZE` ("disk I/O error" when the `-shm` cannot grow: every
 * ~4,000 WAL frames, reached on a full disk when the transaction's frames still fit but its WAL index
 * does not), Postgres' `53100` disk_full. The statement failed and its transaction was rolled back,
 * so nothing of the request is seen by this server; it may succeed once space is freed. (After
 * `SQLITE_IOERR_SHMSIZE` the transaction's frames are in the `-wal` already: a restart before the next
 * write may find it there, whole, as the README says of the full disk's 503: a retried push is then `duplicate`.) The HTTP layer answers
 * 503 `unavailable` (a client keeps its changes and retries later) and logs it as `database_full`,
 * rather than 500 with a stack trace.
 */
export function isStorageFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_FULL" || code === "SQLITE_IOERR_SHMSIZE" || code === "53100";
}
