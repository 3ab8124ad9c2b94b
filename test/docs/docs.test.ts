import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp, type App } from "../../src/app";
import { loadConfig } from "../../src/config";
import { openDatabase } from "../../src/db/open";
import type { Database } from "../../src/db/types";
import { silentLogger } from "../../src/log/logger";
import { createServices } from "../../src/services";
import { systemClock } from "../../src/time";

let db: Database;
let app: App;
beforeAll(() => {
  db = openDatabase("sqlite::memory:");
  app = createApp(createServices({ db, config: loadConfig({ db: "sqlite::memory:" }, {}), clock: systemClock, log: silentLogger }));
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

describe("the document as a client generator reads it", () => {
  type Op = { parameters?: { name: string; in: string }[]; requestBody?: { required?: boolean }; responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }> };
  let doc: { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, { description?: string }> } };
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
    expect(task.get!.responses["304"]).toMatchObject({ headers: { ETag: expect.any(Object) } });
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
    expect(doc.paths["/api/auth/login"]!.post!.responses["429"]).toMatchObject({ headers: { "Retry-After": expect.any(Object) } });
    expect(doc.components.schemas.Error!.description).toContain("version_conflict (409)");
  });

  test("a pushed change is documented field by field (while the service, not request validation, checks it)", () => {
    const body = (doc.paths["/api/sync/push"]!.post!.requestBody as { content: Record<string, { schema: { properties: { changes: { items: { properties: Record<string, unknown> } } } } }> })
      .content["application/json"]!.schema;
    expect(Object.keys(body.properties.changes.items.properties).sort()).toEqual(["base_version", "change_id", "data", "entity", "entity_id", "op", "vector_clock"]);
  });

  test("metrics: JSON, or the Prometheus text as text/plain; the archive's body is optional", () => {
    expect(Object.keys(doc.paths["/api/metrics"]!.get!.responses["200"]!.content ?? {}).sort()).toEqual(["application/json", "text/plain"]);
    expect(doc.paths["/api/projects/{id}/archive"]!.post!.requestBody?.required).toBe(false);
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
      expect(refs.sort()).toEqual(["/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css"]);
      expect(html).toContain('url: "/api/schema"');
      expect(html).not.toMatch(/https?:\/\//);
      // Swagger UI's default validator badge would load an image from validator.swagger.io.
      expect(html).toContain("validatorUrl: null");
    }
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
