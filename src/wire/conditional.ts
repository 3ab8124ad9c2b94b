/**
 * Entity tags in request headers (RFC 9110 §13.1): the lists `If-Match` and `If-None-Match` carry,
 * and conditional GET — a client that sends back the `ETag` of the record it holds in
 * `If-None-Match` gets 304 Not Modified, without the record, while the record has not changed.
 */

/** The entity tags a header value lists, `W/` dropped (tags are compared weakly); `*` stays as it is. */
export function listedTags(header: string): string[] {
  return header.split(",").map((tag) => tag.trim().replace(/^W\//, ""));
}

/**
 * Whether an `If-None-Match` value (`*`, or a list of entity tags, weak or not) matches `etag`. An
 * unquoted tag (`3`) is read as `"3"`, as `If-Match` reads it (src/records/http.ts).
 */
export function noneMatch(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.trim() === "*" || listedTags(header).some((tag) => tag === etag || `"${tag}"` === etag);
}
