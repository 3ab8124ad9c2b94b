import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createApp, type App } from "../../src/app";
import { loadConfig } from "../../src/config";
import { openDatabase } from "../../src/db/open";
import { DUE_DATE_PATTERN } from "../../src/records/model";
import type { Database } from "../../src/db/types";
import { silentLogger } from "../../src/log/logger";
import { createServices } from "../../src/services";
import { systemClock } from "../../src/time";
import { version as swaggerUiVersion } from "swagger-ui-dist/package.json";

let db: Database;
let app: App;
beforeAll(() => {
  db = openDatabase("sqlite::memory:");
  const deps = { db, config: loadConfig({ db: "sqlite::memory:" }, {}), clock: systemClock, log: silentLogger };
  app = createApp(createServices(deps), deps);
});
afterAll(() => db.close());

/** The contract's endpoints without a token (besides /api/schema and /api/docs, which are not in the document). */
const PUBLIC = ["/api/auth/login", "/api/auth/refresh", "/api/health"];

const get = (path: string) => app.handle(new Request(`http://localhost${path}`));

type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { responses?: Record<string, unknown>; tags?: string[]; security?: unknown[] }>>;
  tags: { name: string }[];
  components: { securitySchemes: Record<string, { type: string; scheme: string }>; schemas?: Record<string, unknown> };
  security: Record<string, unknown>[];
};

test("the document does not depend on the requests served before it (Elysia closes a route's schemas when it first serves it)", () => {
  // Fresh processes: the models are module state, shared by every app of a process.
  const schema = (...requests: string[]) => {
    const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "fixtures", "schema-after.ts"), ...requests], { stderr: "pipe" });
    expect(r.exitCode, r.stderr.toString()).toBe(0);
    return r.stdout.toString();
  };
  const first = schema();
  expect(JSON.parse(first).components.schemas.Health.additionalProperties).toBe(false);
  expect(schema("GET:/api/health", "GET:/api/tasks", "POST:/api/auth/login", "POST:/api/sync/push", "GET:/api/sync/pull")).toBe(first);
}, 30_000);

describe("GET /api/schema", () => {
  let doc: Doc;
  beforeAll(async () => {
    const res = await get("/api/schema");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    doc = (await res.json()) as Doc;
  });

  test("is an OpenAPI 3 document about taskmgr", () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info.title).toBe("taskmgr API");
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("lists the API's routes with their methods and responses, and not its own", () => {
    expect(doc.paths["/api/health"]?.get).toBeDefined();
    expect(Object.keys(doc.paths).every((p) => p.startsWith("/api/"))).toBe(true);
    for (const own of ["/api/schema", "/api/docs", "/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css"]) expect(doc.paths[own]).toBeUndefined();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(["get", "post", "put", "patch", "delete", "head", "options", "parameters"]).toContain(method);
        if (method !== "parameters") expect(op.responses, `${method} ${path}`).toBeDefined();
      }
    }
  });

  test("declares bearer authentication as the default requirement, waived only for the public endpoints", () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.paths["/api/health"]!.get!.security).toEqual([]);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) if (!PUBLIC.includes(path)) expect(op.security, path).toBeUndefined();
    }
  });

  test("what the document says of each operation's token is what it does: without one, all but the public ones answer 401, before any validation", async () => {
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        // An invalid query and body (an unknown field, required ones missing): authentication answers first.
        const url = `http://localhost${path.replace(/\{[^}]+\}/g, crypto.randomUUID())}?page=0&page_size=-1&ordering=nope`;
        const body = method === "get" || method === "head" ? {} : { headers: { "content-type": "application/json" }, body: '{"nope": 1}' };
        const res = await app.handle(new Request(url, { method: method.toUpperCase(), ...body }));
        const waived = Array.isArray(op.security) && op.security.length === 0;
        expect(res.status === 401, `${method} ${path} answered ${res.status}`).toBe(!waived);
        if (!waived) expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthenticated");
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  test("every operation documents the error body as its default response", () => {
    expect(doc.components.schemas?.Error).toMatchObject({ type: "object", required: ["error"] });
    for (const ops of Object.values(doc.paths)) for (const op of Object.values(ops)) expect(op.responses?.default).toEqual({ $ref: "#/components/responses/Error" });
  });

  test("every operation documents its success answer besides the error body, and request bodies as JSON only", () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const statuses = Object.keys(op.responses ?? {}).filter((s) => s !== "default");
        expect(statuses.some((s) => s.startsWith("2")), `${method} ${path}: ${statuses}`).toBe(true);
        const content = (op as { requestBody?: { content?: object } }).requestBody?.content;
        if (content) expect(Object.keys(content), `${method} ${path}`).toEqual(["application/json"]);
      }
    }
  });

  test("numbers and booleans are documented as such, without a made-up default (Elysia documents its coercing types as strings defaulting to 0)", () => {
    const params = (path: string) => (doc.paths[path]!.get as { parameters: { name: string; schema: Record<string, unknown> }[] }).parameters;
    const pageSize = params("/api/tasks").find((p) => p.name === "page_size")!.schema;
    expect(pageSize).toMatchObject({ type: "integer", description: expect.stringContaining("1..500") });
    expect(JSON.stringify(doc)).not.toContain('"default":0');
    expect(params("/api/sync/pull").find((p) => p.name === "limit")!.schema.type).toBe("integer");
    expect(params("/api/sync/conflicts").find((p) => p.name === "include_resolved")!.schema).toMatchObject({ type: "boolean" });
    expect(JSON.stringify(doc)).not.toMatch(/"format":"(integer|numeric|boolean)"/);
  });

  test("every tag an operation uses is declared", () => {
    const declared = new Set(doc.tags.map((t) => t.name));
    for (const ops of Object.values(doc.paths)) for (const op of Object.values(ops)) for (const tag of op.tags ?? []) expect(declared).toContain(tag);
  });

  test("every $ref resolves inside the document", () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) {
      const target = ref.split("/").reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
      expect(target, ref).toBeDefined();
    }
  });

  test("is public and answers with and without the trailing slash", async () => {
    expect((await get("/api/schema/")).status).toBe(200);
  });
});

