import { type Stats, statSync } from "node:fs";
import { dirname } from "node:path";

/** Why other users of the machine may read or replace a file, with its mode as octal text (`0644`). */
export interface FileExposure {
  mode: string;
  reason: string;
}

/**
 * Why other users of the machine may read or replace the file at `path` (one holding a secret: the
 * token-signing secret, a `.env`), or null when they may not, or when there is no file. Exposed: any
 * group or other permission bit on the file (e.g. `0644`, as an editor or a restore writes it); a file
 * owned by another user than this process's (whatever its mode, its owner reads and rewrites it); a
 * folder every user may write to without the sticky bit (a group's write permission is taken as
 * deliberate sharing, as with umask 002), or owned by another user (either can put another file in
 * its place). Root owning the file or the folder is no exposure (root reads everything anyway).
 */
export function fileExposure(path: string): FileExposure | null {
  let file: Stats;
  let folder: Stats;
  try {
    file = statSync(path);
    folder = statSync(dirname(path));
  } catch {
    return null;
  }
  const reason = exposure(file, folder);
  return reason === null ? null : { mode: `0${(file.mode & 0o777).toString(8).padStart(3, "0")}`, reason };
}

/** The first reason (see {@link fileExposure}) `file` in `folder` is exposed, or null. */
function exposure(file: Stats, folder: Stats): string | null {
  const me = process.getuid?.();
  const stranger = (uid: number) => me !== undefined && uid !== me && uid !== 0;
  if ((file.mode & 0o077) !== 0) return "the file may be read or written by other users";
  if (stranger(file.uid)) return `the file is owned by uid ${file.uid}, not by this process's user (uid ${me})`;
  if ((folder.mode & 0o002) !== 0 && (folder.mode & 0o1000) === 0) return "its folder may be written by every user, who can put another file in its place";
  if (stranger(folder.uid)) return `its folder is owned by uid ${folder.uid}, not by this process's user (uid ${me}), who can put another file in its place`;
  return null;
}
