import { ConfigError } from "../src/config";
import { isDatabaseBusy } from "../src/db/errors";
import { LOCK_TIMEOUT_MS } from "../src/db/postgres";
import { SQLITE_BUSY_TIMEOUT_MS } from "../src/db/sqlite";
import { DomainError } from "../src/errors";
import { printable } from "./output";

/** A failure the CLI reports as one line on stderr with exit status 1. */
export class CliError extends Error {}

/** A command line that cannot be run as given (a malformed option value): one line, exit status 2, like Commander's own usage errors. */
export class UsageError extends CliError {}

/**
 * The one line printed for a failed command: the message of an expected failure
 * (a DomainError, with the reason of each invalid field for a 422; a ConfigError; a CliError), or the
 * message of anything else.
 * Never a stack trace; newlines are folded so the line stays one line.
 */
export function describeFailure(err: unknown): string {
  if (isDatabaseBusy(err)) return oneLine(`${err instanceof Error ? err.message : String(err)}: ${BUSY}`);
  if (err instanceof DomainError) return oneLine(err.message + (err.code === "validation_failed" ? fieldReasons(err.details.fields) : ""));
  if (err instanceof ConfigError || err instanceof CliError) return oneLine(err.message);
  if (err instanceof Error) return oneLine(err.message || err.name);
  return oneLine(String(err));
}

/**
 * What to do about a lock another process held past the wait (SQLite's busy timeout, Postgres'
 * `lock_timeout`): the driver's bare "database is locked" named neither cause nor remedy.
 */
const BUSY =
  `another process held a lock this command needed for longer than it waits (SQLite ${SQLITE_BUSY_TIMEOUT_MS / 1000} s: a server's long write, an open sqlite3 transaction, a VACUUM, a backup; Postgres ${LOCK_TIMEOUT_MS / 1000} s); the step that waited was rolled back: run the command again once that is done`;

/** `s` on one line, its control characters escaped: a message may echo an argument as typed (`users deactivate $'\e[31m'`). */
function oneLine(s: string): string {
  return printable(s.replace(/\s*\n\s*/g, " ").trim());
}

/** " (password: must be at least 8 characters)" from a validation error's `details.fields`. */
function fieldReasons(fields: unknown): string {
  if (!fields || typeof fields !== "object") return "";
  const parts = Object.entries(fields).map(([k, v]) => `${k}: ${String(v)}`);
  return parts.length > 0 ? ` (${parts.join("; ")})` : "";
}
