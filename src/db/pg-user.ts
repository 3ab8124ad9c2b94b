/**
 * The Postgres user of a `postgres://` URL that names none (`postgres://127.0.0.1/db`,
 * `postgres:///db`): as libpq picks it, `PGUSER` (postgres.js: `PGUSERNAME` first), else the
 * name of the system user running the process.
 *
 * postgres.js takes that name from `os.userInfo()`, which in Bun is the `USER` variable or
 * "unknown" (Bun 1.4: no password-database lookup): a service started without `USER` (systemd,
 * a container, `env -i`) connected as role "unknown". The system user is read here from the
 * password database (`/etc/passwd`, by effective uid), then `USER`, `LOGNAME`, `USERNAME`.
 */
import { readFileSync } from "node:fs";

/** What the URL's user comes from: the URL, the environment or the system user (the name read from the password database by uid). */
export interface UserSources {
  env: Record<string, string | undefined>;
  /** The name of user `uid` in the system's password database, undefined when unknown. */
  systemUser: () => string | undefined;
}

const DEFAULT_SOURCES: UserSources = { env: process.env, systemUser: passwdName };

/**
 * The user to connect as when `url` names none: a name, or an Error saying what to do when no
 * user can be found; undefined when the URL names one (postgres.js reads it from there).
 */
export function defaultPgUser(url: string, sources: UserSources = DEFAULT_SOURCES): string | Error | undefined {
  if (urlUser(url) !== "") return undefined;
  const { env } = sources;
  const name = nonEmpty(env.PGUSERNAME) ?? nonEmpty(env.PGUSER) ?? nonEmpty(sources.systemUser()) ?? nonEmpty(env.USER) ?? nonEmpty(env.LOGNAME) ?? nonEmpty(env.USERNAME);
  if (name !== undefined) return name;
  return new Error("the URL names no user, and neither PGUSER nor the system names one (this process's user has no name): write it in the URL (postgres://USER@host/db) or set PGUSER");
}

/** The user name of a `postgres://` URL ("" when none), read as postgres.js reads it (its host part may list several hosts). */
export function urlUser(url: string): string {
  const rest = url.slice(url.indexOf("://") + 3);
  const authority = rest.split(/[?/]/)[0] ?? "";
  const at = authority.lastIndexOf("@");
  if (at < 0) return "";
  const credentials = authority.slice(0, at);
  const colon = credentials.indexOf(":");
  const user = colon < 0 ? credentials : credentials.slice(0, colon);
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  const t = s?.trim();
  return t === undefined || t === "" ? undefined : t;
}

/** The name of the effective user in `/etc/passwd`; undefined where there is none (no such file, no line, Windows). */
function passwdName(): string | undefined {
  const uid = process.geteuid?.();
  if (uid === undefined) return undefined;
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const fields = line.split(":");
      if (fields.length >= 3 && fields[2] === String(uid) && fields[0]) return fields[0];
    }
  } catch {
    // no password file: the environment decides
  }
  return undefined;
}
