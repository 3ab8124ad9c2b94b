/** Stable error codes of the contract's error body, with their HTTP status. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_cursor: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  version_conflict: 409,
  already_exists: 409,
  already_resolved: 409,
  reset_required: 410,
  precondition_failed: 412,
  payload_too_large: 413,
  validation_failed: 422,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * A failure a service reports to its caller. Routes never build error bodies:
 * one handler maps this to `{"error": {code, message, details}}` with `status`.
 */
export class DomainError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

/** 404: `{what} not found`. */
export const notFound = (what: string) => new DomainError("not_found", `${what} not found`);
/** 403: the caller may not do this. */
export const forbidden = (message: string) => new DomainError("forbidden", message);
/** The challenge every 401 carries in `WWW-Authenticate` (RFC 9110 requires one; RFC 6750 names the scheme). */
const BEARER_CHALLENGE = 'Bearer realm="taskmgr"';
/** 401: no valid credentials, or an account, device or session that no longer counts; with the Bearer challenge. */
export const unauthenticated = (message = "authentication required") => new DomainError("unauthenticated", message, {}, { "www-authenticate": BEARER_CHALLENGE });
/** 409 `already_exists`: the unique `field` is taken (`details.fields = {field: reason}`, as a 422 names its fields). */
export const alreadyExists = (message: string, field: string, reason = "already taken") =>
  new DomainError("already_exists", message, { fields: { [field]: reason } });

/** A 422 naming the failing fields: `details.fields = {field: reason}`. */
export const invalid = (fields: Record<string, string>, message?: string) =>
  new DomainError("validation_failed", message ?? `invalid ${Object.keys(fields).join(", ")}`, { fields });
