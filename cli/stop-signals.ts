/**
 * SIGINT, SIGTERM and SIGHUP for `taskmgr serve` (and `taskmgr jobs run`, cli/jobs.ts), watched from the moment
 * the command starts (before the database is opened and migrated), so that no signal finds the process without a handler:
 *
 * - the first one asks for a graceful stop: {@link StopSignals.first} resolves (a start still
 *   migrating or creating the admin finishes that step first);
 * - the same signal again within {@link FORCE_AFTER_MS} is ignored (a terminal's Ctrl-C reaches every
 *   process of the group, and bin/taskmgr.js forwards it too);
 * - one that comes later is an operator insisting: {@link StopSignals.onForce} says what it does
 *   (while starting: exit at once, should a step hang; while draining: cut the requests off).
 *
 * The handlers stay until the process exits ({@link StopSignals.dispose} is for tests).
 */

/**
 * The signals that stop the server gracefully. SIGHUP too: a terminal that closes (an SSH session
 * that ends) sends it, and by default it ended the process at once, cutting requests in flight.
 */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** How long after the first signal another one forces the stop (sooner, it is the same signal again). */
export const FORCE_AFTER_MS = 1_000;

/** The process's SIGINT, SIGTERM and SIGHUP handlers, as described above. */
export class StopSignals {
  /** The first signal, once it came. */
  signal: NodeJS.Signals | null = null;
  /** Resolves with the first signal. */
  readonly first: Promise<NodeJS.Signals>;
  private firstAt = 0;
  private force: (signal: NodeJS.Signals) => void;
  private readonly handler: (signal: NodeJS.Signals) => void;

  /** `whileStarting`: what a forcing signal does until {@link onForce} says otherwise. */
  constructor(whileStarting: (signal: NodeJS.Signals) => void) {
    this.force = whileStarting;
    let resolve!: (s: NodeJS.Signals) => void;
    this.first = new Promise((r) => (resolve = r));
    this.handler = (signal: NodeJS.Signals) => {
      if (this.signal === null) {
        this.signal = signal;
        this.firstAt = Date.now();
        resolve(signal);
      } else if (Date.now() - this.firstAt >= FORCE_AFTER_MS) {
        this.force(signal);
      }
    };
    for (const signal of STOP_SIGNALS) process.on(signal, this.handler);
  }

  /** Stops watching (`serve` never does: its handlers stay until the process exits). */
  dispose(): void {
    for (const signal of STOP_SIGNALS) process.off(signal, this.handler);
  }

  /** What a forcing signal does from now on. */
  onForce(fn: (signal: NodeJS.Signals) => void): void {
    this.force = fn;
  }

  /**
   * Runs `fn` with forcing signals held back: one that comes meanwhile takes effect once `fn` is
   * done (for a step that must not be cut off halfway, such as creating the first admin and
   * showing its password).
   */
  async holdingForce<T>(fn: () => Promise<T>): Promise<T> {
    const force = this.force;
    let held: NodeJS.Signals | null = null;
    this.force = (signal) => void (held ??= signal);
    try {
      return await fn();
    } finally {
      this.force = force;
      if (held !== null) force(held);
    }
  }
}
