/**
 * The OpenAPI document tells the truth about what the server answers: every operation of
 * `GET /api/schema` is called (through `app.handle`), on its success paths and on the error paths a
 * test can reach (401, 403, 404, 405, 409, 410, 412, 413, 422, 429, sync conflicts), and each answer
 * is checked against the document — its status listed for that operation (not only as `default`),
 * its Content-Type one of the response's media types, its body valid against that media type's
 * schema (closed objects, nullability, enums, formats), and the headers that matter (`ETag`,
 * `Location`, `Retry-After`, `Allow`) present exactly where the document lists them. The reverse
 * too: every status an operation lists must have been answered by some request (a status that no
 * request can produce is a promise a generated client handles for nothing). On each dialect: the
 * bodies come from the database. Findings are collected and compared at the end, so that one run
 * names every drift at once; a new operation or status needs a request here.
 */
import { availableParallelism } from "node:os";
import { beforeAll, expect, test } from "bun:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import { createTestApp, type RequestOptions, type TestApp, type TestResponse, type TestUser } from "../support/app";
import { createTestDatabase, forEachDialect } from "../support/db";

type Json = Record<string, any>;
type Media = { schema?: Json };
type Resp = { description?: string; content?: Record<string, Media>; headers?: Record<string, { schema?: Json }> };
type Op = { responses: Record<string, Resp> };

/** Headers a client acts on: each must be documented where it is sent, and sent where documented. */
const WATCHED_HEADERS = ["etag", "location", "retry-after", "allow"];

const METHODS = ["get", "post", "put", "patch", "delete"];

let doc: { paths: Record<string, Record<string, Op>> };
let t: TestApp;
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat("date", { validate: (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) });
ajv.addFormat("date-time", {
  validate: (s: string) => /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
});
const compiled = new WeakMap<object, ValidateFunction>();
const validatorOf = (schema: Json) => {
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = ajv.compile(schema)));
  return v;
};

/** What differs from the document, one line each. */
const findings = new Set<string>();
/** Operation → statuses the harness saw it answer. */
const exercised = new Map<string, Set<string>>();

/** The document's path template that `path` (no query) matches, e.g. `/api/tasks/{id}` for `/api/tasks/123/`. */
function templateOf(path: string): string | undefined {
  const segs = path.replace(/\/$/, "").split("/");
  return Object.keys(doc.paths).find((tpl) => {
    const t = tpl.split("/");
    return t.length === segs.length && t.every((s, i) => s.startsWith("{") || s === segs[i]);
  });
}

interface Call extends RequestOptions {
  /** The status the scenario expects (a harness check, so that each path really is reached). */
  expect?: number;
}

/** Sends a request (the test app's own `request`), checks its answer against the document and returns it. */
async function call(method: string, url: string, { expect: wanted, ...opts }: Call = {}): Promise<TestResponse> {
  const r = await t.request(method, url, opts);
  if (wanted !== undefined && r.status !== wanted) throw new Error(`${method} ${url}: expected ${wanted}, got ${r.status} ${JSON.stringify(r.body)?.slice(0, 300)}`);
  check(method, url, r);
  return r;
}

function check(method: string, url: string, res: TestResponse): void {
  const { body } = res;
  const path = url.split("?")[0]!;
  const tpl = templateOf(path);
  const m = method.toLowerCase();
  const status = String(res.status);
  if (!tpl) return void findings.add(`${method} ${path}: no such path in the document (answered ${status})`);
  const op = doc.paths[tpl]![m === "head" ? "get" : m];
  const where = `${method} ${tpl} ${status}`;
  if (!op) {
    // A method the path does not take: 405 with Allow and the error body (no operation to list it under).
    if (status !== "405") findings.add(`${where}: answered for a method the document does not list`);
    else if (!res.headers.get("allow")) findings.add(`${where}: 405 without Allow`);
    if (!validatorOf((doc as unknown as { components: { schemas: { Error: Json } } }).components.schemas.Error)(body)) findings.add(`${where}: body is not the Error schema`);
    return;
  }
  const key = `${m.toUpperCase()} ${tpl}`;
  if (!exercised.has(key)) exercised.set(key, new Set());
  exercised.get(key)!.add(status);
  let resp = op.responses[status];
  if (!resp) {
    findings.add(`${where}: status not listed for the operation (body code ${(body as Json | null)?.error?.code ?? "-"})`);
    resp = op.responses.default!;
  }
  // Content.
  const media = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (!resp.content || m === "head") {
    if (body !== null) findings.add(`${where}: a body where the document lists none (${media})`);
  } else if (body === null) {
    findings.add(`${where}: no body where the document lists ${Object.keys(resp.content).join(", ")}`);
  } else if (!resp.content[media]) {
    findings.add(`${where}: Content-Type ${media} is not one the document lists (${Object.keys(resp.content).join(", ")})`);
  } else {
    const schema = resp.content[media]!.schema;
    if (schema) {
      const v = validatorOf(schema);
      if (!v(body)) {
        for (const e of v.errors ?? []) {
          // Every error (allErrors): a oneOf/anyOf names each member's, then its own.
          findings.add(`${where}: body ${e.instancePath || "/"} ${e.message}${e.params && "additionalProperty" in e.params ? ` (${e.params.additionalProperty})` : ""}`);
        }
      }
    }
  }
  // Headers.
  const documented = Object.keys(resp.headers ?? {}).map((h) => h.toLowerCase());
  for (const h of documented) if (WATCHED_HEADERS.includes(h) && res.headers.get(h) === null) findings.add(`${where}: documented header ${h} not sent`);
  for (const h of WATCHED_HEADERS) if (res.headers.get(h) !== null && !documented.includes(h)) findings.add(`${where}: header ${h} sent but not documented`);
  for (const [name, spec] of Object.entries(resp.headers ?? {})) {
    const value = res.headers.get(name);
    if (value === null || !spec.schema) continue;
    const typed = spec.schema.type === "integer" && /^-?\d+$/.test(value) ? Number(value) : value;
    if (!validatorOf(spec.schema)(typed)) findings.add(`${where}: header ${name}: ${value} does not fit its schema`);
  }
}

