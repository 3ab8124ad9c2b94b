import { DomainError, invalid } from "../errors";

/**
 * Request bodies above this answer 413 (declared by Content-Length: src/app.ts, unread; chunked: {@link parseJsonBody}, once read that far).
 * The contract's "over 5 MB" read as written, in decimal megabytes: 5,000,000 bytes (a limit of 5 MiB
 * let a body of 5,000,001 bytes through, which a client or test reading "MB" literally counts as over).
 */
export const MAX_BODY_BYTES = 5_000_000;

/** Whether the request's declared body size (`Content-Length`) is over {@link MAX_BODY_BYTES}. */
export function isOversized(request: Request): boolean {
  return declaredSize(request) > MAX_BODY_BYTES;
}

/** The body size `Content-Length` declares; 0 without one (a chunked body's size is known only once read). */
function declaredSize(request: Request): number {
  return Number(request.headers.get("content-length") ?? 0);
}

/**
 * Request bodies of routes without a token (login, refresh: a few hundred bytes) above this answer 413:
 * anyone may send them, and a body is held in memory until it is parsed (100 connections sending
 * 5 MB logins held 490 MB). A megabyte leaves room for any client's login (and for a request
 * refused for what it holds: JSON nested too deeply, a field too long, are still 422).
 */
export const MAX_ANONYMOUS_BODY_BYTES = 1_000_000;

/** The 413 `payload_too_large` of a body over `limit` bytes. */
export const payloadTooLarge = (limit = MAX_BODY_BYTES) =>
  new DomainError("payload_too_large", `the request body is larger than ${limit / 1_000_000} MB`);

/**
 * Deepest nesting of arrays and objects a JSON body may have. Every body of the API is a few
 * levels deep (a sync push: body → changes → change → data/vector_clock → tags). The limit protects
 * the server: parsing, validating and describing a body nested tens of thousands of levels deep
 * (a few kilobytes of `[`) costs seconds of CPU on the one event loop, or overflows the stack.
 */
const MAX_JSON_DEPTH = 32;

/**
 * True when JSON `text` nests arrays/objects deeper than `limit` (brackets inside strings do not
 * count). Linear, no recursion; a string is crossed with `indexOf` (most of a body's characters are
 * inside strings), so the scan costs a few microseconds for a push of 20 changes.
 */
