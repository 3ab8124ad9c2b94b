/**
 * Turns of the event loop inside long SQLite transactions. bun:sqlite runs each statement
 * synchronously, so a transaction whose statements are awaited one after the other never lets the
 * event loop run: a push of edits to a thousand records with long descriptions (seconds of writing)
 * held the whole process — every other request, reads and health checks of every organization
 * included — until its COMMIT. The writer still runs one transaction at a time (its mutex); what a
 * turn lets in is the rest: reads on the read connection, requests being parsed, answers being sent.
 */

/** How long a transaction runs statements at most before it lets the event loop take a turn. */
export const SQLITE_TURN_MS = 25;

/** A transaction's (a commit group's) clock of turns: {@link take} before each statement. */
export class Turns {
  private last = performance.now();

  /**
   * Resolves at once, unless {@link SQLITE_TURN_MS} or more have passed since the last turn: then
   * after one (`setImmediate`: timers and I/O callbacks run first).
   */
  async take(): Promise<void> {
    if (performance.now() - this.last < SQLITE_TURN_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = performance.now();
  }
}
