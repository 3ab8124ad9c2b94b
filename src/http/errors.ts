import { Elysia, ValidationError } from "elysia";
import { ConnectionLostError } from "../db/errors";
import { DomainError, ERROR_STATUS, type ErrorCode } from "../errors";
import type { Logger } from "../log/logger";

/** The contract's error body. */
export function errorBody(code: ErrorCode | string, message: string, details: Record<string, unknown> = {}) {
  return { error: { code, message, details } };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

type SchemaLike = { anyOf?: SchemaLike[]; enum?: unknown[]; const?: unknown; type?: string; format?: string; description?: string };

/** What one member of a union accepts: `"todo"`, `null`, `a UUID`, `an integer`, `a boolean`. */
function kindOf(s: SchemaLike): string {
  if ("const" in s) return JSON.stringify(s.const);
  if (s.type === "null") return "null";
  if (s.format === "uuid" || s.description === "UUID") return "a UUID";
  const kind = s.format ?? s.type ?? "value";
  return /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}

/**
 * The reason for a value that matches no member of a union or enum, in the client's terms (`must be one of
 * "todo", "done"`, `must be a UUID or null`, `must be an integer`) rather than TypeBox's
 * `should be one of: 'string', 'string'`; undefined for other schemas.
 */
function unionReason(schema: SchemaLike | undefined): string | undefined {
  if (Array.isArray(schema?.enum) && schema.enum.length > 0) return `must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  const members = schema?.anyOf;
  if (!Array.isArray(members) || members.length === 0) return undefined;
  const kinds = [...new Set(members.map(kindOf))];
  return members.every((m) => "const" in m) ? `must be one of ${kinds.join(", ")}` : `must be ${kinds.join(" or ")}`;
}

/** Field → reason from an Elysia validation error, e.g. `{"title": "Expected string length less or equal to 500"}`. */
function validationFields(err: ValidationError): Record<string, string> {
  const fields: Record<string, string> = {};
  try {
    for (const e of err.all as { path?: string; message?: string; summary?: string; schema?: SchemaLike }[]) {
      const key = (e.path ?? "").replace(/^\//, "").replace(/\//g, ".") || err.type;
      if (!(key in fields)) fields[key] = unionReason(e.schema) ?? e.summary ?? e.message ?? "invalid";
    }
  } catch {
    fields[err.type] = "invalid";
  }
  return fields;
}

/**
 * The one place where failures become HTTP answers: domain errors keep their code,
 * validation → 422 naming the fields (a path that does not decode → 404), malformed JSON → 400, unknown route → 404,
 * a lost database connection → 503 `unavailable`, anything else → 500 with a generic message (logged, never shown).
 */
export const errorHandler = (log: Logger) =>
  new Elysia({ name: "error-handler" }).onError({ as: "global" }, ({ code, error, request }) => {
    if (error instanceof DomainError) return json(error.status, errorBody(error.code, error.message, error.details), error.headers);
    switch (code) {
      case "VALIDATION": {
        const where = (error as ValidationError).type;
        // Path parameters are plain strings: one fails only when it does not decode (`%E0%A4%A`), which names nothing.
        if (where === "params") return json(404, errorBody("not_found", "no such resource"));
        const fields = validationFields(error as ValidationError);
        return json(422, errorBody("validation_failed", `invalid ${where}: ${Object.keys(fields).join(", ")}`, { fields }));
      }
      case "PARSE":
        return json(400, errorBody("bad_request", "the request body is not valid JSON"));
      case "NOT_FOUND":
        return json(404, errorBody("not_found", "no such route"));
      case "INVALID_COOKIE_SIGNATURE":
        return json(400, errorBody("bad_request", "invalid cookie"));
    }
    const status = (error as { status?: number })?.status;
    if (status === 413) return json(413, errorBody("payload_too_large", "the request body is larger than 5 MB"));
    if (error instanceof ConnectionLostError) {
      // The database went away (restart, terminated backend, network): nothing of the request was
      // committed — unless its COMMIT itself was under way — and it may be retried.
      log.error("database_unavailable", { method: request.method, path: new URL(request.url).pathname, error: error.message });
      return json(ERROR_STATUS.unavailable, errorBody("unavailable", "the database is unavailable: try again later"));
    }
    log.error("request_failed", {
      method: request.method,
      path: new URL(request.url).pathname,
      error: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return json(ERROR_STATUS.internal, errorBody("internal", "internal server error"));
  });
