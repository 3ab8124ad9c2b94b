/**
 * Storage failures that callers may tell apart from bugs: the database connection was lost or
 * could not be made (a restart, a terminated backend, a dropped database, a network failure).
 * The HTTP layer answers them 503 `unavailable`; the request may be retried.
 */
export class ConnectionLostError extends Error {
  override readonly name = "ConnectionLostError";
  constructor(
    message = "the database connection was lost",
    /** The driver's error (for logs only: never sent to clients). */
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}
