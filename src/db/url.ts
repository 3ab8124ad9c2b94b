/** Reading a `DATABASE_URL`: the SQLite file it names, and its text safe to print. */

/**
 * The SQLite file (or `:memory:`) a `sqlite:` URL names, "" for `sqlite:` alone; null for another
 * kind of URL. `sqlite:///abs/x.db` is `/abs/x.db` and `sqlite://./x.db` is `./x.db` (two slashes
 * after the scheme are dropped, as in other tools' SQLite URLs).
 */
export function sqlitePath(url: string): string | null {
  if (!url.startsWith("sqlite:")) return null;
  const path = url.slice("sqlite:".length);
  return path.startsWith("//") ? path.slice(2) : path;
}

/** The URL without its password, safe for logs and error messages (text that is not a URL is masked the same way). */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, "$1***@");
  }
}
