import { toOpenAPISchema, unwrapSchema } from "@elysiajs/openapi/openapi";
import { OptionalKind, type TSchema } from "@sinclair/typebox";
import type { AnyElysia } from "elysia";
import pkg from "../../package.json";
import { ERROR_STATUS } from "../errors";
import { ErrorBody } from "../http/errors";
import { kindModels } from "../records/model";
import { MAX_MORE_FIELDS } from "../records/value-errors";
import { ConflictSide } from "../sync/model";
import { liftNamedSchemas, mapOperationSchemas, mapSchema, type Schema as JsonSchema } from "./components";
import { addHttpSemantics } from "./http-semantics";
import { dueDateAsFormats, typeSyncRecords } from "./records";

const OPENAPI_VERSION = "3.1.2";
export const API_TITLE = "taskmgr API";

/** Tags of the document, in the order the UI shows them; routes name one in `detail.tags`. */
const DOC_TAGS = [
  { name: "auth", description: "Login, token refresh and logout" },
  { name: "users", description: "Members of the caller's organization" },
  { name: "devices", description: "The caller's devices (their ids are vector-clock keys)" },
  { name: "projects", description: "Projects" },
  { name: "tasks", description: "Tasks, their comments and history" },
  { name: "comments", description: "Threaded task comments" },
  { name: "sync", description: "Push and pull of offline changes" },
  { name: "conflicts", description: "Conflicts that need a person to decide" },
  { name: "operations", description: "Health, metrics, this documentation" },
];

/** The endpoints that need no token (api-contract.md, General rules); every other one requires the bearer token. */
const PUBLIC_PATHS = ["/api/auth/login", "/api/auth/refresh", "/api/health"];

/** The parts of an OpenAPI operation adjusted here. */
type Operation = { security?: Record<string, string[]>[]; responses?: Record<string, unknown>; requestBody?: { content?: Record<string, unknown> } };
type Schema = { anyOf?: Schema[]; type?: string; format?: string; description?: string };

/** The formats of the string Elysia documents beside each of its string-coercing types (`t.Integer`, `t.Numeric`, `t.BooleanString`). */
const COERCED_FORMATS = new Set(["integer", "numeric", "boolean"]);

/**
 * Replaces, everywhere in `node`, Elysia's "a string of format integer with default 0, or an
 * integer" (how it documents its string-coercing types, in parameters and answers alike) by the
 * integer (number, boolean) alone: that is what is sent and answered, and a generated client (or the
 * docs page's "Try it out") would otherwise send `page=0`, which the server refuses.
 */
function withoutCoercedStrings(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) withoutCoercedStrings(item);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const obj = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(obj)) {
    const members = (value as Schema | null)?.anyOf;
    if (members?.length === 2) {
      const coerced = members.find((m) => m.type === "string" && COERCED_FORMATS.has(m.format ?? ""));
      const typed = members.find((m) => m !== coerced && (m.type === "integer" || m.type === "number" || m.type === "boolean"));
      if (coerced && typed) {
        const description = (value as Schema).description ?? typed.description;
        obj[key] = description === undefined ? typed : { ...typed, description };
        continue;
      }
    }
    withoutCoercedStrings(value);
  }
}
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/**
 * A nullable choice (`Nullable(OneOf([...]))`) with null among its values. @elysiajs/openapi 1.4
 * writes `anyOf: [{type: "string", enum: [...]}, {type: "null"}]` as `{type: ["string", "null"],
 * enum: [...]}`, whose `enum` refuses the null that the type allows (and the server sends).
 */
function withNullInEnum(s: JsonSchema): JsonSchema {
  if (!Array.isArray(s.type) || !s.type.includes("null")) return s;
  if (Array.isArray(s.enum) && !s.enum.includes(null)) return { ...s, enum: [...s.enum, null] };
  if ("const" in s && s.const !== null) {
    const { const: value, ...rest } = s;
    return { ...rest, enum: [value, null] };
  }
  return s;
}

/** What the error body's fields hold, for the `Error` schema. */
const ERROR_DESCRIPTION =
  `\`code\` is one of ${Object.entries(ERROR_STATUS).map(([code, status]) => `${code} (${status})`).join(", ")}. ` +
  `\`details.fields\`: field → reason (422: the first 20 failing fields, \`details.more_fields\` the count of the others when there are more, up to ${MAX_MORE_FIELDS}: that many or more; an array over its maxItems is named whole, its elements unchecked), or the fields changed since a conflict (409 on resolve); ` +
  "`details.current`: the record as it is now (409 version_conflict, 412 precondition_failed; from PATCH, DELETE and archive with its ETag header).";

/** `GET /api/metrics` answers JSON, or the Prometheus text format as `text/plain` (not a JSON string). */
function prometheusAsText(paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: { anyOf?: { type?: string }[] } }> }> }>>): void {
  const ok = paths["/api/metrics"]?.get?.responses?.["200"];
  const members = ok?.content?.["application/json"]?.schema?.anyOf;
  if (!ok || !members) return;
  const text = members.find((m) => m.type === "string");
  const json = members.filter((m) => m !== text);
  if (!text || json.length !== 1) return;
  ok.content = { "application/json": { schema: json[0] as never }, "text/plain": { schema: text as never } };
}

/**
 * Every request body as JSON only (a form answers 400: src/http/body.ts), with its route's model,
 * and optional where the model is (`t.Optional`, e.g. the lock body of a DELETE or an archive:
 * Elysia documents every body as required), its example then `{}`.
 * @elysiajs/openapi lists a body's media types from the route's parsers — none for a parser that is
 * a function, as the JSON body parser of every route is (src/app.ts) — and its form parsers otherwise.
 * The routes are read as the plugin reads them: every route of the application (`routes` would be
 * this plugin's own).
 */
