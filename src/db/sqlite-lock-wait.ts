/**
 * Waiting for another process's lock on a SQLite file without blocking the event loop.
 *
 * bun:sqlite is synchronous: a `busy_timeout` waits inside the statement, and the whole process (health
 * checks, reads on the other connection, every other request) waits with it. So the writer connection
 * keeps a `busy_timeout` of {@link WRITER_BUSY_TIMEOUT_MS} once it is open, and what needs the write
 * lock is tried again after a short sleep on the event loop instead, for as long as busy_timeout
 * waited before (SQLITE_BUSY_TIMEOUT_MS). In WAL mode a transaction that holds the write lock (`BEGIN
 * IMMEDIATE` succeeded) needs no other lock: its statements and its COMMIT never meet SQLITE_BUSY.
 */
import { isDatabaseBusy } from "./errors";

/** The writer connection's `busy_timeout` once open: a lock held by another process fails at once, and is waited for by {@link retryWhileBusy}. */
export const WRITER_BUSY_TIMEOUT_MS = 0;

/** Sleeps between attempts, growing; the last one repeats. */
const BACKOFF_MS = [1, 2, 5, 10, 20, 50];

/**
 * Runs `attempt` until it does not fail busy (SQLITE_BUSY*), sleeping between attempts, for up to
 * `timeoutMs`; then throws its last busy error (what busy_timeout threw). `attempt` must have done
 * nothing when it fails busy: `BEGIN IMMEDIATE`, or one statement outside a transaction.
 */
export async function retryWhileBusy<T>(attempt: () => T | Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      const left = deadline - performance.now();
      if (!isDatabaseBusy(err) || left <= 0) throw err;
      await Bun.sleep(Math.min(BACKOFF_MS[Math.min(i, BACKOFF_MS.length - 1)], left));
    }
  }
}
