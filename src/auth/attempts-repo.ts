import type { Executor } from "../db/types";

/** A pair's count in its current window, as left by `record`. */
export interface AttemptWindow {
  attempts: number;
  windowEndsAt: string;
}

/** Expired rows deleted, at most, each time a new window starts. */
const EXPIRED_BATCH = 100;

/**
 * `login_attempts`: login attempts per (account, client address), shared by every instance on the
 * database. Its `email` column holds the account's key as the limiter is given it (a keyed hash of
 * the normalized email since 2026-12-06; rows of earlier versions expire with their window).
 * Logins come before any organization is known, so this repository is not scoped by one.
 */
export class LoginAttemptsRepo {
  constructor(private readonly exec: Executor) {}

  /**
   * Counts one attempt in one atomic upsert: the pair's window goes on, or (absent or ended) a new
   * one starts at `now` and ends at `windowEndsAt`. Returns the count and end of the window after it.
   * A window never ends later than `windowEndsAt`: one that would was started by a clock ahead of
   * this one (the server's clock set back, or another instance's running fast), and keeps its count
   * but ends then, rather than locking the pair out for as long as the clocks differ.
   */
  async record(account: string, address: string, now: string, windowEndsAt: string): Promise<AttemptWindow> {
    const row = await this.exec.get<{ attempts: number; window_ends_at: string }>(
      `INSERT INTO login_attempts (email, address, attempts, window_ends_at) VALUES (?, ?, 1, ?)
       ON CONFLICT (email, address) DO UPDATE SET
         attempts = CASE WHEN login_attempts.window_ends_at <= ? THEN 1 ELSE login_attempts.attempts + 1 END,
         window_ends_at = CASE WHEN login_attempts.window_ends_at <= ? OR login_attempts.window_ends_at > excluded.window_ends_at
           THEN excluded.window_ends_at ELSE login_attempts.window_ends_at END
       RETURNING attempts, window_ends_at`,
      [account, address, windowEndsAt, now, now],
    );
    return { attempts: Number(row!.attempts), windowEndsAt: row!.window_ends_at };
  }

  async clear(account: string, address: string): Promise<void> {
    await this.exec.run("DELETE FROM login_attempts WHERE email = ? AND address = ?", [account, address]);
  }

  /**
   * Deletes up to a small batch of rows whose window ended at or before `now`; returns how many. The
   * outer condition repeats the subquery's: on Postgres, a row renewed by an attempt committing while
   * this waits for it is checked again against the outer condition only, and would be deleted with
   * its new window's count (test/auth/login-attempts-cleanup-race.test.ts).
   */
  async deleteExpired(now: string): Promise<number> {
    const { changes } = await this.exec.run(
      `DELETE FROM login_attempts WHERE window_ends_at <= ? AND (email, address) IN
         (SELECT email, address FROM login_attempts WHERE window_ends_at <= ? ORDER BY window_ends_at LIMIT ?)`,
      [now, now, EXPIRED_BATCH],
    );
    return changes;
  }
}
