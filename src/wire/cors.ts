/**
 * `CORS_ORIGINS`: the origins of the web clients a browser may let call the API from their own page
 * (src/http/cors.ts). An origin is written as browsers send it in `Origin`: `scheme://host[:port]`,
 * http or https, without a path, a user name or the scheme's own port.
 */

/** Every origin (`*`), or the listed ones (as browsers send them); an empty set: CORS is off. */
export type CorsOrigins = "*" | ReadonlySet<string>;

/** Parses `CORS_ORIGINS` (`*`, or comma-separated origins; unset or blank: none); throws naming the first bad entry. */
export function parseCorsOrigins(raw: string | undefined): CorsOrigins {
  const text = (raw ?? "").trim();
  if (text === "") return new Set();
  const parts = text.split(",").map((p) => p.trim());
  if (parts.includes("*")) {
    if (parts.length > 1) throw new Error("* allows every origin: it cannot be listed with others");
    return "*";
  }
  const out = new Set<string>();
  for (const part of parts) out.add(origin(part));
  return out;
}

/** `value` as browsers send it (scheme and host in lower case), or a throw saying how to write it. */
function origin(value: string): string {
  if (value === "") throw new Error("an empty entry between commas");
  const url = URL.parse(value);
  if (url === null || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw new Error(`${value} is not an origin (scheme://host[:port], e.g. https://app.example.com)`);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`${value} is not an http:// or https:// origin`);
  if (url.username !== "" || url.password !== "") throw new Error(`${value} has a user name: write ${url.origin}`);
  const written = value.replace(/^[a-z]+:\/\/[^/?#]*/i, "");
  if (written !== "") throw new Error(`${value} has a path: write ${url.origin}`);
  if (url.port === "" && /:\d+$/.test(value)) throw new Error(`${value} names the scheme's own port: write ${url.origin}`);
  return url.origin;
}