/** A schema of the document, with the keywords the tests read. */
type Schema = {
  $ref?: string;
  type?: string | string[];
  format?: string;
  description?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  additionalProperties?: unknown;
};
type Media = { content?: Record<string, { schema?: Schema }> };
type Op = { parameters?: { name: string; in: string; schema?: Schema }[]; requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema; example?: unknown }> }; responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }> };
type GeneratorDoc = { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, Schema> } };

/** The wire types a client generator should find by name (besides the request bodies and the parts of these). */
const NAMED = [
  "Task", "Project", "Comment", "HistoryEntry", "User", "Device", "Error", "Conflict", "ConflictSide", "SyncRecord",
  "PushRequest", "PushChange", "PushResponse", "PushResult", "PullPage", "PullChange",
  "TaskPage", "ProjectPage", "CommentPage", "HistoryPage", "UserPage", "DevicePage", "ConflictPage",
  "HourlyMetrics", "HourlyMetricsPage",
];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const schemaAt = (m: Media | undefined) => m?.content?.["application/json"]?.schema;
function component(doc: GeneratorDoc, name: string): Schema {
  const s = doc.components.schemas[name];
  if (!s) throw new Error(`no components.schemas.${name}`);
  return s;
}

/** JSON with sorted keys: equal schemas, equal text. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

/** Calls `fn` on `s` and on every schema inside it (by the JSON Schema keywords the document uses), with its location. */
function eachSubschema(s: unknown, fn: (node: Schema, at: string) => void, at = ""): void {
  if (!s || typeof s !== "object" || Array.isArray(s)) return;
  const node = s as Schema & Record<string, unknown>;
  fn(node, at);
  for (const key of ["items", "additionalProperties", "not"]) eachSubschema(node[key], fn, `${at}/${key}`);
  for (const key of ["anyOf", "oneOf", "allOf"]) (node[key] as unknown[] | undefined)?.forEach((m, i) => eachSubschema(m, fn, `${at}/${key}/${i}`));
  for (const key of ["properties", "patternProperties"])
    for (const [name, m] of Object.entries((node[key] as Record<string, unknown> | undefined) ?? {})) eachSubschema(m, fn, `${at}/${key}/${name}`);
}

