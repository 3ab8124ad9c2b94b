/** Reading a `DATABASE_URL`: the SQLite file it names, and its text safe to print. */
import { libpqDecode } from "./pg-url";

/**
 * The SQLite file (or `:memory:`) a `sqlite:` URL names, "" for `sqlite:` alone; null for another
 * kind of URL. `sqlite:///abs/x.db` names `/abs/x.db`; any other `sqlite://…` is refused by the
 * configuration ({@link isAmbiguousSqliteUrl}). `:memory:` in any letter case (`sqlite::Memory:`) is
 * `:memory:`: SQLite reads only the lower-case name so, and would create a file named `:Memory:`.
 */
export function sqlitePath(url: string): string | null {
  if (!url.startsWith("sqlite:")) return null;
  const path = url.slice("sqlite:".length);
  if (path.toLowerCase() === MEMORY) return MEMORY;
  return path.startsWith("///") ? path.slice(2) : path;
}

/** The name SQLite reads as a new in-memory database. */
const MEMORY = ":memory:";

/**
 * `sqlite://x/y.db`: read by earlier versions as `/x/y.db` (two slashes then a path) and by other
 * tools as `x/y.db`. Refused rather than guessed, so that no deployment silently opens another file:
 * `sqlite:./x/y.db` (relative) or `sqlite:///x/y.db` (absolute) say it.
 */
export function isAmbiguousSqliteUrl(url: string): boolean {
  return url.startsWith("sqlite://") && !url.startsWith("sqlite:///");
}

/**
 * The URL without its password, safe for logs and error messages: whatever stands between the
 * user name and the last `@` of `scheme://user:password@…` is masked, without parsing (a password
 * holding `/`, `#` or `@` unencoded does not parse as a URL, or parses into another one).
 */
export function redact(url: string): string {
  // A parameter's name counts as src/db/pg-url.ts reads it, percent-escapes decoded (`pass%77ord=`).
  const masked = url.replace(/([?&])([^=&#]*)=([^&]*)/g, (whole, sep: string, name: string) => (libpqDecode(name).toLowerCase() === "password" ? `${sep}${name}=***` : whole));
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@/i.exec(masked);
  if (!m) return masked;
  const [whole, scheme, credentials] = m as unknown as [string, string, string];
  const colon = credentials.indexOf(":");
  return colon < 0 ? masked : `${scheme}${credentials.slice(0, colon)}:***@${masked.slice(whole.length)}`;
}
