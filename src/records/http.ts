/** HTTP helpers shared by the record resources' routes (projects, tasks, comments). */
import { t } from "elysia";
import { ErrorBody } from "../http/errors";
import { listedTags } from "../wire/conditional";
import { etagOf, type Precondition } from "./rest";

/*
 * Error answers the record routes document (the body is always the contract's error body): each
 * route lists the statuses it can answer, and only those, for a generated client to expect.
 */
/** A record route that names a record and reads a query or body: the record missing (404), the input invalid (422). */
export const RECORD_ERRORS = { 401: ErrorBody, 404: ErrorBody, 422: ErrorBody };
/** A list of records: no record is named (never 404), its query may be invalid (422). */
export const LIST_ERRORS = { 401: ErrorBody, 422: ErrorBody };
/** A create: no record is named (a missing reference is 422, never 404), an id already taken is 409. */
export const CREATE_ERRORS = { 401: ErrorBody, 409: ErrorBody, 422: ErrorBody };
/** A read of one record: it takes neither query nor body (never 422). */
export const READ_ERRORS = { 401: ErrorBody, 404: ErrorBody };
/** Error answers of a locked write (PATCH/DELETE/archive). */
export const LOCKED_WRITE_ERRORS = { ...RECORD_ERRORS, 409: ErrorBody, 412: ErrorBody };

/** A record id in the path; one that is not a UUID simply matches nothing (404). */
export const IdParams = t.Object({ id: t.String({ description: "UUID" }) });

/** An entity tag naming a version: `"3"`, or a bare `3`. */
const VERSION_TAG = /^(?:"([1-9][0-9]{0,14})"|([1-9][0-9]{0,14}))$/;

/**
 * The lock of a locked write: its `If-Match` header (`"3"`, `W/"3"`, `"2", "3"`, `*`; compared
 * weakly, an unquoted `3` read as `"3"`) and its body's `version`.
 */
export function preconditionOf(headers: Record<string, string | undefined>, version: number | undefined): Precondition {
  const header = headers["if-match"];
  if (header === undefined) return { version };
  const tags = listedTags(header);
  if (tags.includes("*")) return { ifMatch: "any", version };
  const versions = tags.map((tag) => VERSION_TAG.exec(tag)).map((m) => (m ? Number(m[1] ?? m[2]) : null));
  return { ifMatch: versions.filter((v) => v !== null), version };
}

/** Sets `ETag: "<version>"` on an answer carrying one record. */
export function withEtag<T extends { version: number }>(set: { headers: Record<string, unknown> }, record: T): T {
  set.headers.etag = etagOf(record);
  return record;
}

/** An `If-Match` header documented on locked writes. */
export const IfMatchHeaders = t.Object({
  "if-match": t.Optional(t.String({ description: 'expected version as an entity tag, e.g. "3" (412 if it differs)' })),
});
