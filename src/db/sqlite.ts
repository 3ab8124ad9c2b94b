import { Database as BunSqlite, constants, type SQLFunctionResult, type Statement } from "bun:sqlite";
import { accessSync, constants as fsConstants, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { BACKSTOP_AUTOCHECKPOINT_PAGES, Checkpointer } from "./checkpoint";
import { ConnectionLostError } from "./errors";
import { Mutex } from "./mutex";
import { createPrivateFile } from "./private-file";
import { vacuumInto } from "./sqlite-backup";
import { StorageFullWatch } from "./storage-full";
import { OpenFiles } from "./sqlite-files";
import { retryWhileBusy, WRITER_BUSY_TIMEOUT_MS } from "./sqlite-lock-wait";
import { Turns } from "./sqlite-turns";
import { TxState } from "./tx-state";
import type { Database, Executor, Flusher, RawValue, SqlValue, Tx } from "./types";

/**
 * How long a write waits for another connection's lock before it fails with SQLITE_BUSY: on the event
 * loop for the writer connection once open (src/db/sqlite-lock-wait.ts), inside the statement otherwise
 * (opening, the read connection).
 */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * The connection settings (README, "Performance"):
 * - `journal_mode = WAL`: readers never block the writer; a COMMIT appends to the WAL.
 * - `synchronous = FULL`: the WAL is fsynced at every COMMIT — an acknowledged push survives a
 *   power loss. (NORMAL would be faster and could lose the last commits.)
 * - `cache_size = -65536` (64 MB of page cache) for the connection that writes: the hot index pages of
 *   a large organization stay in memory. Reads outside transactions (pulls, lists, lookups) use a
 *   second connection (files only) with {@link SQLITE_READER_PRAGMAS}: an 8 MB cache, so a full
 *   snapshot of a million tasks (gigabytes read) no longer fills 64 MB of resident page cache, and
 *   the writer's cache keeps the pages writes need.
 * - `temp_store = MEMORY`: sorts and temporary b-trees never touch the disk.
 * - `journal_size_limit`: the WAL file is truncated back to 64 MB after a checkpoint empties it.
 * - `mmap_size` stays 0: mapped pages count in the resident size, and a snapshot would touch the
 *   whole file (over 1 GB at a million tasks); reads go through the page cache instead.
 * Checkpoints: see src/db/checkpoint.ts (a worker thread; `wal_autocheckpoint` then only a backstop).
 */
export const SQLITE_PRAGMAS: readonly string[] = [
  // First: the ones below may need a lock that another process holds for a moment (a CLI command,
  // a closing connection's last checkpoint), and only then are they waited for instead of failing.
  // (Once they ran, the writer's is set to WRITER_BUSY_TIMEOUT_MS: its waits are made on the event loop.)
  `PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`,
  "PRAGMA journal_mode = WAL",
  "PRAGMA synchronous = FULL",
  "PRAGMA foreign_keys = ON",
  "PRAGMA cache_size = -65536",
  "PRAGMA temp_store = MEMORY",
  "PRAGMA journal_size_limit = 67108864",
];

/** The read connection: small cache, and it never writes (`query_only`). */
const SQLITE_READER_PRAGMAS: readonly string[] = [
  `PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`,
  "PRAGMA cache_size = -8192",
  "PRAGMA temp_store = MEMORY",
  "PRAGMA query_only = ON",
];

/**
 * SQL functions SQLite lacks, defined on every connection: `fold_case(text)`, the text with every
 * letter in lower case (SQLite's own `LOWER` changes ASCII letters only), the Greek final sigma as σ
 * and the dotted capital I as i — what case-insensitive search compares (src/records/list.ts, where
 * Postgres' `LOWER` does the same). About twice as slow as `LOWER`. Other values are answered as they are.
 */
function defineFunctions(db: BunSqlite): void {
  db.function("fold_case", { deterministic: true }, (value: unknown) => (typeof value === "string" ? foldCase(value) : (value as SQLFunctionResult)));
}

/**
 * {@link defineFunctions}' `fold_case`. İ is made i before lowering, as Postgres' `LOWER` does (JavaScript
 * lowers it to i + U+0307); an i followed by U+0307 that the text itself holds stays as it is, as on Postgres.
 */
const foldCase = (text: string): string => text.replace(/\u0130/g, "i").toLowerCase().replace(/ς/g, "σ");

/**
 * Opens the file at `path` to read it only, creating nothing. A plain read-only connection to a
 * database in WAL mode creates its `-wal` and `-shm` files (and leaves them behind), and cannot open at
 * all where it may not create them (a read-only folder). Without a `-wal` file every committed page is
 * in the database file (the last connection to close checkpoints and removes it), which is then opened
 * `immutable`: no locks, no WAL, nothing written. (A server that starts meanwhile writes to a new
 * `-wal`, not to the file, until its first checkpoint.) With a `-wal` file (a server is running, or one
 * crashed), the file is opened `mode=ro` with it: SQLite reads an existing `-wal` and `-shm` also
 * where it may not write them.
 */
function openReadOnly(path: string): BunSqlite {
  const mode = existsSync(`${path}-wal`) ? "mode=ro" : "immutable=1";
  // A URI filename: `%`, `?` and `#` in the path are escaped.
  const uriPath = resolve(path).replace(/[%?#]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
  return new BunSqlite(`file:${uriPath}?${mode}`, constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI);
}

/**
 * Refuses a database the process may not write: the file, its `-wal` and `-shm` (those that exist) and
 * their folder (where SQLite creates and removes the `-wal` and `-shm`). SQLite opens a file it may not
 * write read-only without a word: every read works (a server starts and its health answers ok) and
 * every write fails (each login answered 500).
 */
function assertWritable(path: string): void {
  for (const [target, name] of [[path, path], [`${path}-wal`, `${path}-wal`], [`${path}-shm`, `${path}-shm`], [dirname(path), `the folder ${resolve(dirname(path))}`]] as const) {
    if (!existsSync(target)) continue;
    try {
      accessSync(target, fsConstants.W_OK);
    } catch {
      throw new Error(`${name} is read-only to this process`);
    }
  }
}

/**
 * Refuses a path that names a folder (`sqlite:./data`, the data folder given for the file): SQLite
 * would say only "unable to open database file", or "disk I/O error" when opened to read.
 */
function assertNotFolder(path: string): void {
  let folder = false;
  try {
    folder = statSync(path).isDirectory();
  } catch {
    return; // Nothing there yet, or not visible to this process: opening it says what is wrong.
  }
  if (folder) throw new Error(`${path} is a folder, not a database file (name the file in it: sqlite:${join(path, "taskmgr.db")})`);
}

/** A plain query (`all`/`get` also run `INSERT … RETURNING` and the like, which must go to the writer). */
const isSelect = (sql: string): boolean => /^\s*SELECT\b/i.test(sql);

/** A transaction waiting for its turn (group commit). */
interface Queued {
  fn: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Transactions committed together at most (one slow member delays the others' answers). */
const MAX_GROUP = 64;

/**
 * SQLite through bun:sqlite: one connection that writes, WAL, foreign keys, busy timeout.
 * bun:sqlite is synchronous, so a mutex serializes transactions (and the writes outside them) so
 * that an `await` inside one never lets another interleave. On a file, reads outside transactions
 * go to a second connection without waiting for the mutex: in WAL mode it reads the last committed
 * state (what a read outside a transaction means), whatever transaction the writer has open.
 * The write lock of another process (a `sqlite3` shell, a CLI command) is waited for on the event loop
 * with the mutex held, so reads go on meanwhile and transactions keep their order (src/db/sqlite-lock-wait.ts).
 *
 * Group commit: transactions asked for in the same turn of the event loop (concurrent requests
 * whose bodies arrived together), and those that queue up while a group runs, are run one after the other
 * inside ONE SQLite transaction, each in its own savepoint (a member that throws rolls back alone,
 * exactly as its own transaction would), and committed together — one WAL write and one fsync
 * for the group instead of one per transaction. Every member is answered only after that COMMIT,
 * so an acknowledged transaction is as durable as before (`synchronous = FULL`). Isolation is
 * unchanged: members run strictly one after the other, and nothing else writes in between. A group
 * that runs long lets the event loop take a turn between its statements (src/db/sqlite-turns.ts):
 * reads and other requests go on meanwhile; writes wait for the lock.
 */
export class SqliteDatabase implements Database {
  readonly dialect = "sqlite" as const;
  readonly label: string;
  private readonly db: BunSqlite;
  private readonly lock = new Mutex();
  private readonly direct: Executor;
  private readonly statements: StatementCache;
  private readonly readerStatements: StatementCache | null = null;
  /** The read connection (files), null for `:memory:` (a second connection would be another database). */
  private readonly readerDb: BunSqlite | null = null;
  private readonly reader: Executor | null = null;
  /** One {@link readSnapshot} at a time on the read connection; set while one has it in a read transaction. */
  private readonly snapshots = new Mutex();
  private snapshotOpen = false;
  /** Checkpoints in a worker thread (files only); null: SQLite checkpoints inline, as by default. */
  readonly checkpointer: Checkpointer | null = null;
  /** The files opened (the database, and its `-wal` and `-shm` when it writes), to notice one removed or replaced under the server ({@link verify}). */
  private readonly files: OpenFiles | null = null;
  /** The first of {@link files} found removed or replaced ({@link verify}), or null. */
  private lostFile: string | null = null;
  /** Whether {@link copyWalIntoFile} has tried once already (it waits only then), and whether it copied everything. */
  private walCopy: "untried" | "tried" | "done" = "untried";
  /** Transactions waiting for the next group, and whether a run of it is queued behind the lock. */
  private queued: Queued[] = [];
  private groupScheduled = false;
  /** Groups committed and the transactions committed in them (for tests and diagnostics). */
  readonly groups = { committed: 0, transactions: 0 };
  private readonly storage = new StorageFullWatch();

  /**
   * `readOnly` (`migrate status`): the file must exist and is not changed — no folder or file created
   * (no `-wal` or `-shm` either: {@link openReadOnly}), no pragma that writes (journal mode), no
   * checkpoints, one connection. It works in a folder or on a file the process may not write to.
   */
  constructor(path: string, opts: { readOnly?: boolean } = {}) {
    this.label = path === ":memory:" ? "sqlite::memory:" : `sqlite:${path}`;
    const file = path !== ":memory:" && !opts.readOnly;
    if (path !== ":memory:") assertNotFolder(path);
    if (opts.readOnly) {
      this.db = openReadOnly(path);
      for (const pragma of SQLITE_READER_PRAGMAS) this.db.exec(pragma);
      defineFunctions(this.db);
    } else {
      if (file) {
        mkdirSync(dirname(path), { recursive: true });
        assertWritable(path);
        // Password and token hashes: readable by the server's user only from the start (SQLite gives its -wal and -shm the same mode).
        createPrivateFile(path);
      }
      this.db = new BunSqlite(path, { create: true });
      for (const pragma of SQLITE_PRAGMAS) this.db.exec(pragma);
      defineFunctions(this.db);
    }
    if (path !== ":memory:") this.files = new OpenFiles(file ? [path, `${path}-wal`, `${path}-shm`] : [path]);
    if (file && process.env.TASKMGR_SQLITE_INLINE_CHECKPOINT !== "1") {
      this.checkpointer = Checkpointer.start(path);
      if (this.checkpointer) this.db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
    }
    if (!opts.readOnly) this.db.exec(`PRAGMA busy_timeout = ${WRITER_BUSY_TIMEOUT_MS}`);
    this.statements = new StatementCache(this.db);
    this.direct = new SqliteExecutor(this.db, this.statements);
    if (file) {
      this.readerDb = new BunSqlite(path);
      for (const pragma of SQLITE_READER_PRAGMAS) this.readerDb.exec(pragma);
      defineFunctions(this.readerDb);
      this.readerStatements = new StatementCache(this.readerDb);
      this.reader = new SqliteExecutor(this.readerDb, this.readerStatements);
    }
  }

  get monitor(): Executor {
    return this.reader ?? this;
  }

  all<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    if (this.reader && isSelect(sql)) return this.reading((r) => r.all<T>(sql, params));
    return this.writing(() => this.direct.all<T>(sql, params));
  }
  get<T>(sql: string, params: SqlValue[] = []): Promise<T | undefined> {
    if (this.reader && isSelect(sql)) return this.reading((r) => r.get<T>(sql, params));
    return this.writing(() => this.direct.get<T>(sql, params));
  }
  rawRows(sql: string, params: SqlValue[] = []): Promise<RawValue[][]> {
    if (this.reader && isSelect(sql)) return this.reading((r) => r.rawRows(sql, params));
    return this.writing(() => this.direct.rawRows(sql, params));
  }

  /**
   * A read of the read connection outside transactions: at once, unless a {@link readSnapshot} holds
   * the connection in its read transaction (the read would see that older snapshot: a client's own
   * write, acknowledged since, missing); then after it.
   */
  private reading<T>(fn: (reader: Executor) => Promise<T>): Promise<T> {
    const reader = this.reader!;
    return this.snapshotOpen ? this.snapshots.run(() => fn(reader)) : fn(reader);
  }

  /**
   * `fn`'s reads in one read transaction of the read connection (a deferred BEGIN: the snapshot is
   * taken by its first statement), one such transaction at a time. Without a read connection
   * (`:memory:`, read-only), under the writer's lock: nothing commits meanwhile.
   */
  readSnapshot<T>(fn: (exec: Executor) => Promise<T>): Promise<T> {
    const [reader, readerDb] = [this.reader, this.readerDb];
    if (!reader || !readerDb) return this.lock.run(() => fn(this.direct));
    return this.snapshots.run(async () => {
      readerDb.exec("BEGIN");
      this.snapshotOpen = true;
      try {
        return await fn(reader);
      } finally {
        this.snapshotOpen = false;
        readerDb.exec("COMMIT");
      }
    });
  }
  run(sql: string, params: SqlValue[] = []): Promise<{ changes: number }> {
    return this.writing(async () => {
      const r = await this.direct.run(sql, params);
      this.checkpointer?.written();
      return r;
    });
  }

  /**
   * A script runs in a transaction of its own (as a Postgres simple query does): a statement of it
   * cannot fail busy half-way, after those before it were committed, and be waited for and tried again.
   */
  exec(sql: string): Promise<void> {
    return this.storage.watch(this.execNow(sql));
  }

  private async execNow(sql: string): Promise<void> {
    await this.lock.run(async () => {
      this.verify();
      await this.begin();
      try {
        this.db.exec(sql);
      } catch (err) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw err;
      }
      this.commit();
      this.checkpointer?.written();
    });
  }

  /**
   * One statement of the writer outside transactions (it may write: {@link verify} before each
   * attempt), under the lock; a lock another process holds is waited for on the event loop
   * ({@link retryWhileBusy}: a statement that fails busy did nothing). A file removed during that
   * wait is noticed before the statement commits to it.
   */
  private writing<T>(fn: () => Promise<T>): Promise<T> {
    return this.storage.watch(
      this.lock.run(() =>
        retryWhileBusy(() => {
          this.verify();
          return fn();
        }, SQLITE_BUSY_TIMEOUT_MS),
      ),
    );
  }

  /** `BEGIN IMMEDIATE`: takes the write lock, waiting for another process's on the event loop. */
  private begin(): Promise<void> {
    return retryWhileBusy(() => void this.db.exec("BEGIN IMMEDIATE"), SQLITE_BUSY_TIMEOUT_MS);
  }

  /**
   * COMMIT, unless a file was removed or replaced meanwhile (the COMMIT would go to a file that is
   * gone: {@link verify}); on a failure the transaction is rolled back (what the `-wal` holds copied
   * into the file if it is the `-wal` that went) and the error thrown.
   */
  private commit(): void {
    try {
      this.verify();
      this.db.exec("COMMIT");
    } catch (err) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      if (err instanceof ConnectionLostError) this.copyWalIntoFile();
      throw err;
    }
  }

  verify(): void {
    const changed = this.files?.changed();
    if (!changed) return;
    this.lostFile = changed;
    if (!this.db.inTransaction) this.copyWalIntoFile();
    throw new ConnectionLostError(`the database file ${changed} was removed or replaced while the server ran: restart it`);
  }

  /**
   * Copies the commits the `-wal` holds into the database file, once the `-wal` was found removed or
   * replaced: this connection still reads it when the name is gone, and a commit acknowledged just
   * before (the worker's checkpoint comes {@link Checkpointer} a moment after) would otherwise live
   * only as long as the process. Not when another file went: with the `-shm` gone another process may
   * write beside the server, and a checkpoint from this connection's view could write stale pages over
   * its; with the database file gone there is nothing to copy into. A checkpoint copies nothing while
   * another runs (the checkpoint worker's, started before the last commits), and no commit after
   * the state that a read of another process still reads (a backup, an operator's shell): the first
   * time, it is tried again until every frame is copied, for up to {@link SQLITE_BUSY_TIMEOUT_MS},
   * blocking the process meanwhile (the 503 that follows must not come before the copy: a crash
   * after it would lose writes acknowledged before); then once at each later check. Nothing is
   * committed meanwhile: every write path checks the files first.
   */
  private copyWalIntoFile(): void {
    if (!this.lostFile?.endsWith("-wal") || this.walCopy === "done") return;
    const deadline = this.walCopy === "untried" ? performance.now() + SQLITE_BUSY_TIMEOUT_MS : 0;
    this.walCopy = "tried";
    for (;;) {
      try {
        const r = this.statements.get("PRAGMA wal_checkpoint(PASSIVE)").get() as { busy: number; log: number; checkpointed: number };
        if (r.busy === 0 && r.checkpointed >= r.log) {
          this.walCopy = "done";
          return;
        }
      } catch {
        return; // an error, not a wait (I/O, a closed connection): the next check tries again
      }
      if (performance.now() >= deadline) return;
      Bun.sleepSync(5);
    }
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.storage.watch(
      new Promise<T>((resolve, reject) => {
        this.queued.push({ fn, resolve: resolve as (v: unknown) => void, reject });
        this.scheduleGroup();
      }),
    );
  }

  storageFullAt(): Date | null {
    return this.storage.latest();
  }

  /**
   * Queues a run of the next group behind the lock, unless one is queued already. The group starts
   * in the next turn of the event loop (`setImmediate`), not right away: bun:sqlite never yields, so
   * a transaction started at once would run and commit before the other requests read in the same
   * turn reach theirs, and concurrent pushes would never share a COMMIT (measured: every group of
   * the bench's 20 concurrent devices had one member; with the turn, up to 14 and a third less of
   * the server's CPU per change).
   */
  private scheduleGroup(): void {
    if (this.groupScheduled) return;
    this.groupScheduled = true;
    setImmediate(() => void this.lock.run(() => this.runGroup()));
  }

  /** Runs the transactions queued so far (up to MAX_GROUP) and commits them together. */
  private async runGroup(): Promise<void> {
    const group = this.queued.splice(0, MAX_GROUP);
    this.groupScheduled = false;
    if (this.queued.length > 0) this.scheduleGroup();
    if (group.length === 0) return;

    const done: { m: Queued; result: unknown; state: TxState }[] = [];
    try {
      this.verify(); // nothing is acknowledged that would go to a file nobody opens again
      await this.begin();
    } catch (err) {
      for (const m of group) m.reject(err);
      return;
    }
    const alone = group.length === 1;
    const turns = new Turns();
    for (let i = 0; i < group.length; i++) {
      const m = group[i];
      const state = new TxState();
      const tx = new SqliteTx(this.db, this.statements, state, turns);
      if (!alone) this.db.exec("SAVEPOINT grp");
      try {
        const result = await m.fn(tx);
        await state.flush(tx);
        if (!alone) this.db.exec("RELEASE grp");
        done.push({ m, result, state });
      } catch (err) {
        m.reject(err);
        if (alone || !this.db.inTransaction) {
          // The whole SQLite transaction is gone (or was only this one): the members done so far
          // were not committed; those not run yet go to the next group.
          if (this.db.inTransaction) this.db.exec("ROLLBACK");
          for (const d of done) d.m.reject(err);
          this.requeue(group.slice(i + 1));
          return;
        }
        this.db.exec("ROLLBACK TO grp");
        this.db.exec("RELEASE grp");
      } finally {
        tx.closed = true;
      }
    }
    try {
      this.commit();
    } catch (err) {
      for (const d of done) d.m.reject(err);
      return;
    }
    this.checkpointer?.written();
    if (done.length > 0) {
      this.groups.committed++;
      this.groups.transactions += done.length;
    }
    for (const d of done) {
      d.state.runAfterCommit();
      d.m.resolve(d.result);
    }
  }

  private requeue(members: Queued[]): void {
    if (members.length === 0) return;
    this.queued.unshift(...members);
    this.scheduleGroup();
  }

  async backup(target: string): Promise<void> {
    // The read connection reads the last commit without waiting for the writer; a read-only or
    // in-memory database has one connection (in memory, the writer: taken under the lock).
    if (this.readerDb) vacuumInto(this.readerDb, target);
    else await this.lock.run(async () => vacuumInto(this.db, target));
  }

  async close(): Promise<void> {
    // Transactions asked for before close, whose groups wait for the next turn, still run first.
    while (this.queued.length > 0) await this.lock.run(() => this.runGroup());
    await this.checkpointer?.close();
    await this.lock.run(async () => {
      // Statements left compiled would keep each connection open past close() (sqlite3_close_v2), and
      // the writer's close would then not checkpoint the -wal into the file.
      this.readerStatements?.finalizeAll();
      this.readerDb?.close();
      this.statements.finalizeAll();
      this.db.close();
    });
  }
}

/**
 * Compiled statements by SQL text, least recently used evicted. bun:sqlite's own cache
 * (`db.query`) keeps only 20, fewer than one push touches (multi-row statements of several sizes,
 * IN lists, the per-request lookups): it thrashed, and every big multi-row INSERT was compiled
 * again on every batch.
 */
class StatementCache {
  private readonly map = new Map<string, Statement>();
  constructor(
    private readonly db: BunSqlite,
    private readonly max = 500,
  ) {}

  get(sql: string): Statement {
    let stmt = this.map.get(sql);
    if (stmt !== undefined) {
      this.map.delete(sql);
      this.map.set(sql, stmt);
      return stmt;
    }
    stmt = this.db.prepare(sql);
    if (this.map.size >= this.max) {
      const [oldest, evicted] = this.map.entries().next().value!;
      this.map.delete(oldest);
      evicted.finalize();
    }
    this.map.set(sql, stmt);
    return stmt;
  }

  /** Finalizes every statement (before the connection closes). */
  finalizeAll(): void {
    for (const stmt of this.map.values()) stmt.finalize();
    this.map.clear();
  }
}

class SqliteExecutor implements Executor {
  readonly dialect = "sqlite" as const;
  constructor(
    protected readonly db: BunSqlite,
    private readonly cache: StatementCache,
  ) {}

  protected stmt(sql: string): Statement {
    return this.cache.get(sql);
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
  async rawRows(sql: string, params: SqlValue[] = []): Promise<RawValue[][]> {
    return this.stmt(sql).values(...params) as RawValue[][];
  }
  async exec(sql: string): Promise<void> {
    this.db.exec(sql);
  }
}

/**
 * One member of a group commit. Once its turn is over (`closed`), it refuses every statement: the
 * connection has gone on to the next member or transaction, which a late statement would join. So it
 * does once SQLite itself has rolled the whole transaction back after a failed statement (it may on
 * SQLITE_FULL and some I/O errors): a statement run then would commit on its own, outside the
 * transaction (a `SAVEPOINT` would even begin another).
 */
class SqliteTx extends SqliteExecutor implements Tx {
  closed = false;
  private depth = 0;
  constructor(
    db: BunSqlite,
    cache: StatementCache,
    private readonly state: TxState,
    /** The group's turns of the event loop, taken before each statement. */
    private readonly turns: Turns,
  ) {
    super(db, cache);
  }
  override async all<T>(sql: string, params?: SqlValue[]): Promise<T[]> {
    await this.turns.take();
    return super.all<T>(sql, params);
  }
  override async get<T>(sql: string, params?: SqlValue[]): Promise<T | undefined> {
    await this.turns.take();
    return super.get<T>(sql, params);
  }
  override async run(sql: string, params?: SqlValue[]): Promise<{ changes: number }> {
    await this.turns.take();
    return super.run(sql, params);
  }
  override async rawRows(sql: string, params?: SqlValue[]): Promise<RawValue[][]> {
    await this.turns.take();
    return super.rawRows(sql, params);
  }

  private mustBeOpen(): void {
    if (this.closed) throw new Error("a statement on a transaction that has already ended");
    if (!this.db.inTransaction) throw new Error("a statement on a transaction that SQLite rolled back after a failed statement");
  }
  protected override stmt(sql: string): Statement {
    this.mustBeOpen();
    return super.stmt(sql);
  }
  override async exec(sql: string): Promise<void> {
    this.mustBeOpen();
    await super.exec(sql);
  }
  async savepoint<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.mustBeOpen();
    const name = `sp${++this.depth}`;
    const mark = this.state.mark();
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn(this);
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      // Unless SQLite rolled the whole transaction back (the savepoint went with it): `err` says why.
      if (this.db.inTransaction) {
        this.db.exec(`ROLLBACK TO ${name}`);
        this.db.exec(`RELEASE ${name}`);
      }
      this.state.rollbackTo(mark);
      throw err;
    } finally {
      this.depth--;
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
