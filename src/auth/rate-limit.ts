import type { Executor } from "../db/types";
import { DomainError } from "../errors";
import type { Clock } from "../time";
import { LoginAttemptsRepo } from "./attempts-repo";

/** Failed logins allowed per (account, client address) within the window. */
export const LOGIN_FAILURES_ALLOWED = 5;
export const LOGIN_WINDOW_SECONDS = 15 * 60;

/**
 * Limits logins per (email, client address) through the database (`login_attempts`), so every
 * instance sharing it shares the budget. Fixed window: it starts at the pair's first attempt and
 * lasts `duration` seconds; later attempts do not extend it. Each attempt is counted by one atomic
 * upsert (a single statement) BEFORE the password is checked, so concurrent requests cannot all slip
 * past one check; a successful login deletes the pair's row, so successes spend nothing and clear
 * the count. Once the budget is spent every attempt answers 429 until the window ends — a right
 * password included, otherwise the 429/200 difference would keep the guessing going. Other accounts
 * and other addresses have their own budget.
 */
export class LoginLimiter {
  constructor(
    private readonly db: Executor,
    private readonly clock: Clock,
    private readonly points = LOGIN_FAILURES_ALLOWED,
    private readonly duration = LOGIN_WINDOW_SECONDS,
  ) {}

  /** Counts an attempt; throws 429 with `Retry-After` when the pair has already spent its budget. */
  async attempt(email: string, address: string): Promise<void> {
    const now = this.clock.now();
    const windowEndsAt = new Date(now.getTime() + this.duration * 1000).toISOString();
    const repo = new LoginAttemptsRepo(this.db);
    const counted = await repo.record(email, address, now.toISOString(), windowEndsAt);
    if (counted.attempts === 1) await repo.deleteExpired(now.toISOString());
    if (counted.attempts > this.points) throw limited(Date.parse(counted.windowEndsAt) - now.getTime());
  }

  /** A successful login: the pair's attempts are forgotten. */
  async succeeded(email: string, address: string): Promise<void> {
    await new LoginAttemptsRepo(this.db).clear(email, address);
  }
}

function limited(msLeft: number): DomainError {
  const seconds = Math.max(1, Math.ceil(msLeft / 1000));
  return new DomainError("rate_limited", "too many failed logins; try again later", { retry_after: seconds }, { "Retry-After": String(seconds) });
}
