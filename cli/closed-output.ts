/**
 * What a standard output closed by its reader means. For a command that prints a result (a listing)
 * it is a failure: the result was lost (one line, status 1: cli/main.ts). For `serve` it is nothing:
 * its stdout only mirrors the log file, and a server whose `| head` has exited must go on serving
 * (and finish what is in flight when it is stopped, exiting 0).
 */
let tolerated = false;

/** From now on a closed standard output is ignored (`serve`). */
export function tolerateClosedOutput(): void {
  tolerated = true;
}

/** Whether a closed standard output is ignored. */
export function closedOutputTolerated(): boolean {
  return tolerated;
}
