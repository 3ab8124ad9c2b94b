import { ConfigError } from "../src/config";
import { DomainError } from "../src/errors";

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
  if (err instanceof DomainError) return oneLine(err.message + (err.code === "validation_failed" ? fieldReasons(err.details.fields) : ""));
  if (err instanceof ConfigError || err instanceof CliError) return oneLine(err.message);
  if (err instanceof Error) return oneLine(err.message || err.name);
  return oneLine(String(err));
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

/** " (password: must be at least 8 characters)" from a validation error's `details.fields`. */
function fieldReasons(fields: unknown): string {
  if (!fields || typeof fields !== "object") return "";
  const parts = Object.entries(fields).map(([k, v]) => `${k}: ${String(v)}`);
  return parts.length > 0 ? ` (${parts.join("; ")})` : "";
}