export function jsonNestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = stringEnd(text, i);
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** The index of the quote that closes the string opening at `open` (one not escaped by an odd run of backslashes), or the end of `text`. */
function stringEnd(text: string, open: number): number {
  for (let q = text.indexOf('"', open + 1); q !== -1; q = text.indexOf('"', q + 1)) {
    let slashes = 0;
    while (text.charCodeAt(q - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return q;
  }
  return text.length;
}

/** A strict UTF-8 decoder: bytes that are not UTF-8 throw instead of becoming U+FFFD (a BOM is dropped, as `Request.json()` does). */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The JSON body parser of every route (an `onParse` hook, src/app.ts). The body's bytes are decoded
 * once, strictly, then parsed:
 * - bytes that are not UTF-8 (`ff`, an overlong `c0 af`, an encoded surrogate `ed a0 80`, a code point
 *   above U+10FFFF `f4 90 80 80`, a cut sequence) → 400 `bad_request`, rather than text silently
 *   altered (a `\ud800` escape is another matter: valid JSON, its string is made well-formed later);
 * - nesting deeper than {@link MAX_JSON_DEPTH} → 422 `validation_failed` naming `body`, before parsing;
 * - text that is not JSON → 400 `bad_request`, also where the body is optional (a DELETE's lock);
 * - a non-empty body of another media type than `application/json` (a form, `multipart/form-data`,
 *   `text/plain`, none; in any letter case, parameters ignored) → 400 `bad_request` naming it in
 *   `details.content_type` (Elysia would otherwise parse a form into an object a route's model takes),
 *   unread when its size is declared.
 * - a body over `limit` ({@link MAX_BODY_BYTES}, or less for a route without a token) → 413
 *   `payload_too_large`: unread when its size is declared, read no further when it comes chunked.
 * A protected route's caller is authenticated before this runs (src/app.ts), a chunked body's too. An empty body is no body, whatever its media type and however it was sent (`Content-Length: 0`, or
 * chunked without a byte): undefined without a body, {@link EMPTY_BODY} for an empty one.
 */
export async function parseJsonBody(request: Request, limit = MAX_BODY_BYTES): Promise<unknown> {
  if (request.body === null) return undefined;
  if (declaredSize(request) > limit) throw payloadTooLarge(limit);
  // The header's media type as this file reads it (Elysia hands hooks the part before `;`, untrimmed:
  // `application/json ; charset=utf-8` would not match).
  const type = mediaType(request.headers.get("content-type"));
  if (type !== "application/json" && declaredSize(request) > 0) throw notJsonMediaType(type);
  const bytes = await readBody(request, limit);
  if (bytes.byteLength === 0) return EMPTY_BODY;
  if (type !== "application/json") throw notJsonMediaType(type);
  refuseEncodedBody(request.headers);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new DomainError("bad_request", "the request body is not valid UTF-8");
  }
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw invalid({ body: `nested deeper than ${MAX_JSON_DEPTH} levels` }, "the request body is nested too deeply");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw notJson();
  }
}

/**
 * The body's bytes: a declared size was checked before, a chunked body is read up to `limit` (413
 * beyond). One that cannot be read (the client went away mid-body) is 400 `bad_request`, as every
 * failure of this parser is a `DomainError`.
 */
async function readBody(request: Request, limit: number): Promise<ArrayBuffer | Uint8Array> {
  let bytes: ArrayBuffer | Uint8Array | null;
  try {
    bytes = request.headers.has("content-length") ? await request.arrayBuffer() : await readUpTo(request.body!, limit);
  } catch {
    throw new DomainError("bad_request", "the request body could not be read");
  }
  if (bytes === null) throw payloadTooLarge(limit);
  return bytes;
}

/** The bytes of `body`, or null when there are more than `limit` (the stream is then cancelled, the rest unread). */
async function readUpTo(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Refuses a JSON body that is compressed (`Content-Encoding: gzip`, any coding but `identity`) or
 * declared in another charset than UTF-8 (`application/json; charset=utf-16`) with 400
 * `bad_request` saying so: neither is decoded, and reading the bytes as UTF-8 anyway answered a
 * misleading "not valid UTF-8", or parsed other text than was sent.
 */
function refuseEncodedBody(headers: Headers): void {
  const coding = headers.get("content-encoding")?.trim().toLowerCase();
  if (coding && coding !== "identity") {
    throw new DomainError("bad_request", `the request body must not be compressed (Content-Encoding: ${coding} is not supported)`, { content_encoding: coding });
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(headers.get("content-type") ?? "")?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new DomainError("bad_request", `the request body must be UTF-8 (charset=${charset} is not supported)`, { charset });
  }
}

/** The reason given for a body that is JSON but not an object (every body of the API is one). */
export const NOT_OBJECT_REASON = "must be a JSON object";

/**
 * Refuses a parsed body that is JSON but not an object (`2`, `"2"`, `true`, `null`, `[]`) with 422
 * `validation_failed` naming `body`. A route that requires a body refuses such a value by its
 * model already; one whose body is optional (the `{"version": N}` lock of a DELETE or an archive)
 * would not: Elysia validates an optional body only when it is a non-empty object, so `2` or `[]`
 * passed as no body and the record was deleted or archived without the lock the client sent. For
 * `onBeforeHandle`: after authentication, as any validation (`body` undefined: no body).
 */
export function refuseNonObjectBody(body: unknown): void {
  if (body === undefined || isJsonObject(body)) return;
  throw invalid({ body: NOT_OBJECT_REASON }, "the request body must be a JSON object");
}

/** Whether a parsed JSON value is an object (not an array, not null). */
export function isJsonObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The 400 `bad_request` of a body that is not JSON. */
export const notJson = () => new DomainError("bad_request", "the request body is not valid JSON");

/**
 * What {@link parseJsonBody} answers for a body that is there but empty (sent chunked, it has no
 * `Content-Length: 0` to tell): anything but undefined, or Elysia's own parser would read the spent body
 * again and fail (400). The app's transform hook turns it into undefined, as without a body (src/app.ts).
 */
export const EMPTY_BODY: unique symbol = Symbol("empty body");

/** The 400 `bad_request` of a non-empty body sent as another media type than JSON (`type`, null without a Content-Type). */
const notJsonMediaType = (type: string | null) =>
  new DomainError("bad_request", "the request body must be JSON, sent with Content-Type: application/json", { content_type: type });

/** The media type of a Content-Type header (`text/plain` of `text/plain; charset=utf-8`), lower case; null without one. */
function mediaType(contentType: string | null): string | null {
  if (contentType === null) return null;
  const semi = contentType.indexOf(";");
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}
