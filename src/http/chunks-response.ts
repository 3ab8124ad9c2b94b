/**
 * An answer whose body comes in chunks (a pull page: the changes' stored JSON texts and the
 * commas and brackets around them), joined without allocating a buffer per answer.
 *
 * A `Response` built from bytes holds a copy of them (Fetch standard, "extract a body": a copy of
 * the bytes held by the object), so the chunks are joined into one buffer that every answer reuses,
 * synchronously, right before the `Response` takes its copy. A fresh 400 KB buffer per pull, and
 * the collections such buffers set off, cost more than the copy itself (docs/performance.md).
 */

/** Answers larger than this are joined into a buffer of their own, so that the reused one stays small. */
const REUSED_MAX = 4 * 1024 * 1024;

let reused = new Uint8Array(0);

/** A `Response` with `chunks`, in order, as its body. */
export function chunksResponse(chunks: readonly Uint8Array[], init: ResponseInit): Response {
  let length = 0;
  for (const c of chunks) length += c.byteLength;
  if (length > REUSED_MAX) return new Response(Buffer.concat(chunks, length), init);
  if (reused.byteLength < length) reused = new Uint8Array(Math.min(REUSED_MAX, Math.max(length, reused.byteLength * 2)));
  let offset = 0;
  for (const c of chunks) {
    reused.set(c, offset);
    offset += c.byteLength;
  }
  return new Response(reused.subarray(0, length), init);
}
