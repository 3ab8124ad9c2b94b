import { chmodSync, closeSync, openSync } from "node:fs";

/**
 * Creates `path` empty, readable and writable by its owner only (0600), unless it exists (then
 * nothing). For a database file that SQLite then opens: SQLite creates a missing file
 * with mode 0644 (less the umask), and a chmod after it leaves an instant in which another local
 * user may open the file and keep reading it (every password and token hash written later). An empty
 * file is an empty database to SQLite. `wx` never follows a symbolic link put in the file's place.
 */
export function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, "wx", 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return; // there already (or another process created it meanwhile): as it is
    throw err;
  }
  chmodSync(path, 0o600); // a umask such as 0277 would have taken the owner's own write permission
}
