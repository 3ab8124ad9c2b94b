import { Elysia, mapValueError, t, ValidationError } from "elysia";
import { ConnectionLostError, isDatabaseBusy, isStorageFull, isTransactionConflict } from "../db/errors";
import { DomainError, ERROR_STATUS, type ErrorCode } from "../errors";
import type { Logger } from "../log/logger";
import { isJsonObject, NOT_OBJECT_REASON, notJson, payloadTooLarge } from "./body";
import { allowedMethods, methodNotAllowed, type RegisteredRoute } from "./methods";
import { reasonFor, type SchemaLike, UNKNOWN_FIELD_REASON } from "../wire/reasons";
import { ValueErrorType } from "@sinclair/typebox/errors";
import { keyAsNamed } from "../wire/text";
import { failureDetails, failureMessage, MAX_FIELD_ERRORS } from "../records/validate";
import { boundedErrors, MAX_MORE_FIELDS } from "../records/value-errors";
import type { TSchema } from "@sinclair/typebox";

/** The contract's error body, answered with every 4xx/5xx status (the schema of routes' error responses and of the OpenAPI `Error`). */
export const ErrorBody = t.Object(
  {
    error: t.Object({
      code: t.String({ examples: ["validation_failed"] }),
      message: t.String(),
      details: t.Record(t.String(), t.Unknown()),
    }),
  },
  { title: "Error" },
);

/** The contract's error body. */
function errorBody(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
  return { error: { code, message, details } };
}

/** What a refused request's log line says of its answer: the error body's code and message (not its details). */
export interface Failure {
  code: ErrorCode;
  message: string;
}

/** The failure each request was answered with by {@link errorHandler}, for its log line. */
const failuresAnswered = new WeakMap<Request, Failure>();

/** The code and message `request` was answered with, when the error handler answered it; null otherwise. */
export const failureOf = (request: Request): Failure | null => failuresAnswered.get(request) ?? null;

/** An error answer and what its log line says of it. */
interface Answered {
  response: Response;
  failure: Failure;
}

/** The answer to a {@link DomainError}: its status, the contract's error body and its headers. */
const errorResponse = (e: DomainError): Answered => ({
  response: json(e.status, errorBody(e.code, e.message, e.details), e.headers),
  failure: { code: e.code, message: e.message },
});

/** The answer with `code`'s status and the contract's error body. */
export const answer = (code: ErrorCode, message: string, details: Record<string, unknown> = {}): Response => json(ERROR_STATUS[code], errorBody(code, message, details));

/** {@link answer}, with what its log line says of it. */
const answered = (code: ErrorCode, message: string, details: Record<string, unknown> = {}): Answered => ({ response: answer(code, message, details), failure: { code, message } });

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/**
 * Field → reason from an Elysia validation error, e.g. `{"title": "Expected string length less or equal to 500"}`:
 * the first {@link MAX_FIELD_ERRORS} failing fields, and how many more failed (`more`, at most
 * {@link MAX_MORE_FIELDS}: counting stops there), counted as a pushed change's rejection counts them
 * (src/records/validate.ts: each failing path once, a long key that is named like an earlier one counted).
 * The errors are the validator's own, in its order, with bounded work ({@link boundedErrors}: an array
 * longer than its `maxItems` is one error); not Elysia's `all`, which stops at 64 but visits every
 * element of an array to find them. Without a prototype, so that a key named like one of
 * `Object.prototype`'s (`__proto__`, `constructor`, `toString`) is named like any other.
 */
function validationFields(err: ValidationError): { errors: Record<string, string>; more: number } {
  const fields: Record<string, string> = Object.create(null);
  // Each failing path once (its first error gives the reason). TypeBox gives a path's errors one after the
  // other, but for a required property that is missing: said first, it is said again once visited. No set of
  // every path: one of a million paths (a 5 MB body of bad array elements) took seconds to fill.
  let previous: string | undefined;
  const missing = new Set<string>();
  let named = 0;
  let more = 0;
  const take = (e: ElysiaValueError): void => {
    const path = e.path ?? "";
    if (path === previous || (missing.size > 0 && missing.has(path))) return;
    previous = path;
    if (e.type === ValueErrorType.ObjectRequiredProperty) missing.add(path);
    const key = keyAsNamed(path === "" ? err.type : fieldPath(path));
    if (named < MAX_FIELD_ERRORS && !(key in fields)) {
      fields[key] = reasonOf(err, e);
      named++;
    } else more++;
  };
  try {
    for (const e of errorsOf(err)) {
      take(e);
      if (more >= MAX_MORE_FIELDS) break;
    }
  } catch {
    fields[err.type] = "invalid";
  }
  return { errors: fields, more };
}

/** The reason a 422 gives for a failing field: the API's own words where it has them, else TypeBox's. */
function reasonOf(err: ValidationError, e: ElysiaValueError): string {
  // A whole body that is JSON but not an object: the reason `refuseNonObjectBody` gives where the body is optional.
  if ((e.path ?? "") === "" && err.type === "body" && !isJsonObject(e.value)) return NOT_OBJECT_REASON;
  if (e.type === ValueErrorType.ObjectAdditionalProperties) return UNKNOWN_FIELD_REASON;
  return reasonFor(e.schema, e.value) ?? e.summary ?? e.message ?? "invalid";
}

/** One error of Elysia's `ValidationError.all` (a TypeBox error with Elysia's `summary`). */
type ElysiaValueError = { type?: number; path?: string; message?: string; summary?: string; schema?: SchemaLike; value?: unknown };

