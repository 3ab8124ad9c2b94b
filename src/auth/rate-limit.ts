import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { DomainError } from "../errors";

/** Failed logins allowed per (account, client address) within the window. */
export const LOGIN_FAILURES_ALLOWED = 5;
export const LOGIN_WINDOW_SECONDS = 15 * 60;

/**
 * Counts failed logins per (email, client address) in process memory. Once the budget is spent every
 * attempt for that pair answers 429 until the window ends — a right password included, otherwise the
 * 429/200 difference would keep the guessing going. Successes spend nothing and clear the count;
 * other accounts and other addresses have their own budget.
 */
export class LoginLimiter {
  private readonly limiter: RateLimiterMemory;
  constructor(
    private readonly points = LOGIN_FAILURES_ALLOWED,
    duration = LOGIN_WINDOW_SECONDS,
  ) {
    this.limiter = new RateLimiterMemory({ points, duration, keyPrefix: "login" });
  }

  /** Throws 429 with `Retry-After` when the pair has no attempts left. */
  async check(email: string, address: string): Promise<void> {
    const res = await this.limiter.get(key(email, address));
    if (res && res.consumedPoints >= this.points) throw limited(res);
  }

  async failed(email: string, address: string): Promise<void> {
    try {
      await this.limiter.consume(key(email, address));
    } catch (res) {
      if (res instanceof RateLimiterRes) throw limited(res);
      throw res;
    }
  }

  async succeeded(email: string, address: string): Promise<void> {
    await this.limiter.delete(key(email, address));
  }
}

const key = (email: string, address: string) => `${email}\n${address}`;

function limited(res: RateLimiterRes): DomainError {
  const seconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  return new DomainError("rate_limited", "too many failed logins; try again later", { retry_after: seconds }, { "Retry-After": String(seconds) });
}
