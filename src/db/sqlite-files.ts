import { statSync } from "node:fs";

interface Identity {
  dev: number;
  ino: number;
}

function identity(path: string): Identity | null {
  try {
    const { dev, ino } = statSync(path);
    return { dev, ino };
  } catch {
    return null; // removed (or its folder unreadable)
  }
}

/**
 * The files a SQLite connection keeps open — the database and, in WAL mode, its `-wal` and `-shm` —
 * as they were when first seen, to notice one removed or replaced under a running server. The
 * connection goes on using the file it opened whatever happens to the name: a commit to a removed
 * `-wal` succeeds, yet lives only as long as the process (the next start opens the database
 * without it: acknowledged writes lost), and a removed `-shm` lets another process open the
 * database with a lock file of its own and write beside the server.
 */
export class OpenFiles {
  private readonly seen = new Map<string, Identity | null>();

  /** `paths` in the order {@link changed} checks them (the database first). */
  constructor(paths: readonly string[]) {
    for (const path of paths) this.seen.set(path, identity(path));
  }

  /**
   * The first of the files that was removed or replaced since it was seen, or null. A file that was
   * not there when first looked at (a `-wal` SQLite had not created yet) is taken when it appears.
   */
  changed(): string | null {
    for (const [path, was] of this.seen) {
      const now = identity(path);
      if (was === null) {
        if (now !== null) this.seen.set(path, now);
      } else if (now === null || now.dev !== was.dev || now.ino !== was.ino) {
        return path;
      }
    }
    return null;
  }
}
