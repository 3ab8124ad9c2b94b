import { availableParallelism } from "node:os";
import { DomainError } from "../errors";

/**
 * Bounds the password checks of logins on this instance: at most `running` at once (an Argon2id
 * check takes a core and 64 MiB for about 0.1 s) and `waiting` queued behind them. A login beyond
 * that answers 503 `unavailable` at once, with `Retry-After`, before it is counted or checked. A
 * flood of logins — with unknown emails too, which are checked against a dummy hash so that timing
 * does not tell which accounts exist — then keeps at most `running` cores busy, and the rest of the
 * server (pushes, pulls) goes on answering.
 */
export class LoginGate {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly running = Math.max(1, availableParallelism() - 1),
    private readonly waiting = 64,
  ) {}

  /** Runs `fn` once a check may start; throws 503 when `waiting` logins already wait. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.running) this.active++;
    else if (this.queue.length < this.waiting) await new Promise<void>((resolve) => this.queue.push(resolve));
    else throw busy();
    try {
      return await fn();
    } finally {
      // The slot goes to the next waiting login, if any.
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}

const busy = () =>
  new DomainError("unavailable", "too many logins at once on this server; try again in a moment", { retry_after: 1 }, { "Retry-After": "1" });
