import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, type Stats, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Config } from "../config";

export const secretPath = (dataDir: string): string => join(dataDir, "secret");

/**
 * The token-signing key: `TASKMGR_SECRET` when set, else the contents of `dataDir/secret`,
 * generated on first use (48 random bytes, file mode 0600, folder created if needed).
 * A new secret is written aside and hard-linked into place (which fails if the file exists),
 * so two processes starting together agree on one complete secret.
 * The key is SHA-256 of the secret: always 256 bits, whatever length an operator chose.
 */
export function loadSecret(config: Pick<Config, "secret" | "dataDir">): Uint8Array {
  if (config.secret) return derive(config.secret, "TASKMGR_SECRET");
  const path = secretPath(config.dataDir);
  const existing = readIfExists(path);
  if (existing !== null) return derive(existing, path);
  mkdirSync(config.dataDir, { recursive: true });
  const tmp = `${path}.${process.pid}.${crypto.randomUUID()}`;
  try {
    writeFileSync(tmp, Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url") + "\n", { mode: 0o600, flag: "wx" });
    chmodSync(tmp, 0o600);
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    rmSync(tmp, { force: true }); // also when it could not be written (a full disk): no litter left
  }
  return derive(readFileSync(path, "utf8"), path);
}

/**
 * Why other users of the machine may read or replace the secret file, with its mode as octal text;
 * null when it is safe, when `TASKMGR_SECRET` is used instead, or when there is no file. Whoever reads
 * the secret can sign an access token of any account, and whoever replaces it chooses the secret:
 * `serve` warns (`secret_file_mode`). Unsafe: any group or other permission bit on the file (e.g.
 * `0644` for a file an operator wrote or restored by hand); a file owned by another user than the
 * server's (whatever its mode, its owner reads and rewrites it); a folder every user may write to
 * without the sticky bit (a group's write permission is taken as deliberate sharing, as with umask
 * 002), or owned by another user (they can put another file in its place). Root
 * owning the file or the folder is no exposure (root reads everything anyway).
 */
export function exposedSecret(config: Pick<Config, "secret" | "dataDir">): { mode: string; reason: string } | null {
  if (config.secret) return null;
  let file: Stats;
  let folder: Stats;
  try {
    file = statSync(secretPath(config.dataDir));
    folder = statSync(config.dataDir);
  } catch {
    return null;
  }
  const mode = `0${(file.mode & 0o777).toString(8).padStart(3, "0")}`;
  const reason = exposure(file, folder);
  return reason === null ? null : { mode, reason };
}

/** The first reason (see {@link exposedSecret}) the secret `file` in `folder` is exposed, or null. */
function exposure(file: Stats, folder: Stats): string | null {
  const me = process.getuid?.();
  const stranger = (uid: number) => me !== undefined && uid !== me && uid !== 0;
  if ((file.mode & 0o077) !== 0) return "the file may be read or written by other users";
  if (stranger(file.uid)) return `the file is owned by uid ${file.uid}, not by this server's user (uid ${me})`;
  if ((folder.mode & 0o002) !== 0 && (folder.mode & 0o1000) === 0) return "its folder may be written by every user, who can put another secret in its place";
  if (stranger(folder.uid)) return `its folder is owned by uid ${folder.uid}, not by this server's user (uid ${me}), who can put another secret in its place`;
  return null;
}

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

function derive(secret: string, source: string): Uint8Array {
  const s = secret.trim();
  if (s === "") throw new Error(`the secret in ${source} is empty`);
  return new Uint8Array(createHash("sha256").update("taskmgr-access-token\0").update(s).digest());
}
