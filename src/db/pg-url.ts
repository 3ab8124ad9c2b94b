/**
 * libpq's connection parameters in a `postgres://` URL's query (`postgres:///taskmgr?host=/var/run/postgresql`,
 * `?user=app&password=…`, `?port=5433`, `?dbname=taskmgr`), as `psql` reads them. postgres.js reads
 * only the URL's own parts and sends any other query parameter to the server as a setting, so such a
 * URL failed (`unrecognized configuration parameter "password"`, or "Invalid URL" for the empty host
 * of `postgres://app@/taskmgr?host=…`). They are taken out of the URL and given to it as options,
 * which win over the URL's parts as they do in libpq; the rest of the query (`sslmode`,
 * `application_name`, server settings) stays for postgres.js to read.
 */

/** The postgres.js options a URL's libpq parameters stand for. */
export interface LibpqOptions {
  /** A host name, an address, or a folder holding the server's Unix socket (`/var/run/postgresql`). */
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
}

/** The query parameters taken out, and the postgres.js option each becomes. */
const PARAMS = { host: "host", port: "port", dbname: "database", user: "user", password: "password" } as const;

/** The part of a URL before an empty host (`postgres://`, `postgres://app@` before `/db`). */
const BEFORE_EMPTY_HOST = /^(postgres(?:ql)?:\/\/(?:[^/@?]*@)?)(?=[/?]|$)/;

/**
 * `url` without its libpq parameters, and those as options; a `port` that is not a port number is
 * refused (an Error naming it, thrown). A URL without a host (`postgres:///db`, `postgres://app@/db`,
 * which does not parse as a URL) connects to the `host` parameter, else to `PGHOST` (a host or a
 * socket folder), else to `localhost`: the URL handed on names `localhost`, which the `host` option overrides.
 */
export function splitLibpqParams(url: string, env: Record<string, string | undefined> = process.env): { url: string; options: LibpqOptions } {
  const q = url.indexOf("?");
  const hash = q < 0 ? -1 : url.indexOf("#", q);
  const pairs = (q < 0 ? "" : url.slice(q + 1, hash < 0 ? undefined : hash)).split("&").filter((p) => p !== "");
  const values = new Map<string, string>();
  // The parameters that are not libpq's, as written (postgres.js reads them).
  const rest: string[] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const name = libpqDecode(eq < 0 ? pair : pair.slice(0, eq));
    if (!Object.hasOwn(PARAMS, name)) rest.push(pair);
    else if (!values.has(name)) values.set(name, eq < 0 ? "" : libpqDecode(pair.slice(eq + 1)));
  }
  const options: LibpqOptions = {};
  for (const [param, option] of Object.entries(PARAMS)) {
    const value = values.get(param);
    if (value === undefined || value === "") continue; // libpq: an empty value is no value
    if (option === "port") options.port = portOf(value);
    else options[option] = value;
  }
  let base = q < 0 ? url : url.slice(0, q);
  if (BEFORE_EMPTY_HOST.test(base)) {
    const pgHost = env.PGHOST?.trim();
    if (options.host === undefined && pgHost) options.host = pgHost;
    base = base.replace(BEFORE_EMPTY_HOST, "$1localhost");
  }
  return { url: rest.length === 0 ? base : `${base}?${rest.join("&")}`, options };
}

/**
 * A query parameter's name or value as libpq reads it: percent-escapes decoded, and nothing else — a
 * `+` is a plus (`?password=a+b` is "a+b" to psql), not the space of a form's query that
 * `URLSearchParams` makes of it. An escape that is not one stays as written.
 */
export function libpqDecode(raw: string): string {
  return new URLSearchParams(`v=${raw.replace(/\+/g, "%2B")}`).get("v") ?? "";
}

function portOf(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new Error(`the URL's port parameter must be a port number, not "${value}"`);
  return port;
}
