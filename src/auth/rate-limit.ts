import type { Executor } from "../db/types";
import { DomainError } from "../errors";
import type { Clock } from "../time";
import { LoginAttemptsRepo } from "./attempts-repo";

/** Failed logins allowed per (account, client address) within the window. */
export const LOGIN_FAILURES_ALLOWED = 5;
export const LOGIN_WINDOW_SECONDS = 15 * 60;

/**
 * Limits logins per (account, client address) through the database (`login_attempts`), so every
 * instance sharing it shares the budget. Fixed window: it starts at the pair's first attempt and
 * lasts `duration` seconds; later attempts do not extend it. Each attempt is counted by one atomic
 * upsert (a single statement) BEFORE the password is checked, so concurrent requests cannot all slip
 * past one check; a successful login deletes the pair's row, so successes spend nothing and clear
 * the count. Once the budget is spent every attempt answers 429 until the window ends — a right
 * password included, otherwise the 429/200 difference would keep the guessing going. Other accounts
 * and other addresses have their own budget. The account is named by the key its caller gives (a
 * keyed hash of the normalized email: src/auth/service.ts), never by the email as typed.
 */
export class LoginLimiter {
  /** The last attempt of each pair still running on this instance (see {@link oneAtATime}). */
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: Executor,
    private readonly clock: Clock,
    private readonly points = LOGIN_FAILURES_ALLOWED,
    private readonly duration = LOGIN_WINDOW_SECONDS,
  ) {}

  /** Counts an attempt; throws 429 with `Retry-After` when the pair has already spent its budget. */
  async attempt(account: string, address: string): Promise<void> {
    const now = this.clock.now();
    const windowEndsAt = new Date(now.getTime() + this.duration * 1000).toISOString();
    const repo = new LoginAttemptsRepo(this.db);
    const counted = await repo.record(account, address, now.toISOString(), windowEndsAt);
    if (counted.attempts === 1) await repo.deleteExpired(now.toISOString());
    if (counted.attempts > this.points) throw limited(Date.parse(counted.windowEndsAt) - now.getTime());
  }

  /**
   * Runs `fn` — a login's {@link attempt}, its password check and its outcome — once this
   * instance's earlier attempts of the same pair have ended. Logins of one account from one
   * address on one instance then count one after the other: several right passwords sent at once
   * (a user's devices starting together) all succeed, each success clearing the count before the
   * next is counted, instead of the ones over the budget answering 429.
   */
  async oneAtATime<T>(account: string, address: string, fn: () => Promise<T>): Promise<T> {
    const key = `${account}\n${address}`;
    const run = (this.running.get(key) ?? Promise.resolve()).then(fn);
    const settled = run.catch(() => {});
    this.running.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.running.get(key) === settled) this.running.delete(key);
    }
  }

  /** A successful login: the pair's attempts are forgotten. */
  async succeeded(account: string, address: string): Promise<void> {
    await new LoginAttemptsRepo(this.db).clear(account, address);
  }
}

function limited(msLeft: number): DomainError {
  const seconds = Math.max(1, Math.ceil(msLeft / 1000));
  return new DomainError("rate_limited", "too many failed logins; try again later", { retry_after: seconds }, { "Retry-After": String(seconds) });
}