/**
 * The errors of `err`'s value, as its TypeBox validator gives them (with Elysia's `summary`), but with
 * bounded work ({@link boundedErrors}); Elysia's `all` for a validator that is not TypeBox's.
 */
function errorsOf(err: ValidationError): Iterable<ElysiaValueError> {
  const validator = err.validator as { Schema?: () => TSchema; References?: () => TSchema[] };
  if (typeof validator.Schema !== "function") return err.all as ElysiaValueError[];
  const errors = boundedErrors(validator.Schema(), validator.References?.() ?? [], err.value);
  return (function* () {
    for (const e of errors) yield mapValueError(e) as ElysiaValueError;
  })();
}

/**
 * A field as a 422 names it, from TypeBox's JSON Pointer (`/tags/1` → `tags.1`): each key as sent
 * (`~1` is `/`, `~0` is `~`; the empty key is `/`), as a pushed change names it (src/records/validate.ts).
 */
const fieldPath = (pointer: string): string =>
  pointer
    .slice(1)
    .split("/")
    .map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");

/**
 * The one place where failures become HTTP answers: domain errors keep their code,
 * validation → 422 naming the fields (a path that does not decode → 404), malformed JSON → 400, unknown path → 404,
 * a known path with a method it does not take → 405 with `Allow` (from `routes`, the app's registered routes),
 * a lost database connection, full storage, and a transaction the database rolled back (deadlock, serialization failure) → 503 `unavailable`, anything else → 500 with a generic message (logged, never shown).
 */
export const errorHandler = (log: Logger, routes: () => readonly RegisteredRoute[] = () => []) =>
  // The context is destructured, never passed on whole: Elysia reads each hook's source to decide
  // what every route prepares, and a context passed to a function counts as using all of it — cookies
  // parsed on every request, and every `Response` a handler returns rebuilt around its body stream.
  new Elysia({ name: "error-handler" }).onError({ as: "global" }, ({ code, error, request, set }) => {
    const { response, failure } = answerTo(log, routes, { code, error, request });
    // The status the after-response hook logs and counts (an error thrown before routing left it at 200).
    set.status = response.status;
    failuresAnswered.set(request, failure);
    return response;
  });

/** The answer to a failure (see {@link errorHandler}). */
function answerTo(log: Logger, routes: () => readonly RegisteredRoute[], { code, error, request }: { code: unknown; error: unknown; request: Request }): Answered {
  if (error instanceof DomainError) return errorResponse(error);
  switch (code) {
    case "VALIDATION": {
      const where = (error as ValidationError).type;
      // Path parameters are plain strings: one fails only when it does not decode (`%E0%A4%A`), which names nothing.
      if (where === "params") return answered("not_found", "no such resource");
      // An answer that does not fit its own schema is the server's fault, not the request's: logged, 500.
      if (where === "response") break;
      const failures = validationFields(error as ValidationError);
      return answered("validation_failed", failureMessage(failures, `${where}: `), failureDetails(failures));
    }
    case "PARSE": {
      // Elysia wraps what a parse hook throws: the body parser's own answers (src/http/body.ts, which throws
      // nothing else) come through as they are; anything else was thrown by the caller's check run before the
      // body (src/app.ts: a lost database, a bug) and is answered as itself (503, 500), as it is on a GET.
      const cause = (error as Error).cause;
      if (cause instanceof DomainError) return errorResponse(cause);
      if (cause !== undefined) return answerTo(log, routes, { code: undefined, error: cause, request });
      return errorResponse(notJson());
    }
    case "NOT_FOUND": {
      const allowed = allowedMethods(routes(), new URL(request.url).pathname);
      if (allowed.length > 0 && !allowed.includes(request.method)) return errorResponse(methodNotAllowed(request.method, allowed));
      return answered("not_found", "no such route");
    }
    case "INVALID_COOKIE_SIGNATURE":
      return answered("bad_request", "invalid cookie");
  }
  const status = (error as { status?: number })?.status;
  if (status === 413) return errorResponse(payloadTooLarge());
  if (error instanceof ConnectionLostError || isDatabaseBusy(error)) {
    // The database went away (restart, terminated backend, network) or another process holds its
    // write lock: nothing of the request was committed — unless its COMMIT itself was under way —
    // and it may be retried.
    log.error("database_unavailable", { method: request.method, path: new URL(request.url).pathname, error: (error as Error).message });
    return answered("unavailable", "the database is unavailable: try again later");
  }
  if (isStorageFull(error)) {
    // The disk (or SQLite's max_page_count) is full: the transaction was rolled back, nothing was
    // stored, and the same request succeeds once space is freed.
    log.error("database_full", { method: request.method, path: new URL(request.url).pathname, error: (error as Error).message });
    return answered("unavailable", "the database's storage is full, so nothing was saved: try again later");
  }
  if (isTransactionConflict(error)) {
    // Rolled back by the database (a deadlock, a serialization failure): nothing was committed and the
    // request may be retried. Logged as an error: a deadlock is a lock-order bug to fix.
    log.error("database_conflict", { method: request.method, path: new URL(request.url).pathname, error: (error as Error).message });
    return answered("unavailable", "the request collided with concurrent ones and was rolled back: try again");
  }
  log.error("request_failed", {
    method: request.method,
    path: new URL(request.url).pathname,
    error: error instanceof Error ? error.message : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return answered("internal", "internal server error");
}
