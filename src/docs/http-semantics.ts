/**
 * What the routes' `t` models cannot say about HTTP, added to the generated OpenAPI operations in
 * one place: answers without a body, the headers of records (`ETag`, `If-None-Match`, `Location`),
 * the error statuses every route shares, and the login rate limit. The rules follow the server's
 * own behaviour (src/app.ts, src/http/*, src/records/http.ts), so that a generated client expects
 * what it will get.
 */
/** The parts of an OpenAPI operation and response touched here. */
type Response = { description?: string; content?: Record<string, { schema?: unknown }>; headers?: Record<string, unknown>; $ref?: string };
type Operation = {
  parameters?: { name: string; in: string }[];
  requestBody?: { required?: boolean; content?: Record<string, unknown> };
  responses?: Record<string, Response>;
};

const ERROR = { $ref: "#/components/responses/Error" };
const ETAG = { description: 'the record\'s version as an entity tag, e.g. "3": send it back in If-Match (writes) or If-None-Match (reads)', schema: { type: "string" } };
const LOCATION = { description: "the created record's URL", schema: { type: "string" } };
const CHALLENGE = { description: 'the authentication scheme to use: always `Bearer realm="taskmgr"` (RFC 6750)', schema: { type: "string" } };
/** A 401 of a route that needs a token (the shared response, with its `WWW-Authenticate`). */
const UNAUTHENTICATED = { $ref: "#/components/responses/Unauthenticated" };
const RETRY_AFTER = { description: "seconds until a login may be tried again", schema: { type: "integer" } };

/** One record of a resource: read, update, delete, archive — and the record a conflict resolution answers. */
const ONE_RECORD = /^\/api\/(projects|tasks|comments)\/\{id\}(\/archive)?$|^\/api\/sync\/conflicts\/\{id\}\/resolve$/;
/** A resource's collection: its POST creates a record (201 with Location and ETag). */
const COLLECTION = /^\/api\/(projects|tasks|comments|devices)$/;

/** Adds the HTTP semantics to every operation of `paths` (in place); `publicPaths` need no token. */
export function addHttpSemantics(paths: Record<string, Record<string, Operation | undefined>>, publicPaths: readonly string[]): void {
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!op?.responses) continue;
      withoutBodies(op.responses);
      if (op.responses["201"]) header(op.responses["201"], "Location", LOCATION);
      if (ONE_RECORD.test(path) || (COLLECTION.test(path) && method === "post" && !path.endsWith("/devices"))) {
        for (const status of ["200", "201"]) if (op.responses[status]) header(op.responses[status]!, "ETag", ETAG);
      }
      // A failed lock answers the current record with its ETag (src/records/rest.ts): PATCH, DELETE and archive.
      if (ONE_RECORD.test(path) && (method === "patch" || method === "delete" || path.endsWith("/archive"))) {
        for (const status of ["409", "412"]) if (op.responses[status]) header(op.responses[status]!, "ETag", ETAG);
      }
      if (method === "get" && ONE_RECORD.test(path) && !path.endsWith("/archive")) conditionalGet(op);
      sharedErrors(path, method, op, publicPaths);
    }
  }
}

/** 204 and 304 carry no body (Elysia documents `t.Void()` as a content of type "void", which is not OpenAPI). */
function withoutBodies(responses: Record<string, Response>): void {
  for (const status of ["204", "304"]) if (responses[status]) delete responses[status]!.content;
}

function header(response: Response, name: string, spec: unknown): void {
  if (response.$ref) return;
  response.headers = { ...response.headers, [name]: spec };
}

/** `If-None-Match` with the record's ETag: 304 without a body (src/wire/conditional.ts). */
function conditionalGet(op: Operation): void {
  op.parameters = [
    ...(op.parameters ?? []).filter((p) => p.name !== "if-none-match"),
    { name: "if-none-match", in: "header", required: false, description: "the ETag of the record the client holds: 304 while it is unchanged", schema: { type: "string" } } as never,
  ];
  op.responses!["304"] = { description: "Not Modified: the record is the one the client holds", headers: { ETag: ETAG } };
}

/**
 * The errors of every route: 401 without a valid token (all but the public paths), with its
 * `WWW-Authenticate` challenge (as every 401, a failed login's too); 400 for a body
 * that is not JSON, 413 for one over 5 MB (1 MB for login and refresh) and 422 for JSON that is no object or is nested too deeply
 * (every method but GET: the app's body parser reads the body of each, src/http/body.ts, even where
 * the route takes none, as `DELETE /api/devices/{id}`); 429 and 503 for login.
 */
function sharedErrors(path: string, method: string, op: Operation, publicPaths: readonly string[]): void {
  const responses = op.responses!;
  const add = (status: string, response: Response = ERROR) => void (responses[status] ??= response);
  if (!publicPaths.includes(path)) responses["401"] = UNAUTHENTICATED;
  else if (responses["401"]) header(responses["401"], "WWW-Authenticate", CHALLENGE); // a failed login or refresh
  if (op.requestBody || method !== "get") {
    add("400");
    add("413");
    add("422");
  }
  if (path === "/api/auth/login") {
    const withRetryAfter = (description: string): Response => ({ description, headers: { "Retry-After": RETRY_AFTER }, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });
    add("429", withRetryAfter("Too many failed logins of this account from this address"));
    add("503", withRetryAfter("Too many logins at once on this server (`unavailable`): try again after Retry-After"));
  }
}
