import { availableParallelism } from "node:os";
import { DomainError } from "../errors";

/** Logins one client address may have in the gate at once (running or waiting), by default. */
export const LOGINS_PER_CLIENT = 8;

/**
 * Bounds the password checks of logins on this instance: at most `running` at once (an Argon2id
 * check takes a core and 64 MiB for about 0.1 s) and `waiting` queued behind them, and of those at
 * most `perClient` from one client address (as the login rate limit keys it: an IPv6 address by its
 * /64). A login beyond that answers 503 `unavailable` at once, with `Retry-After`, before it is
 * counted or checked. A flood of logins — with unknown emails too, which are checked against a
 * dummy hash so that timing does not tell which accounts exist — then keeps at most `running` cores
 * busy, and the rest of the server (pushes, pulls) goes on answering; and one client flooding alone
 * fills at most its share of the queue, so that other clients' logins still get through (without
 * the share, one client with 65 connections had every other login answered 503).
 */
export class LoginGate {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  /** Logins in the gate (running or waiting) per client address; absent: none. */
  private readonly held = new Map<string, number>();

  constructor(
    private readonly running = Math.max(1, availableParallelism() - 1),
    private readonly waiting = 64,
    private readonly perClient = LOGINS_PER_CLIENT,
  ) {}

  /** Runs `fn` for `client` once a check may start; throws 503 when `waiting` logins already wait, or `perClient` of this client's are in. */
  async run<T>(client: string, fn: () => Promise<T>): Promise<T> {
    const mine = this.held.get(client) ?? 0;
    if (mine >= this.perClient) throw busy();
    let queued = false;
    if (this.active < this.running) this.active++;
    else if (this.queue.length < this.waiting) queued = true;
    else throw busy();
    this.held.set(client, mine + 1);
    try {
      if (queued) await new Promise<void>((resolve) => this.queue.push(resolve));
      return await fn();
    } finally {
      const left = this.held.get(client)! - 1;
      if (left === 0) this.held.delete(client);
      else this.held.set(client, left);
      // The slot goes to the next waiting login, if any.
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}

const busy = () =>
  new DomainError("unavailable", "too many logins at once on this server; try again in a moment", { retry_after: 1 }, { "Retry-After": "1" });