describe("the document as a client generator reads it", () => {
  let doc: GeneratorDoc;
  beforeAll(async () => {
    doc = (await (await get("/api/schema")).json()) as typeof doc;
  });

  test("is valid OpenAPI 3.1 (swagger-parser validates it against the specification's schema)", async () => {
    const { default: SwaggerParser } = await import("@apidevtools/swagger-parser");
    await SwaggerParser.validate(structuredClone(doc) as never);
  });

  test("answers without a body have no content (204, 304)", () => {
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item))
        for (const status of ["204", "304"]) expect({ path, method, status, content: op.responses[status]?.content }).toEqual({ path, method, status, content: undefined });
  });

  test("records: ETag on their answers and lock failures, If-None-Match and 304 on a read, Location on a create", () => {
    const task = doc.paths["/api/tasks/{id}"]!;
    expect(Object.keys(task.get!.responses["200"]!.headers ?? {})).toEqual(["ETag"]);
    // Not toMatchObject with expect.any(Object): Bun writes the matcher into the received object, here the
    // suite's shared document, which then fails the OpenAPI validation whenever it runs later (found with `bun test --randomize`).
    expect(typeof task.get!.responses["304"]!.headers?.ETag).toBe("object");
    expect(task.get!.parameters?.some((p) => p.name === "if-none-match" && p.in === "header")).toBe(true);
    for (const status of ["200", "409", "412"]) expect(Object.keys(task.patch!.responses[status]!.headers ?? {})).toContain("ETag");
    expect(Object.keys(doc.paths["/api/tasks"]!.post!.responses["201"]!.headers ?? {}).sort()).toEqual(["ETag", "Location"]);
    expect(Object.keys(doc.paths["/api/devices"]!.post!.responses["201"]!.headers ?? {})).toEqual(["Location"]);
    expect(doc.paths["/api/tasks"]!.get!.responses["200"]!.headers).toBeUndefined();
  });

  test("shared errors are listed: 401 on protected routes, 400 and 413 where there is a body, 429 with Retry-After on login", () => {
    expect(Object.keys(doc.paths["/api/users/me"]!.get!.responses)).toContain("401");
    expect(Object.keys(doc.paths["/api/health"]!.get!.responses)).not.toContain("401");
    expect(Object.keys(doc.paths["/api/tasks"]!.post!.responses)).toEqual(expect.arrayContaining(["400", "401", "413"]));
    expect(typeof doc.paths["/api/auth/login"]!.post!.responses["429"]!.headers?.["Retry-After"]).toBe("object"); // (not expect.any: see above)
    expect(doc.components.schemas.Error!.description).toContain("version_conflict (409)");
  });

  // Found by QA: each of these answers the status, which its operation did not list.
  test.each([
    ["/api/auth/login", "post", ["401", "422"]],
    ["/api/auth/refresh", "post", ["401", "422"]],
    ["/api/auth/logout", "post", ["422"]],
    ["/api/devices", "post", ["409", "422"]],
    ["/api/health", "get", ["503"]],
    ["/api/devices/{id}", "delete", ["400", "413", "422"]],
  ] as const)("%s %s lists its own errors %p", (path, method, statuses) => {
    expect(Object.keys((doc.paths[path] as Record<string, { responses: object }>)[method]!.responses)).toEqual(expect.arrayContaining([...statuses]));
  });

  test("a pushed change is documented field by field (while the service, not request validation, checks it)", () => {
    const body = schemaAt(doc.paths["/api/sync/push"]!.post!.requestBody as Media);
    expect(body).toEqual(ref("PushRequest"));
    const change = component(doc, "PushRequest").properties!.changes!.items!;
    expect(change).toEqual(ref("PushChange"));
    const fields = component(doc, "PushChange").properties!;
    expect(Object.keys(fields).sort()).toEqual(["base_version", "change_id", "data", "entity", "entity_id", "op", "vector_clock"]);
    // `data`: the fields of one entity, each with its rules (unknown fields are refused).
    expect(fields.data!.anyOf).toEqual([ref("TaskChanges"), ref("ProjectChanges"), ref("CommentChanges"), { type: "null" }]);
    // Keys beside these are refused (invalid_change), as a request body's unknown fields are.
    expect(component(doc, "PushChange").additionalProperties).toBe(false);
    expect(component(doc, "TaskChanges")).toMatchObject({ additionalProperties: false, properties: { title: { type: "string", minLength: 1 } } });
    expect(component(doc, "TaskChanges").required).toBeUndefined();
  });

  test("named schemas: every wire type is one component, and the operations refer to it", () => {
    const names = Object.keys(doc.components.schemas);
    expect(names).toEqual(expect.arrayContaining(NAMED));
    expect(names).toEqual([...names].sort());
    const answer = (path: string, method: string, status = "200") => schemaAt(doc.paths[path]![method]!.responses[status] as Media);
    expect(answer("/api/tasks/{id}", "get")).toEqual(ref("Task"));
    expect(answer("/api/tasks", "post", "201")).toEqual(ref("Task"));
    expect(answer("/api/projects/{id}/archive", "post")).toEqual(ref("Project"));
    expect(answer("/api/comments/{id}", "patch")).toEqual(ref("Comment"));
    expect(answer("/api/users/me", "get")).toEqual(ref("User"));
    expect(answer("/api/devices/{id}", "get")).toEqual(ref("Device"));
    expect(answer("/api/sync/conflicts/{id}", "get")).toEqual(ref("Conflict"));
    expect(answer("/api/sync/push", "post")).toEqual(ref("PushResponse"));
    expect(answer("/api/sync/pull", "get")).toEqual(ref("PullPage"));
    // Pages: one wrapper per item type, its results referring to the item.
    for (const [path, page, item] of [
      ["/api/tasks", "TaskPage", "Task"],
      ["/api/projects", "ProjectPage", "Project"],
      ["/api/comments", "CommentPage", "Comment"],
      ["/api/tasks/{id}/comments", "CommentPage", "Comment"],
      ["/api/tasks/{id}/history", "HistoryPage", "HistoryEntry"],
      ["/api/users", "UserPage", "User"],
      ["/api/devices", "DevicePage", "Device"],
      ["/api/sync/conflicts", "ConflictPage", "Conflict"],
      ["/api/metrics/hourly", "HourlyMetricsPage", "HourlyMetrics"],
    ] as const) {
      expect(answer(path, "get"), path).toEqual(ref(page));
      expect(component(doc, page).properties!.results, page).toEqual({ type: "array", items: ref(item) });
    }
    expect(component(doc, "PushResponse").properties!.results!.items).toEqual(ref("PushResult"));
    expect(component(doc, "PullPage").properties!.changes!.items).toEqual(ref("PullChange"));
    // The error body of the statuses a route declares is the same `Error` as `default`.
    expect(schemaAt(doc.paths["/api/sync/push"]!.post!.responses["422"] as Media)).toEqual(ref("Error"));
    expect(schemaAt(doc.paths["/api/tasks/{id}"]!.patch!.responses["409"] as Media)).toEqual(ref("Error"));
  });

  test("the records inside sync answers are typed: push results, pulled changes, conflicts and a resolution refer to the record schemas", () => {
    expect(component(doc, "SyncRecord").oneOf).toEqual([ref("Task"), ref("Project"), ref("Comment")]);
    expect(component(doc, "PushResult").properties!.record).toMatchObject({ anyOf: [ref("SyncRecord"), { type: "null" }] });
    expect(component(doc, "PullChange").properties!.record).toMatchObject(ref("SyncRecord"));
    expect(component(doc, "PullChange").properties!.entity).toMatchObject({ enum: ["project", "task", "comment"] });
    // A conflict's sides hold the record's fields and deleted_at, as many as the side has (`local`: what was pushed; `base`: {} when unknown).
    for (const side of ["local", "remote", "base"]) expect(component(doc, "Conflict").properties![side], side).toMatchObject(ref("ConflictSide"));
    expect(component(doc, "ConflictSide").anyOf).toEqual([ref("TaskConflictSide"), ref("ProjectConflictSide"), ref("CommentConflictSide")]);
    const taskSide = component(doc, "TaskConflictSide");
    expect(taskSide.required).toBeUndefined();
    expect(Object.keys(taskSide.properties!).sort()).toEqual(["assignee_id", "deleted_at", "description", "due_date", "priority", "project_id", "status", "tags", "title"]);
    expect(schemaAt(doc.paths["/api/sync/conflicts/{id}/resolve"]!.post!.responses["200"] as Media)).toMatchObject(ref("SyncRecord"));
    // Still described, as before.
    expect(component(doc, "PushResult").properties!.record!.description).toBe("the record as the server now holds it");
  });

  test("as a generated client reads it: no operation, and no named schema, holds an inline copy of a named schema", () => {
    const named = new Map(Object.entries(doc.components.schemas).map(([name, s]) => [canonical(s), name]));
    const copies: string[] = [];
    const visit = (s: unknown, where: string, root: boolean) =>
      eachSubschema(s, (node, at) => {
        if (root && at === "") return;
        const name = named.get(canonical(node));
        if (name) copies.push(`${where}${at}: ${name}`);
      });
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item)) {
        for (const p of op.parameters ?? []) visit(p.schema, `${method} ${path} parameter ${p.name}`, false);
        visit(schemaAt(op.requestBody as Media | undefined), `${method} ${path} body`, false);
        for (const [status, r] of Object.entries(op.responses)) for (const [type, m] of Object.entries(r.content ?? {})) visit((m as { schema?: Schema }).schema, `${method} ${path} ${status} ${type}`, false);
      }
    for (const [name, s] of Object.entries(doc.components.schemas)) visit(s, `components.schemas.${name}`, true);
    expect(copies).toEqual([]);
    // Every JSON answer of tasks, projects and comments is a reference to one of them (or to a page of them).
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!/^\/api\/(tasks|projects|comments)/.test(path)) continue;
      for (const [method, op] of Object.entries(item))
        for (const [status, r] of Object.entries(op.responses)) {
          if (!status.startsWith("2") || !r.content) continue;
          const s = schemaAt(r as Media) as { $ref?: string };
          expect(s.$ref, `${method} ${path} ${status}`).toMatch(/^#\/components\/schemas\/(Task|Project|Comment|History)(Page|Entry)?$/);
        }
    }
  });

  test("due_date is an ISO date or date-time by format (or null), not a pattern that lets 2026-02-30 through", () => {
    const due = { anyOf: [{ type: "string", format: "date" }, { type: "string", format: "date-time" }, { type: "null" }] };
    for (const name of ["Task", "TaskCreate", "TaskUpdate", "TaskChanges", "TaskConflictSide"]) expect(component(doc, name).properties!.due_date, name).toMatchObject(due);
    const params = doc.paths["/api/tasks"]!.get!.parameters ?? [];
    for (const name of ["due_before", "due_after"]) expect(params.find((p) => p.name === name)!.schema!.anyOf, name).toEqual(due.anyOf.slice(0, 2));
    expect(JSON.stringify(doc)).not.toContain(JSON.stringify(DUE_DATE_PATTERN));
  });

  test("every instant the server writes (`…_at`, the bounds of a metrics window or hour) is a string of format date-time, or null", () => {
    const isInstant = (s: Schema | undefined) => s?.type === "string" && s.format === "date-time";
    const isNullableInstant = (s: Schema) => s.format === "date-time" && Array.isArray(s.type) && [...s.type].sort().join() === "null,string";
    const found: string[] = [];
    const visit = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${where}/${i}`));
      if (typeof node !== "object" || node === null) return;
      const { properties } = node as { properties?: Record<string, Schema> };
      for (const [name, s] of Object.entries(properties ?? {})) {
        const instant = name.endsWith("_at") || (/Metrics/.test(where) && (name === "from" || name === "to"));
        if (!instant) continue;
        found.push(`${where}.${name}`);
        const ok = isInstant(s) || isNullableInstant(s) || (s.anyOf?.length === 2 && s.anyOf.some(isInstant) && s.anyOf.some((a) => a.type === "null"));
        expect(ok, `${where}.${name}: ${JSON.stringify(s)}`).toBe(true);
      }
      for (const [k, v] of Object.entries(node)) visit(v, `${where}/${k}`);
    };
    visit(doc, "#");
    for (const model of ["/HourlyMetrics.", "/Metrics."]) expect(found.filter((f) => f.includes(model) && /\.(from|to)$/.test(f)).length, model).toBe(2);
    for (const name of ["created_at", "updated_at", "deleted_at", "resolved_at", "last_seen_at", "revoked_at", "generated_at", "last_sync_at", "from", "to"])
      expect(found.some((f) => f.endsWith(`.${name}`)), name).toBe(true);
  });

  test("metrics: JSON, or the Prometheus text as text/plain; the lock bodies of the archive and of every DELETE are optional", () => {
    expect(Object.keys(doc.paths["/api/metrics"]!.get!.responses["200"]!.content ?? {}).sort()).toEqual(["application/json", "text/plain"]);
    // The stored hours are JSON only; its errors besides 401: a member (403), a bad bound or page (422).
    const hourly = doc.paths["/api/metrics/hourly"]!.get!;
    expect(Object.keys(hourly.responses["200"]!.content ?? {})).toEqual(["application/json"]);
    expect(Object.keys(hourly.responses)).toEqual(expect.arrayContaining(["401", "403", "422"]));
    expect((hourly.parameters ?? []).map((p) => p.name).sort()).toEqual(["from", "page", "page_size", "to"]);
    expect(doc.paths["/api/projects/{id}/archive"]!.post!.requestBody?.required).toBe(false);
    const deletes = Object.entries(doc.paths).filter(([, item]) => item!.delete?.requestBody);
    expect(deletes.map(([path]) => path).sort()).toEqual(["/api/comments/{id}", "/api/projects/{id}", "/api/tasks/{id}"]);
    for (const [path, item] of deletes) expect(item!.delete!.requestBody!.required, path).toBe(false);
  });

  test("an optional lock body's example is {} (no lock), so that the docs page's \"Try it out\" of a DELETE or an archive works as it is filled", () => {
    // Swagger UI fills the body editor with the example and sends it: the one it generated from the
    // schema, {"version": 1}, made such a request from the page a 409 for any record past version 1.
    const optional = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item!).flatMap(([method, op]) => (op!.requestBody && op!.requestBody.required === false ? [`${method} ${path}`] : [])),
    );
    expect(optional.sort()).toEqual(["delete /api/comments/{id}", "delete /api/projects/{id}", "delete /api/tasks/{id}", "post /api/projects/{id}/archive"]);
    for (const key of optional) {
      const [method, path] = key.split(" ") as [string, string];
      expect(doc.paths[path]![method]!.requestBody!.content!["application/json"]!.example, key).toEqual({});
    }
  });
});

describe("GET /api/docs", () => {
  test("an HTML page that loads only taskmgr's own assets and the schema", async () => {
    for (const path of ["/api/docs", "/api/docs/"]) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("text/html");
      const html = await res.text();
      const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      // The icon is an empty data URL: a browser asks for /favicon.ico (a 404) when the page names none.
      // The cached assets are named by Swagger UI's version (they are cached a day): after an upgrade,
      // the page never runs the bundle or stylesheet of the version before (found in Chromium).
      const v = `?v=${swaggerUiVersion}`;
      expect(refs.sort()).toEqual(["/api/docs/init.js", `/api/docs/swagger-ui-bundle.js${v}`, `/api/docs/swagger-ui.css${v}`, "data:,"]);
      for (const asset of refs.filter((r) => r.includes(v))) expect((await get(asset!)).status).toBe(200);
      expect(html).not.toMatch(/https?:\/\//);
      // No inline script: the policy allows none, so an injected one would not run either.
      expect([...html.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)].map((m) => [/ src="/.test(m[1]!), m[2]])).toEqual([[true, ""], [true, ""]]);
      // No other site may frame it; a token given to Authorize is not kept in localStorage (found by security QA).
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      const policy = res.headers.get("content-security-policy") ?? "";
      expect(policy.split("; ")).toEqual(expect.arrayContaining(["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]));
      expect(policy).not.toContain("unsafe-eval");
      expect(policy).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(html).not.toContain("persistAuthorization");
    }
  });

  test("the start-up script reads the schema from taskmgr, with no validator badge", async () => {
    const res = await get("/api/docs/init.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/javascript");
    const script = await res.text();
    expect(script).toContain('url: "/api/schema"');
    // Swagger UI's default validator badge would load an image from validator.swagger.io.
    expect(script).toContain("validatorUrl: null");
    expect(script).not.toContain("persistAuthorization");
  });

  test.each([
    ["/api/docs/swagger-ui-bundle.js", "text/javascript", "SwaggerUIBundle"],
    ["/api/docs/swagger-ui.css", "text/css", ".swagger-ui"],
  ])("%s answers 200 with %s", async (path, type, marker) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith(type);
    const text = await res.text();
    expect(text).toContain(marker);
    // No asset names a source map, which taskmgr does not serve (a browser's developer tools would ask for it).
    expect(text).not.toContain("sourceMappingURL");
  });
});