const uuid = () => crypto.randomUUID();

forEachDialect("every answer matches the OpenAPI document", ({ db }) => {
  let admin: TestUser;
  let member: TestUser;
  let stranger: TestUser;
  /** The requests, in order: each a step of one story (users, records, sync…) on the same app. */
  const scenarios: [string, () => Promise<void>][] = [];
  const scenario = (name: string, run: () => Promise<void>) => void scenarios.push([name, run]);

  beforeAll(async () => {
    findings.clear();
    exercised.clear();
    t = await createTestApp(db());
    const res = await t.app.handle(new Request("http://localhost/api/schema"));
    doc = (await SwaggerParser.dereference(structuredClone(await res.json()) as never)) as never;
    admin = await t.createUser({ role: "admin" });
    member = await t.createUser({ org: admin.org.slug });
    stranger = await t.createUser();
  });

  scenario("operations, auth, users, devices, health, metrics", async () => {
    await call("GET", "/api/health", { expect: 200 });
    await call("GET", "/api/health/", { expect: 200 });

    // Login, refresh, logout.
    const login = await call("POST", "/api/auth/login", { body: { email: member.email, password: member.password }, expect: 200 });
    await call("POST", "/api/auth/login", { body: { email: member.email, password: member.password, device_id: member.deviceId }, expect: 200 });
    await call("POST", "/api/auth/login", { body: { email: member.email, password: "wrong" }, expect: 401 });
    await call("POST", "/api/auth/login", { body: { email: "nobody@example.test", password: "x" }, expect: 401 });
    await call("POST", "/api/auth/login", { body: { email: member.email }, expect: 422 });
    await call("POST", "/api/auth/login", { body: { email: member.email, password: "x", extra: 1 }, expect: 422 });
    await call("POST", "/api/auth/login", { body: "{nope", expect: 400 });
    await call("POST", "/api/auth/login", { body: "email=a", headers: { "content-type": "application/x-www-form-urlencoded" }, expect: 400 });
    const big = JSON.stringify({ email: "x".repeat(6 * 1024 * 1024) });
    await call("POST", "/api/auth/login", { body: big, headers: { "content-length": String(big.length) }, expect: 413 });
    await call("POST", "/api/auth/login", { body: { email: member.email, password: member.password, device_id: uuid() } });
    const limited = await t.createUser({ org: admin.org.slug, device: false });
    for (let i = 0; i < 5; i++) await call("POST", "/api/auth/login", { body: { email: limited.email, password: "wrong" }, expect: 401 });
    await call("POST", "/api/auth/login", { body: { email: limited.email, password: "wrong" }, expect: 429 });

    const refreshed = await call("POST", "/api/auth/refresh", { body: { refresh: login.body.refresh }, expect: 200 });
    await call("POST", "/api/auth/refresh", { body: { refresh: login.body.refresh }, expect: 401 }); // reuse
    await call("POST", "/api/auth/refresh", { body: { refresh: refreshed.body.refresh }, expect: 401 }); // family revoked
    await call("POST", "/api/auth/refresh", { body: {}, expect: 422 });
    await call("POST", "/api/auth/refresh", { body: "[", expect: 400 });
    const s = await t.session(member.user);
    await call("POST", "/api/auth/logout", { token: s.access, body: { refresh: s.refresh }, expect: 204 });
    await call("POST", "/api/auth/logout", { body: { refresh: s.refresh }, expect: 401 });
    await call("POST", "/api/auth/logout", { token: member.token, body: {}, expect: 422 });
    await call("POST", "/api/auth/logout", { token: member.token, body: "x", expect: 400 });
    await call("GET", "/api/auth/login", { expect: 405 });

    // Users.
    await call("GET", "/api/users", { token: member.token, expect: 200 });
    await call("GET", "/api/users?page=1&page_size=1", { token: member.token, expect: 200 });
    await call("GET", "/api/users", { expect: 401 });
    await call("GET", "/api/users", { token: "garbage", expect: 401 });
    await call("GET", "/api/users?page=0", { token: member.token, expect: 422 });
    await call("GET", "/api/users?page_size=x", { token: member.token, expect: 422 });
    await call("GET", "/api/users/me", { token: member.token, expect: 200 });
    await call("GET", "/api/users/me", { expect: 401 });
    await call("DELETE", "/api/users/me", { token: member.token, expect: 405 });

    // Devices.
    await call("GET", "/api/devices", { token: member.token, expect: 200 });
    await call("GET", "/api/devices?page=-1", { token: member.token, expect: 422 });
    const dev = await call("POST", "/api/devices", { token: member.token, body: { name: "phone", platform: "ios" }, expect: 201 });
    await call("POST", "/api/devices", { token: member.token, body: { name: "tablet" }, expect: 201 });
    await call("POST", "/api/devices", { token: member.token, body: { id: dev.body.id, name: "again" }, expect: 409 });
    await call("POST", "/api/devices", { token: member.token, body: { name: "" }, expect: 422 });
    await call("POST", "/api/devices", { token: member.token, body: "{", expect: 400 });
    await call("GET", `/api/devices/${dev.body.id}`, { token: member.token, expect: 200 });
    await call("GET", `/api/devices/${uuid()}`, { token: member.token, expect: 404 });
    await call("GET", `/api/devices/not-a-uuid`, { token: member.token, expect: 404 });
    await call("GET", `/api/devices/${dev.body.id}`, { token: stranger.token, expect: 404 });
    await call("DELETE", `/api/devices/${dev.body.id}`, { token: stranger.token, expect: 404 });
    const throwaway = await t.createUser({ org: admin.org.slug });
    await call("GET", `/api/devices/${throwaway.deviceId}`, { token: admin.token });
    await call("DELETE", `/api/devices/${throwaway.deviceId}`, { token: admin.token });
    await call("DELETE", `/api/devices/${throwaway.deviceId}`, { token: member.token });
    await call("DELETE", `/api/devices/${dev.body.id}`, { token: member.token, expect: 204 });
    await call("DELETE", `/api/devices/${dev.body.id}`, { token: member.token });
    await call("GET", `/api/devices/${dev.body.id}`, { token: member.token, expect: 200 });
    const bound = await t.tokenFor(member.user, dev.body.id).catch(() => null);
    if (bound) await call("GET", "/api/users/me", { token: bound, expect: 401 });
    await call("PATCH", `/api/devices/${dev.body.id}`, { token: member.token, body: {}, expect: 405 });

    // Metrics.
    await call("GET", "/api/metrics", { token: admin.token, expect: 200 });
    await call("GET", "/api/metrics?window=1h", { token: admin.token, expect: 200 });
    await call("GET", "/api/metrics", { token: admin.token, headers: { accept: "text/plain" }, expect: 200 });
    await call("GET", "/api/metrics", { token: admin.token, headers: { accept: "application/openmetrics-text" }, expect: 200 });
    await call("GET", "/api/metrics", { token: admin.token, headers: { accept: "text/plain;q=0.5, application/json" }, expect: 200 });
    await call("GET", "/api/metrics/hourly", { token: admin.token, headers: { accept: "text/plain" }, expect: 200 });
    await call("GET", "/api/metrics?window=nope", { token: admin.token, expect: 422 });
    await call("GET", "/api/metrics", { token: member.token, expect: 403 });
    await call("GET", "/api/metrics", { expect: 401 });
    await t.services.jobs.run("sync-metrics").catch(() => undefined);
    await call("GET", "/api/metrics/hourly", { token: admin.token, expect: 200 });
    await call("GET", "/api/metrics/hourly?from=2020-01-01&to=2099-01-01T00:00:00Z", { token: admin.token, expect: 200 });
    await call("GET", "/api/metrics/hourly?from=yesterday", { token: admin.token, expect: 422 });
    await call("GET", "/api/metrics/hourly", { token: member.token, expect: 403 });
  });

  scenario("projects, tasks, comments, history", async () => {
    const token = member.token;
    // Projects.
    const p = await call("POST", "/api/projects", { token, body: { name: "P", description: "d", color: null }, expect: 201 });
    await call("POST", "/api/projects", { token, body: { id: uuid(), name: "Q", color: "#fff", archived: true }, expect: 201 });
    await call("POST", "/api/projects", { token, body: { id: p.body.id, name: "dup" }, expect: 409 });
    await call("POST", "/api/projects", { token, body: { name: "" }, expect: 422 });
    await call("POST", "/api/projects", { token, body: { name: "x", version: 3 }, expect: 422 });
    await call("POST", "/api/projects", { token, body: "{", expect: 400 });
    await call("POST", "/api/projects", { body: { name: "x" }, expect: 401 });
    await call("GET", "/api/projects", { token, expect: 200 });
    await call("GET", "/api/projects?archived=true&search=P&ordering=-name&include_deleted=true&page_size=1", { token, expect: 200 });
    await call("GET", "/api/projects?ordering=nope", { token, expect: 422 });
    await call("GET", "/api/projects?page_size=501", { token, expect: 422 });
    await call("GET", "/api/projects?archived=maybe", { token, expect: 422 });
    const pid = p.body.id as string;
    const got = await call("GET", `/api/projects/${pid}`, { token, expect: 200 });
    await call("GET", `/api/projects/${pid}`, { token, headers: { "if-none-match": got.headers.get("etag")! }, expect: 304 });
    await call("GET", `/api/projects/${pid}`, { token: stranger.token, expect: 404 });
    await call("GET", `/api/projects/${uuid()}`, { token, expect: 404 });
    await call("PATCH", `/api/projects/${pid}`, { token, body: { name: "P2" }, expect: 200 });
    await call("PATCH", `/api/projects/${pid}`, { token, body: { name: "P2" }, expect: 200 }); // no-op
    await call("PATCH", `/api/projects/${pid}`, { token, body: { name: "P3", version: 1 }, expect: 409 });
    await call("PATCH", `/api/projects/${pid}`, { token, body: { name: "P3" }, headers: { "if-match": '"1"' }, expect: 412 });
    await call("PATCH", `/api/projects/${pid}`, { token, body: { name: "" }, expect: 422 });
    await call("PATCH", `/api/projects/${pid}`, { token, body: { version: 0 }, expect: 422 });
    await call("PATCH", `/api/projects/${pid}`, { token, body: "{", expect: 400 });
    await call("PATCH", `/api/projects/${uuid()}`, { token, body: { name: "x" }, expect: 404 });
    await call("POST", `/api/projects/${pid}/archive`, { token, expect: 200 });
    await call("POST", `/api/projects/${pid}/archive`, { token, body: { version: 1 }, expect: 409 });
    await call("POST", `/api/projects/${pid}/archive`, { token, headers: { "if-match": '"1"' }, expect: 412 });
    await call("POST", `/api/projects/${pid}/archive`, { token, body: { nope: 1 }, expect: 422 });
    await call("POST", `/api/projects/${uuid()}/archive`, { token, expect: 404 });
    await call("GET", `/api/projects/${pid}/archive`, { token, expect: 405 });
    await call("PUT", `/api/projects/${pid}`, { token, body: {}, expect: 405 });

    // Tasks.
    const task = await call("POST", "/api/tasks", {
      token,
      body: { title: "T", project_id: pid, status: "todo", priority: "high", due_date: "2026-12-01", tags: ["a"], assignee_id: admin.user.id },
      expect: 201,
    });
    const tid = task.body.id as string;
    await call("POST", "/api/tasks", { token, body: { title: "with time", due_date: "2026-12-01T10:00:00+02:00" }, expect: 201 });
    await call("POST", "/api/tasks", { token, body: { id: tid, title: "dup" }, expect: 409 });
    await call("POST", "/api/tasks", { token, body: { title: "" }, expect: 422 });
    await call("POST", "/api/tasks", { token, body: { title: "x", due_date: "2026-02-30" }, expect: 422 });
    await call("POST", "/api/tasks", { token, body: { title: "x", status: "nope" }, expect: 422 });
    await call("POST", "/api/tasks", { token, body: { title: "x", created_by: admin.user.id } });
    await call("POST", "/api/tasks", { token, body: { title: "x", project_id: uuid() } });
    await call("POST", "/api/tasks", { token, body: { title: "x", assignee_id: stranger.user.id } });
    await call("GET", "/api/tasks", { token, expect: 200 });
    await call(
      "GET",
      `/api/tasks?status=todo,done&priority=high&project_id=${pid}&assignee_id=null&tag=a&due_before=2027-01-01&due_after=2020-01-01T00:00:00Z&search=T&ordering=-updated_at,priority&include_deleted=true`,
      { token, expect: 200 },
    );
    await call("GET", "/api/tasks?status=nope", { token, expect: 422 });
    await call("GET", "/api/tasks?status=todo&status=done", { token, expect: 422 });
    await call("GET", "/api/tasks?due_before=tomorrow", { token, expect: 422 });
    await call("GET", "/api/tasks?due_before=2026-02-30", { token });
    await call("GET", "/api/tasks?include_deleted=yes", { token, expect: 422 });
    const tg = await call("GET", `/api/tasks/${tid}`, { token, expect: 200 });
    await call("GET", `/api/tasks/${tid}`, { token, headers: { "if-none-match": tg.headers.get("etag")! }, expect: 304 });
    await call("HEAD", `/api/tasks/${tid}`, { token, expect: 200 });
    await call("GET", `/api/tasks/${tid}`, { token: stranger.token, expect: 404 });
    await call("PATCH", `/api/tasks/${tid}`, { token, body: { title: "T2", tags: ["a", "b"], due_date: null }, expect: 200 });
    await call("PATCH", `/api/tasks/${tid}`, { token, body: { title: "T3", version: 1 }, expect: 409 });
    await call("PATCH", `/api/tasks/${tid}`, { token, body: { title: "T3" }, headers: { "if-match": '"1"' }, expect: 412 });
    await call("PATCH", `/api/tasks/${tid}`, { token, body: { title: "T3" }, headers: { "if-match": '"2"' }, expect: 200 });
    await call("PATCH", `/api/tasks/${tid}`, { token, body: { version: 3, created_by: admin.user.id } });
    await call("PATCH", `/api/tasks/${tid}`, { token, body: { priority: "nope" }, expect: 422 });
    await call("PATCH", `/api/tasks/${tid}`, { token, body: { project_id: uuid() } });
    await call("GET", `/api/tasks/${tid}/history`, { token, expect: 200 });
    await call("GET", `/api/tasks/${tid}/history?page=2&page_size=1`, { token, expect: 200 });
    await call("GET", `/api/tasks/${tid}/history?page=0`, { token, expect: 422 });
    await call("GET", `/api/tasks/${uuid()}/history`, { token, expect: 404 });

    // Comments.
    const c = await call("POST", "/api/comments", { token, body: { task_id: tid, body: "hello" }, expect: 201 });
    const cid = c.body.id as string;
    await call("POST", "/api/comments", { token: admin.token, body: { task_id: tid, parent_id: cid, body: "reply" }, expect: 201 });
    await call("POST", "/api/comments", { token, body: { id: cid, task_id: tid, body: "dup" }, expect: 409 });
    await call("POST", "/api/comments", { token, body: { task_id: uuid(), body: "orphan" } });
    await call("POST", "/api/comments", { token, body: { task_id: tid, parent_id: uuid(), body: "orphan reply" } });
    await call("POST", "/api/comments", { token, body: { task_id: tid, body: " " }, expect: 422 });
    await call("POST", "/api/comments", { token, body: { body: "no task" }, expect: 422 });
    await call("GET", "/api/comments", { token, expect: 200 });
    await call("GET", `/api/comments?task_id=${tid}&ordering=-created_at&include_deleted=true`, { token, expect: 200 });
    await call("GET", "/api/comments?task_id=nope", { token });
    await call("GET", "/api/comments?ordering=nope", { token, expect: 422 });
    await call("GET", `/api/tasks/${tid}/comments`, { token, expect: 200 });
    await call("GET", `/api/tasks/${tid}/comments?ordering=created_at&include_deleted=true`, { token, expect: 200 });
    await call("GET", `/api/tasks/${tid}/comments?page=x`, { token, expect: 422 });
    await call("GET", `/api/tasks/${uuid()}/comments`, { token, expect: 404 });
    const cg = await call("GET", `/api/comments/${cid}`, { token, expect: 200 });
    await call("GET", `/api/comments/${cid}`, { token, headers: { "if-none-match": cg.headers.get("etag")! }, expect: 304 });
    await call("GET", `/api/comments/${uuid()}`, { token, expect: 404 });
    await call("PATCH", `/api/comments/${cid}`, { token, body: { body: "edited" }, expect: 200 });
    await call("PATCH", `/api/comments/${cid}`, { token: admin.token, body: { body: "moderated" }, expect: 403 });
    const other = await t.createUser({ org: admin.org.slug });
    await call("PATCH", `/api/comments/${cid}`, { token: other.token, body: { body: "not mine" }, expect: 403 });
    await call("DELETE", `/api/comments/${cid}`, { token: other.token, expect: 403 });
    await call("PATCH", `/api/comments/${cid}`, { token, body: { body: "x", version: 1 }, expect: 409 });
    await call("PATCH", `/api/comments/${cid}`, { token, body: { body: "x" }, headers: { "if-match": '"1"' }, expect: 412 });
    await call("PATCH", `/api/comments/${cid}`, { token, body: { task_id: uuid() } });
    await call("PATCH", `/api/comments/${cid}`, { token, body: { body: "" }, expect: 422 });
    await call("PATCH", `/api/comments/${uuid()}`, { token, body: { body: "x" }, expect: 404 });
    await call("DELETE", `/api/comments/${cid}`, { token, body: { version: 1 }, expect: 409 });
    await call("DELETE", `/api/comments/${cid}`, { token, headers: { "if-match": '"1"' }, expect: 412 });
    await call("DELETE", `/api/comments/${cid}`, { token, body: { nope: 1 }, expect: 422 });
    await call("DELETE", `/api/comments/${cid}`, { token, expect: 204 });
    await call("DELETE", `/api/comments/${cid}`, { token, expect: 404 });
    await call("GET", `/api/comments/${cid}`, { token, expect: 404 });

    // Deletes.
    await call("DELETE", `/api/tasks/${tid}`, { token, body: { version: 1 }, expect: 409 });
    await call("DELETE", `/api/tasks/${tid}`, { token, headers: { "if-match": '"1"' }, expect: 412 });
    await call("DELETE", `/api/tasks/${tid}`, { token, body: "{", expect: 400 });
    await call("DELETE", `/api/tasks/${tid}`, { token, body: { nope: 1 }, expect: 422 });
    await call("DELETE", `/api/tasks/${tid}`, { token, expect: 204 });
    await call("DELETE", `/api/tasks/${tid}`, { token, expect: 404 });
    await call("GET", `/api/tasks/${tid}`, { token, expect: 404 });
    await call("GET", `/api/tasks/${tid}/history`, { token, expect: 200 });
    await call("GET", `/api/tasks?include_deleted=true`, { token, expect: 200 });
    await call("GET", `/api/comments?include_deleted=true`, { token, expect: 200 });
    await call("PATCH", `/api/tasks/${tid}`, { token, body: { title: "gone" }, expect: 404 });
    await call("DELETE", `/api/projects/${pid}`, { token, body: { version: 1 }, expect: 409 });
    await call("DELETE", `/api/projects/${pid}`, { token, body: { version: "1" }, expect: 422 });
    await call("DELETE", `/api/projects/${pid}`, { token, headers: { "if-match": '"1"' }, expect: 412 });
    await call("DELETE", `/api/projects/${pid}`, { token, headers: { "if-match": "*" }, expect: 204 });
    await call("DELETE", `/api/projects/${pid}`, { token, expect: 404 });
    await call("GET", `/api/projects?include_deleted=true`, { token, expect: 200 });
  });

  scenario("sync: push (every result status), pull (snapshot, incremental, tombstones, 410), conflicts and their resolution", async () => {
    const a = await t.createUser({ org: admin.org.slug });
    const b = await t.createUser({ org: admin.org.slug });
    const push = (u: TestUser, changes: unknown[], expect = 200) => call("POST", "/api/sync/push", { token: u.token, body: { device_id: u.deviceId, changes }, expect });
    const change = (_u: TestUser, o: Json) => ({ change_id: uuid(), ...o });

    // Creates: a project, a task in it, a comment on the task.
    const pid = uuid();
    const tid = uuid();
    const cmid = uuid();
    const created = await push(a, [
      change(a, { entity: "project", entity_id: pid, op: "create", data: { name: "P", description: "", color: null, archived: false }, vector_clock: { [a.deviceId!]: 1 } }),
      change(a, {
        entity: "task",
        entity_id: tid,
        op: "create",
        data: { title: "Buy milk", project_id: pid, description: "base text\nsecond line", status: "todo", priority: "low", due_date: null, tags: ["x"], assignee_id: null },
        vector_clock: { [a.deviceId!]: 1 },
      }),
      change(a, { entity: "comment", entity_id: cmid, op: "create", data: { task_id: tid, body: "hi", parent_id: null }, vector_clock: { [a.deviceId!]: 1 } }),
    ]);
    expect(created.body.results.map((r: Json) => r.status)).toEqual(["applied", "applied", "applied"]);
    const v1 = created.body.results[1];

    // B pulls a snapshot (its cursor starts here).
    const snap = await call("GET", `/api/sync/pull?device_id=${b.deviceId}`, { token: b.token, expect: 200 });
    const bCursor = snap.body.cursor as string;

    // A edits (applied), then B edits the same base concurrently: merged, then conflict.
    const aClock = { ...v1.vector_clock, [a.deviceId!]: 2 };
    const aEdit = change(a, { entity: "task", entity_id: tid, op: "update", data: { title: "Buy oat milk", priority: "high" }, base_version: 1, vector_clock: aClock });
    const applied = await push(a, [aEdit]);
    expect(applied.body.results[0].status).toBe("applied");
    const dup = await push(a, [aEdit]);
    expect(dup.body.results[0].status).toBe("duplicate");
    const reused = await push(a, [{ ...aEdit, data: { title: "other" } }]);
    expect(reused.body.results[0].status).toBe("rejected");
    const stale = await push(a, [change(a, { entity: "task", entity_id: tid, op: "update", data: { title: "old" }, base_version: 1, vector_clock: v1.vector_clock })]);
    expect(stale.body.results[0].status).toBe("stale");
    const bClock = { ...v1.vector_clock, [b.deviceId!]: 1 };
    const merged = await push(b, [change(b, { entity: "task", entity_id: tid, op: "update", data: { description: "base text\nsecond line, edited", tags: ["x", "y"] }, base_version: 1, vector_clock: bClock })]);
    expect(merged.body.results[0].status).toBe("merged");
    const conflict = await push(b, [
      change(b, { entity: "task", entity_id: tid, op: "update", data: { title: "Buy soy milk" }, base_version: 1, vector_clock: { ...bClock, [b.deviceId!]: 2 } }),
    ]);
    expect(conflict.body.results[0].status).toBe("conflict");
    const conflictId = conflict.body.results[0].conflict_id as string;

    // Rejected changes of every kind (one batch; the others still processed).
    const rejected = await push(a, [
      { change_id: "not-a-uuid", entity: "task", entity_id: uuid(), op: "create", data: { title: "x" }, vector_clock: { [a.deviceId!]: 1 } },
      change(a, { entity: "nope", entity_id: uuid(), op: "create", data: {}, vector_clock: { [a.deviceId!]: 1 } }),
      change(a, { entity: "task", entity_id: uuid(), op: "nope", data: {}, vector_clock: { [a.deviceId!]: 1 } }),
      change(a, { entity: "task", entity_id: uuid(), op: "create", data: { title: "" }, vector_clock: { [a.deviceId!]: 1 } }),
      change(a, { entity: "task", entity_id: uuid(), op: "create", data: { title: "x" }, vector_clock: { [a.deviceId!]: 0 } }),
      change(a, { entity: "task", entity_id: tid, op: "update", data: { title: "forged" }, base_version: 3, vector_clock: { ...v1.vector_clock, server: 99 } }),
      change(a, { entity: "task", entity_id: uuid(), op: "update", data: { title: "x" }, base_version: 1, vector_clock: { [a.deviceId!]: 5 } }),
      change(a, { entity: "task", entity_id: tid, op: "create", data: { title: "again" }, vector_clock: { [a.deviceId!]: 9 } }),
      change(a, { entity: "comment", entity_id: cmid, op: "update", data: { body: "stolen" }, base_version: 1, vector_clock: { [a.deviceId!]: 2 } }),
      "not an object",
      null,
      change(a, { entity: "task", entity_id: uuid(), op: "create", data: { title: "ok", unknown: 1 }, vector_clock: { [a.deviceId!]: 1 } }),
    ]);
    expect(rejected.body.results.filter((r: Json) => r.status === "rejected").length).toBeGreaterThan(5);
    // B's comment edit of A's comment: rejected forbidden.
    await push(b, [change(b, { entity: "comment", entity_id: cmid, op: "update", data: { body: "not mine" }, base_version: 1, vector_clock: { [b.deviceId!]: 1, [a.deviceId!]: 1 } })]);

    // A concurrent update and delete: conflict on the delete side.
    const t2 = uuid();
    const c2 = await push(a, [change(a, { entity: "task", entity_id: t2, op: "create", data: { title: "doomed" }, vector_clock: { [a.deviceId!]: 1 } })]);
    await push(a, [change(a, { entity: "task", entity_id: t2, op: "delete", base_version: 1, vector_clock: { ...c2.body.results[0].vector_clock, [a.deviceId!]: 2 } })]);
    const upd = await push(b, [
      change(b, { entity: "task", entity_id: t2, op: "update", data: { title: "saved?" }, base_version: 1, vector_clock: { ...c2.body.results[0].vector_clock, [b.deviceId!]: 1 } }),
    ]);
    const deleteConflictId = upd.body.results[0].conflict_id as string | undefined;
    // A delete of the comment by push (tombstone in the feed).
    await push(a, [change(a, { entity: "comment", entity_id: cmid, op: "delete", base_version: 1, vector_clock: { [a.deviceId!]: 3 } })]);
    await push(a, [change(a, { entity: "comment", entity_id: cmid, op: "delete", data: {}, base_version: 2, vector_clock: { [a.deviceId!]: 4 } })]);
    await push(a, [change(a, { entity: "project", entity_id: pid, op: "update", data: { archived: true, color: "#000" }, base_version: 1, vector_clock: { [a.deviceId!]: 2 } })]);

    // Push errors.
    await push(a, [], 200);
    await call("POST", "/api/sync/push", { token: a.token, body: { device_id: b.deviceId, changes: [] }, expect: 403 });
    await call("POST", "/api/sync/push", { token: a.token, body: { device_id: uuid(), changes: [] }, expect: 403 });
    await call("POST", "/api/sync/push", { token: a.token, body: { changes: [] }, expect: 422 });
    await call("POST", "/api/sync/push", { token: a.token, body: { device_id: a.deviceId, changes: {} }, expect: 422 });
    await call("POST", "/api/sync/push", { token: a.token, body: "{", expect: 400 });
    await call("POST", "/api/sync/push", { body: { device_id: a.deviceId, changes: [] }, expect: 401 });
    const many = Array.from({ length: 1001 }, () => change(a, { entity: "project", entity_id: uuid(), op: "create", data: { name: "n" }, vector_clock: { [a.deviceId!]: 1 } }));
    const manyBody = JSON.stringify({ device_id: a.deviceId, changes: many });
    await call("POST", "/api/sync/push", { token: a.token, body: manyBody, headers: { "content-length": String(manyBody.length) }, expect: 413 });
    const huge = JSON.stringify({ device_id: a.deviceId, changes: [], pad: "x".repeat(6 * 1024 * 1024) });
    await call("POST", "/api/sync/push", { token: a.token, body: huge, headers: { "content-length": String(huge.length) }, expect: 413 });
    await call("GET", "/api/sync/push", { token: a.token, expect: 405 });

    // Pulls: snapshot (with tombstones absent), incremental from B's cursor (A's changes, deletes), paging.
    await call("GET", `/api/sync/pull?device_id=${a.deviceId}`, { token: a.token, expect: 200 });
    const inc = await call("GET", `/api/sync/pull?device_id=${b.deviceId}&cursor=${encodeURIComponent(bCursor)}`, { token: b.token, expect: 200 });
    expect(inc.body.changes.some((c: Json) => c.op === "delete")).toBe(true);
    await call("GET", `/api/sync/pull?device_id=${b.deviceId}&cursor=${encodeURIComponent(bCursor)}&limit=1`, { token: b.token, expect: 200 });
    await call("GET", `/api/sync/pull?device_id=${b.deviceId}&cursor=nope`, { token: b.token, expect: 400 });
    await call("GET", `/api/sync/pull?device_id=${b.deviceId}&limit=0`, { token: b.token, expect: 422 });
    await call("GET", `/api/sync/pull`, { token: b.token, expect: 422 });
    await call("GET", `/api/sync/pull?device_id=${a.deviceId}`, { token: b.token, expect: 403 });
    await call("GET", `/api/sync/pull?device_id=${b.deviceId}`, { expect: 401 });

    // Conflicts.
    await call("GET", "/api/sync/conflicts", { token: b.token, expect: 200 });
    await call("GET", "/api/sync/conflicts?include_resolved=true&page=1&page_size=10", { token: b.token, expect: 200 });
    await call("GET", "/api/sync/conflicts?include_resolved=maybe", { token: b.token, expect: 422 });
    await call("GET", "/api/sync/conflicts?page=0", { token: b.token, expect: 422 });
    await call("GET", `/api/sync/conflicts/${conflictId}`, { token: b.token, expect: 200 });
    if (deleteConflictId) await call("GET", `/api/sync/conflicts/${deleteConflictId}`, { token: b.token, expect: 200 });
    await call("GET", `/api/sync/conflicts/${conflictId}`, { token: stranger.token, expect: 404 });
    await call("GET", `/api/sync/conflicts/${uuid()}`, { token: b.token, expect: 404 });
    await call("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: b.token, body: { resolution: "mine" }, expect: 422 });
    await call("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: b.token, body: { resolution: "custom" }, expect: 422 });
    await call("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: b.token, body: "{", expect: 400 });
    await call("POST", `/api/sync/conflicts/${uuid()}/resolve`, { token: b.token, body: { resolution: "local" }, expect: 404 });
    await call("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: b.token, body: { resolution: "custom", data: { title: "Buy milk (both)" } }, expect: 200 });
    await call("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: b.token, body: { resolution: "local" }, expect: 409 });
    if (deleteConflictId) await call("POST", `/api/sync/conflicts/${deleteConflictId}/resolve`, { token: b.token, body: { resolution: "local" } });
    await call("GET", "/api/sync/conflicts?include_resolved=true", { token: b.token, expect: 200 });
    await call("GET", `/api/sync/conflicts/${conflictId}`, { token: b.token, expect: 200 });
    await call("GET", `/api/tasks/${tid}/history`, { token: b.token, expect: 200 });

    // A local resolution after a later write to a conflicting field: 409 version_conflict.
    const t3 = uuid();
    const c3 = await push(a, [change(a, { entity: "task", entity_id: t3, op: "create", data: { title: "abc" }, vector_clock: { [a.deviceId!]: 1 } })]);
    const base3 = c3.body.results[0].vector_clock;
    await push(a, [change(a, { entity: "task", entity_id: t3, op: "update", data: { title: "abd" }, base_version: 1, vector_clock: { ...base3, [a.deviceId!]: 2 } })]);
    const k3 = await push(b, [change(b, { entity: "task", entity_id: t3, op: "update", data: { title: "abe" }, base_version: 1, vector_clock: { ...base3, [b.deviceId!]: 1 } })]);
    const k3id = k3.body.results[0].conflict_id as string;
    await call("PATCH", `/api/tasks/${t3}`, { token: a.token, body: { title: "changed meanwhile" }, expect: 200 });
    await call("POST", `/api/sync/conflicts/${k3id}/resolve`, { token: b.token, body: { resolution: "local" }, expect: 409 });
    await call("POST", `/api/sync/conflicts/${k3id}/resolve`, { token: b.token, body: { resolution: "remote" }, expect: 200 });

    // A comment conflict resolved by someone else than its author: 403.
    const cm2 = uuid();
    const k4c = await push(a, [change(a, { entity: "comment", entity_id: cm2, op: "create", data: { task_id: t3, body: "one two" }, vector_clock: { [a.deviceId!]: 1 } })]);
    const base4 = k4c.body.results[0].vector_clock;
    await push(a, [change(a, { entity: "comment", entity_id: cm2, op: "update", data: { body: "one three" }, base_version: 1, vector_clock: { ...base4, [a.deviceId!]: 2 } })]);
    const a2 = await t.services.devices.create({ userId: a.user.id, orgId: a.org.id }, { name: "a2" });
    const a2token = await t.tokenFor(a.user, a2.id);
    const k4 = await call("POST", "/api/sync/push", {
      token: a2token,
      body: { device_id: a2.id, changes: [change(a, { entity: "comment", entity_id: cm2, op: "update", data: { body: "one four" }, base_version: 1, vector_clock: { ...base4, [a2.id]: 1 } })] },
      expect: 200,
    });
    const k4id = k4.body.results[0].conflict_id as string | undefined;
    if (k4id) await call("POST", `/api/sync/conflicts/${k4id}/resolve`, { token: b.token, body: { resolution: "local" }, expect: 403 });

    // Tombstones purged: an old cursor answers 410.
    const seq = (await t.deps.db.get<{ seq: number }>("SELECT seq FROM org_feed_state WHERE org_id = ?", [a.org.id]))!.seq;
    await t.deps.db.run("UPDATE org_feed_state SET purged_through = ? WHERE org_id = ?", [Number(seq), a.org.id]);
    await call("GET", `/api/sync/pull?device_id=${b.deviceId}&cursor=${encodeURIComponent(bCursor)}`, { token: b.token, expect: 410 });

    // Revoked device: 403 on push, then its token 401.
    const spare = await t.services.devices.create({ userId: a.user.id, orgId: a.org.id }, { name: "spare" });
    await call("DELETE", `/api/devices/${spare.id}`, { token: a.token, expect: 204 });
    await call("POST", "/api/sync/push", { token: a.token, body: { device_id: spare.id, changes: [] }, expect: 403 });
    await call("GET", `/api/sync/pull?device_id=${spare.id}`, { token: a.token, expect: 403 });

    // The metrics have something to say now.
    await call("GET", "/api/metrics", { token: admin.token, expect: 200 });
    await call("GET", "/api/metrics", { token: admin.token, headers: { accept: "text/plain" }, expect: 200 });
    await t.services.jobs.run("sync-metrics").catch(() => undefined);
    await call("GET", "/api/metrics/hourly", { token: admin.token, expect: 200 });
  });

  scenario("a deactivated user and a revoked device get 401 everywhere", async () => {
    const u = await t.createUser({ org: admin.org.slug });
    await t.services.devices.revokeAnyOrg(u.deviceId!);
    await call("GET", "/api/users/me", { token: u.token, expect: 401 });
    await call("GET", "/api/tasks", { token: u.token, expect: 401 });
    const gone = await t.createUser({ org: admin.org.slug });
    await t.services.users.deactivate(gone.email);
    await call("POST", "/api/sync/push", { token: gone.token, body: { device_id: gone.deviceId, changes: [] }, expect: 401 });
    await call("POST", "/api/auth/login", { body: { email: gone.email, password: gone.password }, expect: 401 });
    await call("POST", "/api/auth/refresh", { body: { refresh: gone.refresh }, expect: 401 });
  });

  scenario("shared paths: 401 without a token, 400, 413 and 422 for bodies, 405 for other methods, HEAD for reads", async () => {
    const big = "x".repeat(5 * 1024 * 1024 + 1);
    for (const [tpl, item] of Object.entries(doc.paths)) {
      const path = tpl.replace(/\{[^}]+\}/g, uuid());
      for (const method of METHODS) {
        const op = item[method];
        if (!op) {
          await call(method.toUpperCase(), path, { token: member.token, expect: 405 });
          continue;
        }
        const M = method.toUpperCase();
        const isPublic = Array.isArray((op as { security?: unknown[] }).security);
        if (!isPublic) await call(M, path, { expect: 401 });
        // The server reads the body of every method but GET and HEAD, whether the operation documents one
        // or not (DELETE /api/devices/{id} takes none): each such operation answers a bad body alike.
        if (method !== "get") {
          const token = isPublic ? undefined : member.token;
          await call(M, path, { token, body: "{", expect: 400 });
          await call(M, path, { token, body: "a=1", headers: { "content-type": "application/x-www-form-urlencoded" }, expect: 400 });
          await call(M, path, { token, body: "{}", headers: { "content-type": "text/plain" }, expect: 400 });
          await call(M, path, { token, body: big, headers: { "content-length": String(big.length) }, expect: 413 });
          await call(M, path, { token, body: [1], expect: 422 });
        }
        if ((op as { requestBody?: unknown }).requestBody) {
          const token = isPublic ? undefined : member.token;
          // Every request body is documented closed (additionalProperties: false): an unknown field is refused.
          await call(M, path, { token, body: { zz_unknown: 1 }, expect: 422 });
        }
        if (method === "get") await call("HEAD", path, isPublic ? {} : { token: member.token });
      }
    }
  });

  scenario("too many logins at once: 503 with Retry-After", async () => {
    // Logins of one account wait for each other: these are of many (unknown) accounts, 401 each unless refused at once.
    const answers = await Promise.all(
      Array.from({ length: availableParallelism() + 80 }, (_, i) => call("POST", "/api/auth/login", { body: { email: `crowd-${i}@example.test`, password: "x" } })),
    );
    expect(answers.some((r) => r.status === 503)).toBe(true);
  });

  scenario("a database that lacks migrations: health answers 503", async () => {
    const unmigrated = await createTestDatabase("sqlite", { migrate: false });
    const saved = t;
    try {
      t = await createTestApp(unmigrated.db);
      await call("GET", "/api/health", { expect: 503 });
    } finally {
      t = saved;
      await unmigrated.drop();
    }
  });

  // One test runs the scenarios in order and then compares (they share the app and what it answered,
  // so they must not run apart or in another order: `bun test --randomize` shuffles tests, not this list).
  test("every answer fits the document, and every documented status is answered", async () => {
    for (const [name, run] of scenarios) {
      try {
        await run();
      } catch (err) {
        findings.add(`scenario "${name}" stopped: ${(err as Error).message}`);
      }
    }
    const unanswered: string[] = [];
    for (const [path, item] of Object.entries(doc.paths))
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const seen = exercised.get(`${method.toUpperCase()} ${path}`) ?? new Set<string>();
        for (const status of Object.keys(op.responses)) if (status !== "default" && !seen.has(status)) unanswered.push(`${method.toUpperCase()} ${path} ${status}: documented, never answered`);
      }
    expect([...[...findings].sort(), ...unanswered]).toEqual([]);
  }, 120_000);
});
