/** HTTP helpers shared by the record resources' routes (projects, tasks, comments). */
import { t } from "elysia";
import { ErrorBody } from "../http/errors";
import { etagOf } from "./rest";

/** Error answers a record route documents (the body is always the contract's error body). */
export const RECORD_ERRORS = { 401: ErrorBody, 404: ErrorBody, 422: ErrorBody };
/** Error answers of a locked write (PATCH/DELETE/archive). */
export const LOCKED_WRITE_ERRORS = { ...RECORD_ERRORS, 409: ErrorBody, 412: ErrorBody };

/** A record id in the path; one that is not a UUID simply matches nothing (404). */
export const IdParams = t.Object({ id: t.String({ description: "UUID" }) });

/** `If-Match` of the request, or null. */
export const ifMatchOf = (headers: Record<string, string | undefined>): string | null => headers["if-match"] ?? null;

/** Sets `ETag: "<version>"` on an answer carrying one record. */
export function withEtag<T extends { version: number }>(set: { headers: Record<string, unknown> }, record: T): T {
  set.headers.etag = etagOf(record);
  return record;
}

/** An `If-Match` header documented on locked writes. */
export const IfMatchHeaders = t.Object({
  "if-match": t.Optional(t.String({ description: 'expected version as an entity tag, e.g. "3" (412 if it differs)' })),
});