function jsonRequestBodies(app: AnyElysia, paths: Record<string, unknown>): void {
  const routes = (app as unknown as { getGlobalRoutes(): { method: string; path: string; hooks: { body?: TSchema } }[] }).getGlobalRoutes();
  for (const route of routes) {
    const op = (paths[route.path.replace(/:([^/]+)/g, "{$1}")] as Partial<Record<string, Operation>> | undefined)?.[route.method.toLowerCase()];
    if (!op?.requestBody || !route.hooks.body) continue;
    const schema: unknown = JSON.parse(JSON.stringify(unwrapSchema(route.hooks.body, undefined, "input", OPENAPI_VERSION)));
    const { content: _generated, ...rest } = op.requestBody;
    op.requestBody = { ...rest, content: { "application/json": { schema } } };
    if (OptionalKind in route.hooks.body) {
      // Optional, with `{}` (no lock) as its example: the docs page's "Try it out" fills the body
      // with the example and sends it, and the one Swagger UI made from the schema, {"version": 1},
      // turned a DELETE or an archive from the page into a 409 for any record past version 1.
      op.requestBody = { ...op.requestBody, required: false, content: { "application/json": { schema, example: {} } } } as typeof op.requestBody;
    }
  }
}

/**
 * Elysia closes the object schema of a route's body and of each of its answers
 * (`additionalProperties: false`, where the model says nothing) the first time the route serves a
 * request — in place, on the model every route shares. The document says so of every one of them
 * (in `paths`, or the component a `$ref` names), so that it is the same whichever requests the
 * server answered before it was built, and matches what the server checks once it has served each route.
 */
function closedAsServed(paths: Record<string, unknown>, schemas: Record<string, JsonSchema>): void {
  const close = (schema: unknown) => {
    if (typeof schema !== "object" || schema === null) return;
    const ref = (schema as { $ref?: unknown }).$ref;
    const target = (typeof ref === "string" ? schemas[ref.replace("#/components/schemas/", "")] : schema) as JsonSchema | undefined;
    if (target?.type === "object" && !("additionalProperties" in target)) target.additionalProperties = false;
  };
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item as Record<string, Operation>)) {
      for (const media of Object.values(op.requestBody?.content ?? {})) close((media as { schema?: unknown }).schema);
      for (const response of Object.values(op.responses ?? {})) for (const media of Object.values((response as { content?: Record<string, { schema?: unknown }> }).content ?? {})) close(media.schema);
    }
  }
}

/** `schemas` in alphabetical order of their names (how the UI and generated clients list them). */
const byName = (schemas: Record<string, unknown>) => Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Models documented although no route answers them as such: the error body of `default`, the sides
 * of a conflict and the records of every kind (src/docs/records.ts: `SyncRecord` refers to them, a
 * kind with no REST route too).
 */
const DOCUMENTED_MODELS = [ErrorBody, ConflictSide, ...kindModels("record")];

/**
 * The OpenAPI document of every route of `app` (generated by @elysiajs/openapi from the routes'
 * `t` models and `detail`), with bearer authentication as the default requirement, the public
 * endpoints exempted, the error body as every operation's `default` response, and the named models
 * as `components.schemas` (src/docs/components.ts).
 */
export function buildDocument(app: AnyElysia) {
  const generated = toOpenAPISchema(app, undefined, undefined, undefined, OPENAPI_VERSION);
  // A copy as JSON (what is served): rewriting it cannot reach the models that validate requests.
  const paths = JSON.parse(JSON.stringify(generated.paths)) as Record<string, unknown>;
  const models: unknown[] = JSON.parse(JSON.stringify(DOCUMENTED_MODELS.map((m) => unwrapSchema(m, undefined, "output", OPENAPI_VERSION))));
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = (item as Partial<Record<(typeof METHODS)[number], Operation>> | undefined)?.[method];
      if (!op) continue;
      if (PUBLIC_PATHS.includes(path)) op.security = [];
      op.responses = { ...op.responses, default: { $ref: "#/components/responses/Error" } };
    }
  }
  jsonRequestBodies(app, paths);
  withoutCoercedStrings(paths);
  withoutCoercedStrings(models);
  const documented = (s: JsonSchema) => withNullInEnum(dueDateAsFormats(s));
  mapOperationSchemas(paths, documented);
  const schemas = liftNamedSchemas(paths, models.map((m) => mapSchema(m, documented)));
  typeSyncRecords(schemas, paths);
  closedAsServed(paths, schemas);
  addHttpSemantics(paths as never, PUBLIC_PATHS);
  prometheusAsText(paths as never);
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: API_TITLE,
      version: pkg.version,
      description:
        "Sync server for offline-first task apps. Log in with `POST /api/auth/login`, then send `Authorization: Bearer <access>` " +
        "(the **Authorize** button). Errors always answer `{\"error\": {\"code\", \"message\", \"details\"}}`. " +
        "Query parameters a route does not take are ignored; one it takes given twice, or whose percent-escapes are not UTF-8 (`%FF`, a cut `%C3`), answers 422 naming it.",
    },
    tags: DOC_TAGS,
    security: [{ bearer: [] }],
    paths,
    components: {
      ...generated.components,
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: byName({ ...generated.components.schemas, ...schemas, Error: { ...schemas.Error, description: ERROR_DESCRIPTION } }),
      responses: {
        Error: { description: "An error: the status tells which kind", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
        Unauthenticated: {
          description: "No valid access token (`unauthenticated`): none, malformed, expired, of an ended session, a deactivated user or a revoked device",
          headers: { "WWW-Authenticate": { description: 'always `Bearer realm="taskmgr"` (RFC 6750)', schema: { type: "string" } } },
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    },
  };
}
