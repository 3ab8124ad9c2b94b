/**
 * Conditional GET (RFC 9110 §13.1.2): a client that sends back the `ETag` of the record it holds in
 * `If-None-Match` gets 304 Not Modified, without the record, while the record has not changed.
 */

/** Whether an `If-None-Match` value (`*`, or a list of entity tags, weak or not) matches `etag`. */
export function noneMatch(header: string | null, etag: string): boolean {
  if (header === null) return false;
  if (header.trim() === "*") return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  const own = opaque(etag);
  return header.split(",").some((tag) => opaque(tag) === own);
}
