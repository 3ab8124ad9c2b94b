/**
 * WAL checkpoints off the request path (SQLite files).
 *
 * In WAL mode every COMMIT appends the changed pages to the `-wal` file (fsynced: `synchronous =
 * FULL`); a checkpoint later copies them into the database file and fsyncs it. SQLite runs that
 * checkpoint inside the COMMIT that pushes the WAL past `wal_autocheckpoint` pages — on our only
 * connection, i.e. on the event loop, in the middle of a request: measured at 30–40% of the COMMIT
 * time of a 500-change push. Here a worker thread with its own connection runs
 * `PRAGMA wal_checkpoint(PASSIVE)` shortly after writes instead (PASSIVE never blocks writers or
 * readers), while the main connection keeps a far higher `wal_autocheckpoint` as a backstop should
 * the worker fall behind or fail.
 *
 * Durability is unchanged: a transaction is durable once its WAL frames are fsynced at COMMIT;
 * checkpoints only move committed pages and are crash-safe by SQLite's design.
 */

/** Pages the main connection lets the WAL grow to before it checkpoints itself (the backstop: 64 MB). */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 16_384;
/** A checkpoint is requested at most this often while writes go on. */
const CHECKPOINT_DELAY_MS = 50;

const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
let db = null;
self.onmessage = (event) => {
  const m = event.data;
  try {
    if (m.type === "open") {
      db = new Database(m.path);
      db.exec("PRAGMA busy_timeout = 5000");
      db.exec("PRAGMA synchronous = FULL");
      postMessage({ type: "opened" });
    } else if (m.type === "checkpoint") {
      const r = db.query("PRAGMA wal_checkpoint(PASSIVE)").get();
      postMessage({ type: "checkpointed", busy: r.busy, log: r.log, checkpointed: r.checkpointed });
    } else if (m.type === "close") {
      db?.close();
      db = null;
      postMessage({ type: "closed" });
    }
  } catch (err) {
    postMessage({ type: "error", message: String(err && err.message || err) });
  }
};
`;

/** Runs checkpoints of one database file in a worker thread. */
export class Checkpointer {
  private readonly worker: Worker;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private again = false;
  private closed = false;
  /** Answered when the checkpoint running now ends. */
  private waiters: (() => void)[] = [];
  /** Answered when the next checkpoint ends: they asked while one was running, which may have started before their writes. */
  private nextWaiters: (() => void)[] = [];
  private closing: (() => void) | null = null;
  private url: string | null = null;
  /** Checkpoints completed and the last error (for tests and diagnostics). */
  readonly stats = { checkpoints: 0, errors: 0, lastError: null as string | null };

  private constructor(path: string) {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
    this.url = url;
    this.worker = new Worker(url);
    this.worker.unref();
    this.worker.onmessage = (event: MessageEvent) => this.onMessage(event.data);
    this.worker.onerror = (event) => {
      this.stats.errors++;
      this.stats.lastError = String((event as ErrorEvent).message ?? "worker error");
      this.running = false;
      for (const w of [...this.waiters.splice(0), ...this.nextWaiters.splice(0)]) w();
    };
    this.worker.postMessage({ type: "open", path });
  }

  /** A checkpointer for `path`, or null when no worker can be started (then SQLite checkpoints inline as usual). */
  static start(path: string): Checkpointer | null {
    try {
      return new Checkpointer(path);
    } catch {
      return null;
    }
  }

  /** Called after a write committed: a checkpoint follows shortly (coalesced with later writes). */
  written(): void {
    if (this.closed || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, CHECKPOINT_DELAY_MS);
    this.timer.unref?.();
  }

  /** Runs a checkpoint that starts after this call and resolves when it is done (tests, shutdown). */
  checkpointNow(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      (this.running ? this.nextWaiters : this.waiters).push(resolve);
      this.run();
    });
  }

  private run(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.worker.postMessage({ type: "checkpoint" });
  }

  private onMessage(m: { type: string; message?: string }): void {
    if (m.type === "checkpointed" || m.type === "error") {
      if (m.type === "error") {
        this.stats.errors++;
        this.stats.lastError = m.message ?? "error";
      } else this.stats.checkpoints++;
      this.running = false;
      const waiters = this.waiters.splice(0);
      this.waiters = this.nextWaiters.splice(0);
      for (const w of waiters) w();
      if (this.again && !this.closed) {
        this.again = false;
        this.run();
      } else for (const w of this.waiters.splice(0)) w();
    } else if (m.type === "opened") {
      if (this.url) URL.revokeObjectURL(this.url);
      this.url = null;
    } else if (m.type === "closed") {
      this.closing?.();
    }
  }

  /** Stops the worker (the main connection's close then checkpoints what is left). */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.closed = true;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      this.closing = () => {
        clearTimeout(t);
        resolve();
      };
      this.worker.postMessage({ type: "close" });
    });
    this.worker.terminate();
  }
}
