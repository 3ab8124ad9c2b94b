/**
 * Acceptance: the API and CLI contracts (../shared/api-contract.md, cli-contract.md) walked the
 * way a client developer would, against the REAL program: one `taskmgr serve` child process on a
 * temporary SQLite file, spoken to over HTTP with fetch; users and administration through the
 * real command line. One server start for the whole file.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Command } from "commander";
import { join } from "node:path";
import { buildProgram } from "../../cli/program";
import { removeTempDirs, serve, taskmgr, tempDir, type Served } from "../cli/support";

setDefaultTimeout(60_000);

const PASSWORD = "acceptance password 1";

let dir = "";
let db = "";
let env: Record<string, string> = {};
let server: Served;
let base = "";

/** The admin `serve` created on the empty database, and users made with `taskmgr users create`. */
const admin = { email: "", password: "" };
const member = { email: "member@acme.test", password: PASSWORD };
const outsider = { email: "outsider@other.test", password: PASSWORD };

interface Res {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON when the answer is JSON, else undefined. */
  body: any;
}

interface Call {
  token?: string;
  /** JSON-encoded unless a string (sent as is). */
  body?: unknown;
  headers?: Record<string, string>;
}

async function api(method: string, path: string, opts: Call = {}): Promise<Res> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  }
  const res = await fetch(path.startsWith("http") ? path : base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown;
  if ((res.headers.get("content-type") ?? "").includes("json") && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** `taskmgr ARGS --db <this server's database>`, which must succeed; its stdout. */
async function cli(args: string[], stdin?: string): Promise<string> {
  const r = await taskmgr([...args, "--db", db], { cwd: dir, env, stdin });
  if (r.code !== 0) throw new Error(`taskmgr ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

interface Session {
  access: string;
  refresh: string;
  user: { id: string; email: string; role: string; organization_id: string };
}

async function login(who: { email: string; password: string }, deviceId?: string): Promise<Session> {
  const r = await api("POST", "/api/auth/login", { body: { email: who.email, password: who.password, ...(deviceId ? { device_id: deviceId } : {}) } });
  expect(r.status).toBe(200);
  return r.body;
}

/** Anything in an error body that would reveal internals: stack frames, source paths, SQL, driver names. */
const LEAKS = [
  /\bat .+\(.*:\d+:\d+\)/, // stack frame
  /\n\s+at\s/,
  /\.(ts|js|mjs):\d+/,
  /node_modules/,
  /\/(work|tmp|home|root|usr|var)\//,
  /\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b/,
  /SQLITE_|sqlite3?|postgres|PostgresError|constraint failed|syntax error/i,
  /TypeError|ReferenceError|RangeError|SyntaxError|undefined is not/,
];

/** The contract's error answer: the status, JSON `{"error": {"code", "message", "details"}}`, nothing internal. */
function expectError(r: Res, status: number, code?: string): void {
  expect({ status: r.status, text: r.text.slice(0, 300) }).toEqual({ status, text: expect.any(String) });
  expect(r.headers.get("content-type") ?? "").toContain("application/json");
  expect(r.body).toEqual({ error: { code: expect.any(String), message: expect.any(String), details: expect.any(Object) } });
  expect(r.body.error.message.length).toBeGreaterThan(0);
  if (code) expect(r.body.error.code).toBe(code);
  for (const leak of LEAKS) expect({ leak: String(leak), text: r.text }).not.toEqual({ leak: String(leak), text: expect.stringMatching(leak) });
  expect(r.text).not.toContain(dir);
}

/**
 * `expect(value).toMatchObject(shape)` on a copy: Bun's toMatchObject replaces the properties of the
 * received object that an asymmetric matcher matched (`expect.any(String)`) with the matcher itself.
 */
const expectLike = (value: unknown, shape: object) => expect(structuredClone(value)).toMatchObject(shape);

/** The fields a 422 names. */
const fieldsOf = (r: Res): string[] => Object.keys(r.body?.error?.details?.fields ?? {});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

beforeAll(async () => {
  dir = tempDir("taskmgr-acceptance-");
  db = `sqlite:${join(dir, "t.db")}`;
  // NODE_ENV empty as on an administrator's machine (bun test sets it to "test" for itself).
  env = { TASKMGR_DATA_DIR: join(dir, "data"), LOG_DIR: join(dir, "logs"), NODE_ENV: "" };
  server = await serve(["--port", "0", "--db", db], { cwd: dir, env });
  base = server.url;
  const created = /admin (\S+) with password: (\S+)/.exec(server.stdout());
  if (!created) throw new Error(`serve did not print the first admin:\n${server.stdout()}`);
  admin.email = created[1]!;
  admin.password = created[2]!;
  await cli(["users", "create", "--org", "default", "--email", member.email, "--name", "Mem Ber", "--password", member.password]);
  await cli(["orgs", "create", "Other Org", "--slug", "other"]);
  await cli(["users", "create", "--org", "other", "--email", outsider.email, "--role", "admin", "--password", outsider.password]);
});

afterAll(async () => {
  if (server) {
    const code = await server.stop("SIGTERM");
    expect(code).toBe(0); // a clean drain exits 0
  }
  removeTempDirs();
});

describe("the command line", () => {
  test("`taskmgr --help` lists every command of the CLI contract, and each command its sub-commands", async () => {
    const help = await cli(["--help"]);
    for (const command of ["serve", "migrate", "orgs", "users", "devices", "conflicts", "jobs"]) expect(help).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
    const subcommands: Record<string, string[]> = {
      migrate: ["status"],
      orgs: ["create", "list"],
      users: ["create", "list", "set-password", "deactivate"],
      devices: ["list", "revoke"],
      conflicts: ["list", "show", "resolve"],
      jobs: ["list", "run"],
    };
    const flags: Record<string, string[]> = {
      serve: ["--host", "--port"],
      "orgs create": ["--slug", "--json"],
      "orgs list": ["--json"],
      "users create": ["--org", "--email", "--name", "--role", "--password", "--json"],
      "users list": ["--org", "--json"],
      "devices list": ["--user", "--json"],
      "conflicts list": ["--org", "--all", "--json"],
      "conflicts resolve": ["--use", "--data"],
      "jobs list": ["--json"],
      "migrate status": ["--json"],
    };
    // The tree `--help` prints, read in process (spawning a command per help page would cost seconds).
    const program = buildProgram();
    const find = (path: string) => path.split(" ").reduce<Command | undefined>((c, name) => c?.commands.find((x) => x.name() === name), program);
    for (const [command, subs] of Object.entries(subcommands)) {
      for (const sub of subs) expect({ command, sub, found: !!find(`${command} ${sub}`) }).toEqual({ command, sub, found: true });
    }
    for (const [command, names] of Object.entries(flags)) {
      const longs = find(command)?.options.map((o) => o.long) ?? [];
      for (const flag of names) expect({ command, flag, longs }).toEqual({ command, flag, longs: expect.arrayContaining([flag]) });
    }
    const [users, version] = await Promise.all([taskmgr(["users", "--help"], { cwd: dir }), taskmgr(["--version"], { cwd: dir })]);
    for (const sub of subcommands.users!) expect(users.stdout).toMatch(new RegExp(`^\\s+${sub}\\b`, "m"));
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("bad usage exits 2; listings take --json and print the API's field names", async () => {
    expect((await taskmgr(["users", "create", "--db", db], { cwd: dir, env })).code).toBe(2);
    expect((await taskmgr(["jobs", "run", "no-such-job", "--db", db], { cwd: dir, env })).code).toBe(2);
    const users = JSON.parse(await cli(["users", "list", "--org", "default", "--json"])) as { email: string }[];
    expect(users.map((u) => u.email).sort()).toEqual([admin.email, member.email].sort());
    const jobs = JSON.parse(await cli(["jobs", "list", "--json"])) as { name: string }[];
    expect(jobs.map((j) => j.name).sort()).toEqual(["cleanup-sync-logs", "cleanup-tombstones", "sync-metrics"]);
  });
});

describe("operations", () => {
  test("GET /api/health needs no token and names the database and version", async () => {
    for (const path of ["/api/health", "/api/health/"]) {
      const r = await api("GET", path);
      expect(r.status).toBe(200);
      expectLike(r.body, { status: "ok", database: "sqlite", version: expect.any(String), migrations: "current" });
    }
  });

  test("GET /api/schema is a public OpenAPI 3 document listing every path and method of the contract", async () => {
    const r = await api("GET", "/api/schema");
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expectLike(doc.info, { title: expect.any(String), version: expect.any(String) });
    const contract: Record<string, string[]> = {
      "/api/auth/login": ["post"],
      "/api/auth/refresh": ["post"],
      "/api/auth/logout": ["post"],
      "/api/users": ["get"],
      "/api/users/me": ["get"],
      "/api/devices": ["get", "post"],
      "/api/devices/{id}": ["delete"],
      "/api/projects": ["get", "post"],
      "/api/projects/{id}": ["get", "patch", "delete"],
      "/api/projects/{id}/archive": ["post"],
      "/api/tasks": ["get", "post"],
      "/api/tasks/{id}": ["get", "patch", "delete"],
      "/api/tasks/{id}/comments": ["get"],
      "/api/tasks/{id}/history": ["get"],
      "/api/comments": ["get", "post"],
      "/api/comments/{id}": ["get", "patch", "delete"],
      "/api/sync/push": ["post"],
      "/api/sync/pull": ["get"],
      "/api/sync/conflicts": ["get"],
      "/api/sync/conflicts/{id}": ["get"],
      "/api/sync/conflicts/{id}/resolve": ["post"],
      "/api/health": ["get"],
      "/api/metrics": ["get"],
    };
    for (const [path, methods] of Object.entries(contract)) {
      expect({ path, documented: path in doc.paths }).toEqual({ path, documented: true });
      for (const m of methods) expect({ path, m, op: typeof doc.paths[path][m] }).toEqual({ path, m, op: "object" });
    }
    // Every path parameter is declared, every request body is described as JSON, and every $ref resolves inside the document.
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const declared = (op.parameters ?? []).filter((p: any) => p.in === "path").map((p: any) => p.name);
        for (const [, name] of path.matchAll(/\{(\w+)\}/g)) expect({ path, name, declared }).toEqual({ path, name, declared: expect.arrayContaining([name]) });
        if (op.requestBody) expect({ path, method, schema: typeof op.requestBody.content?.["application/json"]?.schema }).toEqual({ path, method, schema: "object" });
        expect({ path, method, responses: Object.keys(op.responses ?? {}).length > 0 }).toEqual({ path, method, responses: true });
      }
    }
    for (const [path, method] of [["/api/auth/login", "post"], ["/api/tasks", "post"], ["/api/tasks/{id}", "patch"], ["/api/devices", "post"], ["/api/sync/push", "post"]]) {
      expect({ path, method, body: !!doc.paths[path!][method!].requestBody }).toEqual({ path, method, body: true });
    }
    for (const [, ref] of r.text.matchAll(/"\$ref":"#\/([^"]+)"/g)) {
      const target = ref!.split("/").reduce((node: any, key) => node?.[key], doc);
      expect({ ref, resolves: target !== undefined }).toEqual({ ref, resolves: true });
    }
    // Bearer auth is declared; login, refresh and health waive it.
    expect(Object.values(doc.components.securitySchemes as Record<string, { type: string; scheme?: string }>)).toContainEqual(
      expect.objectContaining({ type: "http", scheme: "bearer" }),
    );
    for (const [path, m] of [["/api/auth/login", "post"], ["/api/auth/refresh", "post"], ["/api/health", "get"]] as const) expect(doc.paths[path][m].security).toEqual([]);
    expect((await api("GET", "/api/schema/")).status).toBe(200);
  });

  test("GET /api/docs is an HTML page whose every asset comes from taskmgr itself", async () => {
    for (const path of ["/api/docs", "/api/docs/"]) {
      const r = await api("GET", path);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toStartWith("text/html");
      expect(r.text).not.toMatch(/(src|href)="(https?:)?\/\//i);
      expect(r.text).not.toMatch(/https?:\/\//); // no CDN, no remote validator in the inline configuration
      // (`data:` URLs, e.g. the empty icon, are inside the page itself)
      const refs = [...r.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((ref) => !ref.startsWith("data:"));
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) {
        const asset = await fetch(new URL(ref, base + path));
        expect({ ref, status: asset.status }).toEqual({ ref, status: 200 });
        expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(50);
      }
    }
  });

  test("GET /api/metrics: 401 without a token, 403 for members, 200 JSON or Prometheus text for admins", async () => {
    expectError(await api("GET", "/api/metrics"), 401, "unauthenticated");
    const m = await login(member);
    expectError(await api("GET", "/api/metrics", { token: m.access }), 403, "forbidden");
    const a = await login(admin);
    const json = await api("GET", "/api/metrics/?window=1h", { token: a.access });
    expect(json.status).toBe(200);
    for (const field of ["sync_success_rate", "conflict_rate", "average_sync_duration_ms", "active_devices_per_user"]) expect(json.body).toHaveProperty(field);
    const text = await api("GET", "/api/metrics", { token: a.access, headers: { accept: "text/plain" } });
    expect(text.status).toBe(200);
    expect(text.headers.get("content-type")).toStartWith("text/plain");
    expect(text.text).toContain("taskmgr_sync_success_rate");
    expect(text.text).toContain("taskmgr_http_requests_total");
    expectError(await api("GET", "/api/metrics?window=forever", { token: a.access }), 422, "validation_failed");
  });
});

describe("general rules", () => {
  let a: Session;
  beforeAll(async () => {
    a = await login(admin);
  });

  test("every path works with and without the trailing slash, ids included", async () => {
    const token = a.access;
    const device = await api("POST", "/api/devices/", { token, body: { name: "slash phone" } });
    expect(device.status).toBe(201);
    const project = await api("POST", "/api/projects/", { token, body: { name: "Slashes" } });
    expect(project.status).toBe(201);
    const task = await api("POST", "/api/tasks/", { token, body: { title: "slash task", project_id: project.body.id } });
    expect(task.status).toBe(201);
    const comment = await api("POST", "/api/comments/", { token, body: { task_id: task.body.id, body: "slash comment" } });
    expect(comment.status).toBe(201);
    const gets = [
      "/api/health",
      "/api/schema",
      "/api/docs",
      "/api/metrics",
      "/api/users",
      "/api/users/me",
      "/api/devices",
      "/api/projects",
      `/api/projects/${project.body.id}`,
      "/api/tasks",
      `/api/tasks/${task.body.id}`,
      `/api/tasks/${task.body.id}/comments`,
      `/api/tasks/${task.body.id}/history`,
      "/api/comments",
      `/api/comments/${comment.body.id}`,
      `/api/sync/pull?device_id=${device.body.id}`,
      "/api/sync/conflicts",
    ];
    for (const path of gets) {
      const [p, q] = path.split("?");
      for (const variant of [path, `${p}/${q ? `?${q}` : ""}`]) {
        const r = await api("GET", variant, { token });
        expect({ variant, status: r.status }).toEqual({ variant, status: 200 });
      }
    }
    // Writes with ids, with the trailing slash.
    const patched = await api("PATCH", `/api/tasks/${task.body.id}/`, { token, body: { title: "slash task 2" } });
    expect(patched.status).toBe(200);
    expect((await api("PATCH", `/api/projects/${project.body.id}/`, { token, body: { color: "#fff" } })).status).toBe(200);
    expect((await api("POST", `/api/projects/${project.body.id}/archive/`, { token })).status).toBe(200);
    expect((await api("PATCH", `/api/comments/${comment.body.id}/`, { token, body: { body: "edited" } })).status).toBe(200);
    expect((await api("DELETE", `/api/comments/${comment.body.id}/`, { token })).status).toBe(204);
    expect((await api("DELETE", `/api/tasks/${task.body.id}/`, { token })).status).toBe(204);
    expect((await api("DELETE", `/api/projects/${project.body.id}/`, { token })).status).toBe(204);
    expect((await api("POST", "/api/sync/push/", { token, body: { device_id: device.body.id, changes: [] } })).status).toBe(200);
    expect((await api("DELETE", `/api/devices/${device.body.id}/`, { token })).status).toBe(204);
    // Auth endpoints.
    const s = await api("POST", "/api/auth/login/", { body: { email: admin.email, password: admin.password } });
    expect(s.status).toBe(200);
    const r = await api("POST", "/api/auth/refresh/", { body: { refresh: s.body.refresh } });
    expect(r.status).toBe(200);
    expect((await api("POST", "/api/auth/logout/", { token: r.body.access, body: { refresh: r.body.refresh } })).status).toBe(204);
  });

  test("400: malformed JSON answers the error body", async () => {
    for (const raw of ["{not json", '{"title": "x",}', "[1, 2", "\u0000"]) {
      expectError(await api("POST", "/api/tasks", { token: a.access, body: raw }), 400, "bad_request");
    }
    expectError(await api("POST", "/api/auth/login", { body: "{oops" }), 400, "bad_request");
  });

  test("422 at once for a body nested absurdly deep (a few kilobytes that would cost the server seconds)", async () => {
    const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
    for (const [path, body, token] of [
      ["/api/tasks", deep(20_000), a.access],
      ["/api/auth/login", `{"email": "a@b.c", "password": "x", "x": ${deep(100_000)}}`, undefined],
      ["/api/sync/push", `{"device_id": "x", "changes": [{"data": {"title": ${deep(1_000)}}}]}`, a.access],
    ] as const) {
      const r = await api("POST", path, { token, body });
      expectError(r, 422, "validation_failed");
      expect(fieldsOf(r)).toEqual(["body"]);
    }
    // Brackets inside strings do not count.
    const t = await api("POST", "/api/tasks", { token: a.access, body: { title: "[".repeat(400), description: "{".repeat(5000) } });
    expect(t.status).toBe(201);
  });

  test("401: no token, a malformed one, or a forged one — before the request is validated", async () => {
    expectError(await api("GET", "/api/tasks"), 401, "unauthenticated");
    expectError(await api("GET", "/api/tasks", { token: "garbage" }), 401, "unauthenticated");
    expectError(await api("GET", "/api/tasks", { headers: { authorization: `Basic ${a.access}` } }), 401, "unauthenticated");
    const [h, p] = a.access.split(".");
    expectError(await api("GET", "/api/users/me", { token: `${h}.${p}.AAAA` }), 401, "unauthenticated");
    // Authentication comes before validation: an invalid request without a token is still 401.
    expectError(await api("POST", "/api/tasks", { body: { title: 42, nope: true } }), 401, "unauthenticated");
    expectError(await api("GET", "/api/tasks?page=0&status=nope"), 401, "unauthenticated");
    expectError(await api("GET", "/api/tasks/not-a-uuid"), 401, "unauthenticated");
  });

  test("403: a member calling an admin-only endpoint", async () => {
    const m = await login(member);
    expectError(await api("GET", "/api/metrics", { token: m.access }), 403, "forbidden");
  });

  test("404: unknown routes, unknown ids, non-UUID ids and malformed paths", async () => {
    const token = a.access;
    expectError(await api("GET", "/api/nope", { token }), 404, "not_found");
    expectError(await api("GET", "/api/nope"), 404);
    for (const kind of ["projects", "tasks", "comments"]) {
      expectError(await api("GET", `/api/${kind}/${crypto.randomUUID()}`, { token }), 404, "not_found");
      expectError(await api("GET", `/api/${kind}/not-a-uuid`, { token }), 404, "not_found");
      expectError(await api("GET", `/api/${kind}/'%20OR%201=1--`, { token }), 404, "not_found");
      expectError(await api("PATCH", `/api/${kind}/not-a-uuid`, { token, body: {} }), 404, "not_found");
      expectError(await api("DELETE", `/api/${kind}/${crypto.randomUUID()}`, { token }), 404, "not_found");
      expectError(await api("GET", `/api/${kind}/%E0%A4%A`, { token }), 404, "not_found"); // not even UTF-8
    }
    expectError(await api("GET", `/api/tasks/${crypto.randomUUID()}/history`, { token }), 404, "not_found");
    expectError(await api("GET", `/api/tasks/${crypto.randomUUID()}/comments`, { token }), 404, "not_found");
    expectError(await api("POST", `/api/projects/${crypto.randomUUID()}/archive`, { token }), 404, "not_found");
    expectError(await api("DELETE", "/api/devices/not-a-uuid", { token }), 404, "not_found");
    expectError(await api("DELETE", `/api/devices/${crypto.randomUUID()}`, { token }), 404, "not_found");
    expectError(await api("GET", "/api/sync/conflicts/not-a-uuid", { token }), 404, "not_found");
    expectError(await api("POST", `/api/sync/conflicts/${crypto.randomUUID()}/resolve`, { token, body: { resolution: "remote" } }), 404, "not_found");
  });

  test("409, 412: stale body version, stale If-Match, a taken id — each with the current record", async () => {
    const token = a.access;
    const t = await api("POST", "/api/tasks", { token, body: { title: "locked" } });
    expect(t.status).toBe(201);
    const ok = await api("PATCH", `/api/tasks/${t.body.id}`, { token, body: { title: "locked 2" }, headers: { "if-match": '"1"' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("etag")).toBe('"2"');
    const stale412 = await api("PATCH", `/api/tasks/${t.body.id}`, { token, body: { title: "late" }, headers: { "if-match": '"1"' } });
    expectError(stale412, 412, "precondition_failed");
    expectLike(stale412.body.error.details.current, { id: t.body.id, version: 2, title: "locked 2" });
    const stale409 = await api("PATCH", `/api/tasks/${t.body.id}`, { token, body: { title: "late", version: 1 } });
    expectError(stale409, 409, "version_conflict");
    expectLike(stale409.body.error.details.current, { id: t.body.id, version: 2 });
    expectError(await api("DELETE", `/api/tasks/${t.body.id}`, { token, headers: { "if-match": '"1"' } }), 412, "precondition_failed");
    expectError(await api("POST", "/api/tasks", { token, body: { id: t.body.id, title: "same id" } }), 409);
    expectLike((await api("GET", `/api/tasks/${t.body.id}`, { token })).body, { title: "locked 2", version: 2 });
  });

  test("413: a body over 5 MB, declared or chunked, on public and protected routes alike", async () => {
    const big = JSON.stringify({ title: "x", description: "y".repeat(6 * 1024 * 1024) });
    expectError(await api("POST", "/api/tasks", { token: a.access, body: big }), 413, "payload_too_large");
    expectError(await api("POST", "/api/auth/login", { body: big }), 413, "payload_too_large");
    expectError(await api("POST", "/api/sync/push", { token: a.access, body: big }), 413, "payload_too_large");
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 12; i++) c.enqueue(new TextEncoder().encode("z".repeat(512 * 1024)));
        c.close();
      },
    });
    const res = await fetch(`${base}/api/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.access}`, "content-type": "application/json" },
      body: chunked,
    });
    const text = await res.text();
    expectError({ status: res.status, headers: res.headers, text, body: JSON.parse(text) }, 413, "payload_too_large");
    // Just under the limit is judged on its content (here: a description over 100,000 characters).
    const under = JSON.stringify({ title: "x", description: "y".repeat(4 * 1024 * 1024) });
    const r = await api("POST", "/api/tasks", { token: a.access, body: under });
    expectError(r, 422, "validation_failed");
    expect(fieldsOf(r)).toEqual(["description"]);
  });

  test("413 at the contract's 5 MB read as written: 5,000,000 bytes pass, one more is over (a 5 MiB limit let 5,000,001 through)", async () => {
    const padded = (size: number) => {
      const json = JSON.stringify({ title: "exactly at the limit" });
      return json + " ".repeat(size - Buffer.byteLength(json));
    };
    const at = await api("POST", "/api/tasks", { token: a.access, body: padded(5_000_000) });
    expect(at.status).toBe(201);
    expectError(await api("POST", "/api/tasks", { token: a.access, body: padded(5_000_001) }), 413, "payload_too_large");
  });

  test("422: wrong types, unknown and read-only fields, bad values — naming the field", async () => {
    const token = a.access;
    const cases: [unknown, string][] = [
      [{ title: 42 }, "title"],
      [{ title: "" }, "title"],
      [{ title: "x".repeat(501) }, "title"],
      [{ title: "x", status: "doing" }, "status"],
      [{ title: "x", priority: "critical" }, "priority"],
      [{ title: "x", tags: "a,b" }, "tags"],
      [{ title: "x", due_date: "2026-02-30" }, "due_date"],
      [{ title: "x", due_date: "tomorrow" }, "due_date"],
      [{ title: "x", project_id: "nope" }, "project_id"],
      [{ title: "x", project_id: crypto.randomUUID() }, "project_id"],
      [{ title: "x", assignee_id: crypto.randomUUID() }, "assignee_id"],
      [{ title: "x", color: "red" }, "color"],
      [{ title: "x", version: 3 }, "version"],
      [{ title: "x", vector_clock: { server: 9 } }, "vector_clock"],
      [{ title: "x", created_by: crypto.randomUUID() }, "created_by"],
      [{ title: "x", created_at: "2020-01-01T00:00:00.000Z" }, "created_at"],
      [{ title: "x", id: "not-a-uuid" }, "id"],
      [{}, "title"],
    ];
    for (const [body, field] of cases) {
      const r = await api("POST", "/api/tasks", { token, body });
      expectError(r, 422, "validation_failed");
      expect({ body, fields: fieldsOf(r) }).toEqual({ body, fields: expect.arrayContaining([field]) });
    }
    for (const raw of ["[]", "null", '"a string"', "42"]) expectError(await api("POST", "/api/tasks", { token, body: raw }), 422, "validation_failed");
    // Reasons a client can act on, not the schema library's internals.
    const reasons = (await api("POST", "/api/tasks", { token, body: { title: "x", status: "doing", project_id: 5 } })).body.error.details.fields;
    expect(reasons.status).toContain('"in_progress"');
    expect(reasons.project_id).toBe("must be a UUID or null");
    const t = await api("POST", "/api/tasks", { token, body: { title: "read-only" } });
    for (const [body, field] of [
      [{ id: crypto.randomUUID() }, "id"],
      [{ version: "2" }, "version"],
      [{ author_id: crypto.randomUUID() }, "author_id"],
      [{ deleted_at: null }, "deleted_at"],
      [{ updated_at: "2020-01-01T00:00:00.000Z" }, "updated_at"],
    ] as [unknown, string][]) {
      const r = await api("PATCH", `/api/tasks/${t.body.id}`, { token, body });
      expectError(r, 422, "validation_failed");
      expect({ body, fields: fieldsOf(r) }).toEqual({ body, fields: expect.arrayContaining([field]) });
    }
    expect((await api("GET", `/api/tasks/${t.body.id}`, { token })).body.version).toBe(1); // nothing applied
    // Query parameters.
    for (const [qs, field] of [
      ["page_size=100000", "page_size"],
      ["page=0", "page"],
      ["page=abc", "page"],
      ["ordering=password", "ordering"],
      ["status=doing", "status"],
      ["due_before=soon", "due_before"],
      ["include_deleted=perhaps", "include_deleted"],
    ]) {
      const r = await api("GET", `/api/tasks?${qs}`, { token });
      expectError(r, 422, "validation_failed");
      expect({ qs, fields: fieldsOf(r) }).toEqual({ qs, fields: [field!] });
    }
    for (const path of ["/api/users", "/api/devices", "/api/projects", "/api/comments", "/api/sync/conflicts"]) {
      const r = await api("GET", `${path}?page_size=100000`, { token });
      expectError(r, 422, "validation_failed");
      expect({ path, fields: fieldsOf(r) }).toEqual({ path, fields: ["page_size"] });
    }
  });

  test("429: repeated failed logins of one account from one address, with Retry-After; others unaffected", async () => {
    const victim = "ratelimit@acme.test";
    await cli(["users", "create", "--org", "default", "--email", victim, "--password", PASSWORD]);
    let limited: Res | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const r = await api("POST", "/api/auth/login", { body: { email: victim, password: `wrong ${i}` } });
      if (r.status === 429) limited = r;
      else expectError(r, 401, "unauthenticated");
    }
    expect(limited).toBeDefined();
    expectError(limited!, 429, "rate_limited");
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    // Still limited with the right password; another account is not.
    expect((await api("POST", "/api/auth/login", { body: { email: victim, password: PASSWORD } })).status).toBe(429);
    expect((await api("POST", "/api/auth/login", { body: { email: member.email, password: member.password } })).status).toBe(200);
  });

  test("lists answer the envelope, with absolute next/previous URLs that work", async () => {
    const token = a.access;
    const tag = `page-${crypto.randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 5; i++) expect((await api("POST", "/api/tasks", { token, body: { title: `paged ${i}`, tags: [tag] } })).status).toBe(201);
    const p1 = await api("GET", `/api/tasks?tag=${tag}&page_size=2&ordering=title`, { token });
    expect(p1.status).toBe(200);
    expect(Object.keys(p1.body).sort()).toEqual(["count", "next", "previous", "results"]);
    expectLike(p1.body, { count: 5, previous: null });
    expect(p1.body.results.map((t: { title: string }) => t.title)).toEqual(["paged 0", "paged 1"]);
    expect(p1.body.next).toStartWith(`${base}/api/tasks`);
    const next = new URL(p1.body.next);
    expect(next.searchParams.get("tag")).toBe(tag); // the filters are kept
    expect(next.searchParams.get("ordering")).toBe("title");
    const p2 = await api("GET", p1.body.next, { token });
    expect(p2.body.results.map((t: { title: string }) => t.title)).toEqual(["paged 2", "paged 3"]);
    const p3 = await api("GET", p2.body.next, { token });
    expectLike(p3.body, { count: 5, next: null });
    expect(p3.body.results.map((t: { title: string }) => t.title)).toEqual(["paged 4"]);
    const back = await api("GET", p3.body.previous, { token });
    expect(back.body.results).toEqual(p2.body.results);
    expectLike((await api("GET", `/api/tasks?tag=${tag}&page=9`, { token })).body, { count: 5, results: [] });
    // Every list has the same envelope.
    for (const path of ["/api/users", "/api/devices", "/api/projects", "/api/comments", "/api/sync/conflicts"]) {
      const r = await api("GET", path, { token });
      expect({ path, keys: Object.keys(r.body ?? {}).sort() }).toEqual({ path, keys: ["count", "next", "previous", "results"] });
    }
  });

  test("a create answers 201 with Location (which resolves) and ETag; every single record carries its ETag", async () => {
    const token = a.access;
    const p = await api("POST", "/api/projects", { token, body: { name: "Located" } });
    expect(p.status).toBe(201);
    expect(p.headers.get("etag")).toBe('"1"');
    const location = p.headers.get("location");
    expect(location).toBe(`/api/projects/${p.body.id}`);
    const fetched = await api("GET", new URL(location!, base).toString(), { token });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(p.body);
    expect(fetched.headers.get("etag")).toBe('"1"');
    const archived = await api("POST", `/api/projects/${p.body.id}/archive`, { token });
    expect(archived.headers.get("etag")).toBe(`"${archived.body.version}"`);
    const d = await api("POST", "/api/devices", { token, body: { name: "located phone" } });
    expect(d.status).toBe(201);
    expect(d.headers.get("location")).toBe(`/api/devices/${d.body.id}`);
  });
});

describe("auth", () => {
  test("login answers the token pair and the user; wrong password, unknown email and bad input are refused alike", async () => {
    const r = await api("POST", "/api/auth/login", { body: { email: member.email.toUpperCase(), password: member.password } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      access: expect.any(String),
      refresh: expect.any(String),
      token_type: "Bearer",
      expires_in: expect.any(Number),
      user: expect.objectContaining({ email: member.email, role: "member" }),
    });
    expect(r.body.expires_in).toBeGreaterThan(0);
    expect(JSON.stringify(r.body)).not.toContain(member.password);
    const wrong = await api("POST", "/api/auth/login", { body: { email: member.email, password: "not it at all" } });
    const unknown = await api("POST", "/api/auth/login", { body: { email: "nobody@acme.test", password: "not it at all" } });
    expectError(wrong, 401, "unauthenticated");
    expectError(unknown, 401, "unauthenticated");
    expect(unknown.body).toEqual(wrong.body);
    expectError(await api("POST", "/api/auth/login", { body: { email: member.email } }), 422, "validation_failed");
  });

  test("refresh rotates; presenting a used refresh token revokes the family; logout revokes it too", async () => {
    const s = await login(member);
    const r1 = await api("POST", "/api/auth/refresh", { body: { refresh: s.refresh } });
    expect(r1.status).toBe(200);
    expectLike(r1.body, { access: expect.any(String), refresh: expect.any(String), token_type: "Bearer" });
    expect(r1.body.refresh).not.toBe(s.refresh);
    expect((await api("GET", "/api/users/me", { token: r1.body.access })).status).toBe(200);
    // Reuse of the old one: 401, and the whole family is gone (the new refresh token too).
    expectError(await api("POST", "/api/auth/refresh", { body: { refresh: s.refresh } }), 401, "unauthenticated");
    expectError(await api("POST", "/api/auth/refresh", { body: { refresh: r1.body.refresh } }), 401, "unauthenticated");
    // Logout: 204, then the refresh token no longer works.
    const s2 = await login(member);
    const out = await api("POST", "/api/auth/logout", { token: s2.access, body: { refresh: s2.refresh } });
    expect(out.status).toBe(204);
    expect(out.text).toBe("");
    expectError(await api("POST", "/api/auth/refresh", { body: { refresh: s2.refresh } }), 401, "unauthenticated");
    expectError(await api("POST", "/api/auth/refresh", { body: { refresh: "garbage" } }), 401, "unauthenticated");
    expectError(await api("POST", "/api/auth/logout", { body: { refresh: s2.refresh } }), 401, "unauthenticated");
  });

  test("a user deactivated with `taskmgr users deactivate` gets 401 on the next request and cannot log in", async () => {
    const email = "leaver@acme.test";
    await cli(["users", "create", "--org", "default", "--email", email, "--password", PASSWORD]);
    const s = await login({ email, password: PASSWORD });
    expect((await api("GET", "/api/users/me", { token: s.access })).status).toBe(200);
    await cli(["users", "deactivate", email]);
    expectError(await api("GET", "/api/users/me", { token: s.access }), 401, "unauthenticated");
    expectError(await api("POST", "/api/auth/refresh", { body: { refresh: s.refresh } }), 401, "unauthenticated");
    const again = await api("POST", "/api/auth/login", { body: { email, password: PASSWORD } });
    expectError(again, 401, "unauthenticated");
    const wrong = await api("POST", "/api/auth/login", { body: { email, password: "a wrong password" } });
    expect(again.body).toEqual(wrong.body); // same answer as a wrong password
  });

  test("`taskmgr users set-password` (password on stdin) ends the user's sessions; the new password logs in", async () => {
    const email = "forgetful@acme.test";
    await cli(["users", "create", "--org", "default", "--email", email], `${PASSWORD}\n`);
    const s = await login({ email, password: PASSWORD });
    await cli(["users", "set-password", email], "a brand new password\n");
    expectError(await api("POST", "/api/auth/refresh", { body: { refresh: s.refresh } }), 401, "unauthenticated");
    expectError(await api("POST", "/api/auth/login", { body: { email, password: PASSWORD } }), 401, "unauthenticated");
    expect((await api("POST", "/api/auth/login", { body: { email, password: "a brand new password" } })).status).toBe(200);
  });

  test("a revoked device's tokens get 401 on the next request (revoked over HTTP or with `taskmgr devices revoke`)", async () => {
    const m = await login(member);
    for (const how of ["http", "cli"] as const) {
      const d = await api("POST", "/api/devices", { token: m.access, body: { name: `phone ${how}`, platform: "ios" } });
      expect(d.status).toBe(201);
      const bound = await login(member, d.body.id);
      expect((await api("GET", "/api/tasks", { token: bound.access })).status).toBe(200);
      if (how === "http") expect((await api("DELETE", `/api/devices/${d.body.id}`, { token: m.access })).status).toBe(204);
      else await cli(["devices", "revoke", d.body.id]);
      expectError(await api("GET", "/api/tasks", { token: bound.access }), 401, "unauthenticated");
      expectError(await api("POST", "/api/auth/refresh", { body: { refresh: bound.refresh } }), 401, "unauthenticated");
      expect((await api("GET", "/api/tasks", { token: m.access })).status).toBe(200); // the unbound session is unaffected
    }
  });
});

describe("users and devices", () => {
  test("GET /api/users lists the caller's organization only; /me the caller", async () => {
    const m = await login(member);
    const users = await api("GET", "/api/users?page_size=500", { token: m.access });
    expect(users.status).toBe(200);
    const emails = users.body.results.map((u: { email: string }) => u.email);
    expect(emails).toContain(admin.email);
    expect(emails).toContain(member.email);
    expect(emails).not.toContain(outsider.email);
    expect(users.text).not.toMatch(/password|hash/i);
    const me = await api("GET", "/api/users/me", { token: m.access });
    expectLike(me.body, { id: m.user.id, email: member.email, name: "Mem Ber", role: "member" });
    expect(me.body.id).toMatch(UUID);
  });

  test("POST /api/devices answers 201 with the contract's fields; GET lists the caller's devices only; DELETE revokes", async () => {
    const m = await login(member);
    const o = await login(outsider);
    const d = await api("POST", "/api/devices", { token: m.access, body: { name: "Mem's tablet", platform: "android" } });
    expect(d.status).toBe(201);
    expectLike(d.body, { id: expect.stringMatching(UUID), name: "Mem's tablet", platform: "android", last_seen_at: null, revoked_at: null });
    expect(d.body.created_at).toMatch(ISO_UTC);
    const bare = await api("POST", "/api/devices", { token: m.access, body: { name: "bare" } });
    expect(bare.body.platform).toBeNull();
    expectError(await api("POST", "/api/devices", { token: m.access, body: { name: "" } }), 422, "validation_failed");
    expectError(await api("POST", "/api/devices", { token: m.access, body: { name: "x", owner: "me" } }), 422, "validation_failed");
    const mine = await api("GET", "/api/devices", { token: m.access });
    const ids = mine.body.results.map((x: { id: string }) => x.id);
    expect(ids).toContain(d.body.id);
    expect((await api("GET", "/api/devices", { token: o.access })).body.results.map((x: { id: string }) => x.id)).not.toContain(d.body.id);
    expectError(await api("DELETE", `/api/devices/${d.body.id}`, { token: o.access }), 404, "not_found"); // another organization
    expect((await api("DELETE", `/api/devices/${d.body.id}`, { token: m.access })).status).toBe(204);
    const after = (await api("GET", "/api/devices", { token: m.access })).body.results.find((x: { id: string }) => x.id === d.body.id);
    expect(after.revoked_at).toMatch(ISO_UTC);
  });
});

describe("projects, tasks, comments", () => {
  let m: Session;
  let o: Session;
  beforeAll(async () => {
    m = await login(member);
    o = await login(outsider);
  });

  const synced = (r: Record<string, unknown>) => {
    expect(r.id).toMatch(UUID);
    expect(r.version).toEqual(expect.any(Number));
    expect(r.vector_clock).toEqual(expect.any(Object));
    for (const v of Object.values(r.vector_clock as object)) expect(Number.isInteger(v) && v > 0).toBe(true);
    expect(r.created_at).toMatch(ISO_UTC);
    expect(r.updated_at).toMatch(ISO_UTC);
    expect(r).toHaveProperty("deleted_at");
  };

  test("a project: create, read, update under If-Match, archive, list filters, soft delete; invisible to other organizations", async () => {
    const token = m.access;
    const id = crypto.randomUUID();
    const p = await api("POST", "/api/projects", { token, body: { id, name: "Garden", description: "veg", color: "#00ff00" } });
    expect(p.status).toBe(201);
    expectLike(p.body, { id, name: "Garden", description: "veg", color: "#00ff00", archived: false, version: 1, deleted_at: null });
    synced(p.body);
    expectError(await api("GET", `/api/projects/${id}`, { token: o.access }), 404, "not_found");
    expectError(await api("PATCH", `/api/projects/${id}`, { token: o.access, body: { name: "mine" } }), 404, "not_found");
    expect((await api("GET", "/api/projects?page_size=500", { token: o.access })).body.results.map((x: { id: string }) => x.id)).not.toContain(id);
    const u = await api("PATCH", `/api/projects/${id}`, { token, body: { name: "Allotment" }, headers: { "if-match": p.headers.get("etag")! } });
    expect(u.status).toBe(200);
    expectLike(u.body, { name: "Allotment", version: 2 });
    expect(u.body.updated_at >= p.body.updated_at).toBe(true);
    const a = await api("POST", `/api/projects/${id}/archive`, { token });
    expectLike(a.body, { archived: true, version: 3 });
    expect((await api("GET", "/api/projects?archived=true", { token })).body.results.map((x: { id: string }) => x.id)).toContain(id);
    expect((await api("GET", "/api/projects?archived=false", { token })).body.results.map((x: { id: string }) => x.id)).not.toContain(id);
    const del = await api("DELETE", `/api/projects/${id}`, { token });
    expect(del.status).toBe(204);
    expect(del.text).toBe("");
    expectError(await api("GET", `/api/projects/${id}`, { token }), 404, "not_found");
    expect((await api("GET", "/api/projects?page_size=500", { token })).body.results.map((x: { id: string }) => x.id)).not.toContain(id);
    const withDeleted = await api("GET", "/api/projects?page_size=500&include_deleted=true", { token });
    const tomb = withDeleted.body.results.find((x: { id: string }) => x.id === id);
    expectLike(tomb, { id, version: 4 });
    expect(tomb.deleted_at).toMatch(ISO_UTC);
  });

  test("a task: create with every field, filters and ordering, locking, history of every change, soft delete", async () => {
    const token = m.access;
    const project = (await api("POST", "/api/projects", { token, body: { name: "Work" } })).body;
    const t = await api("POST", "/api/tasks", {
      token,
      body: {
        title: "Write report",
        description: "quarterly numbers",
        status: "in_progress",
        priority: "high",
        due_date: "2026-12-01",
        tags: ["q4", "report"],
        project_id: project.id,
        assignee_id: m.user.id,
      },
    });
    expect(t.status).toBe(201);
    expectLike(t.body, {
      title: "Write report",
      status: "in_progress",
      priority: "high",
      due_date: "2026-12-01",
      tags: ["q4", "report"],
      project_id: project.id,
      assignee_id: m.user.id,
      created_by: m.user.id,
      version: 1,
      deleted_at: null,
    });
    synced(t.body);
    const other = (await api("POST", "/api/tasks", { token, body: { title: "Buy stamps", priority: "low", due_date: "2026-11-30T09:00:00+01:00" } })).body;
    expectLike(other, { status: "todo", priority: "low", tags: [], project_id: null, assignee_id: null, description: "" });
    expect(other.due_date).toBe("2026-11-30T08:00:00.000Z");
    const ids = async (qs: string) => (await api("GET", `/api/tasks?page_size=500&${qs}`, { token })).body.results.map((x: { id: string }) => x.id);
    expect(await ids(`project_id=${project.id}`)).toEqual([t.body.id]);
    expect(await ids("status=in_progress")).toEqual([t.body.id]);
    expect(await ids("tag=q4")).toEqual([t.body.id]);
    expect(await ids("search=QUARTERLY")).toEqual([t.body.id]);
    expect(await ids(`assignee_id=${m.user.id}`)).toEqual([t.body.id]);
    expect(await ids("due_before=2026-12-01&due_after=2026-11-01")).toEqual([other.id]);
    expect((await ids("priority=high,low&ordering=priority")).filter((x: string) => x === t.body.id || x === other.id)).toEqual([other.id, t.body.id]);
    expect((await ids("ordering=-priority")).filter((x: string) => x === t.body.id || x === other.id)).toEqual([t.body.id, other.id]);
    expect(await ids("ordering=due_date&search=stamps")).toEqual([other.id]);
    expect(await ids(`project_id=${project.id}`)).not.toContain(other.id);
    // Other organizations see nothing.
    expectError(await api("GET", `/api/tasks/${t.body.id}`, { token: o.access }), 404, "not_found");
    expectError(await api("GET", `/api/tasks/${t.body.id}/history`, { token: o.access }), 404, "not_found");
    expectError(await api("POST", "/api/tasks", { token: o.access, body: { title: "x", project_id: project.id } }), 422, "validation_failed");
    expect((await api("GET", "/api/tasks?page_size=500", { token: o.access })).body.results.map((x: { id: string }) => x.id)).not.toContain(t.body.id);
    // Update with the ETag from GET; the read-only fields stay.
    const got = await api("GET", `/api/tasks/${t.body.id}`, { token });
    expect(got.headers.get("etag")).toBe('"1"');
    const u = await api("PATCH", `/api/tasks/${t.body.id}`, { token, headers: { "if-match": got.headers.get("etag")! }, body: { status: "done", tags: ["q4"] } });
    expect(u.status).toBe(200);
    expectLike(u.body, { status: "done", tags: ["q4"], version: 2, created_by: m.user.id, created_at: t.body.created_at });
    expect(u.headers.get("etag")).toBe('"2"');
    expect(u.body.vector_clock.server).toBeGreaterThan(t.body.vector_clock.server ?? 0);
    const cleared = await api("PATCH", `/api/tasks/${t.body.id}`, { token, body: { due_date: null, version: 2 } });
    expectLike(cleared.body, { due_date: null, version: 3 });
    const del = await api("DELETE", `/api/tasks/${t.body.id}`, { token });
    expect(del.status).toBe(204);
    expectError(await api("GET", `/api/tasks/${t.body.id}`, { token }), 404, "not_found");
    expect(await ids("")).not.toContain(t.body.id);
    expect(await ids("include_deleted=true")).toContain(t.body.id);
    // The history stays readable: one entry per change, in order.
    const h = await api("GET", `/api/tasks/${t.body.id}/history`, { token });
    expect(h.status).toBe(200);
    expect(h.body.count).toBe(4);
    const entries = h.body.results;
    expect(entries.map((e: { action: string; version: number }) => [e.action, e.version])).toEqual([
      ["created", 1],
      ["updated", 2],
      ["updated", 3],
      ["deleted", 4],
    ]);
    for (const e of entries) {
      expect(Object.keys(e).sort()).toEqual(["action", "changes", "created_at", "device_id", "id", "task_id", "user_id", "vector_clock", "version"]);
      expectLike(e, { task_id: t.body.id, user_id: m.user.id, device_id: null });
      expect(e.created_at).toMatch(ISO_UTC);
    }
    expect(entries[0].changes.title).toEqual({ old: null, new: "Write report" });
    expect(entries[0].changes.priority).toEqual({ old: null, new: "high" });
    expect(entries[1].changes).toEqual({ status: { old: "in_progress", new: "done" }, tags: { old: ["q4", "report"], new: ["q4"] } });
    expect(entries[2].changes).toEqual({ due_date: { old: "2026-12-01", new: null } });
    expect(entries[1].vector_clock).toEqual(u.body.vector_clock);
  });

  test("comments: threads on a task, filter by task, edit under lock, soft delete; hidden with their task", async () => {
    const token = m.access;
    const task = (await api("POST", "/api/tasks", { token, body: { title: "Discuss" } })).body;
    const other = (await api("POST", "/api/tasks", { token, body: { title: "Elsewhere" } })).body;
    const c1 = await api("POST", "/api/comments", { token, body: { task_id: task.id, body: "first" } });
    expect(c1.status).toBe(201);
    expect(c1.headers.get("location")).toBe(`/api/comments/${c1.body.id}`);
    expect(c1.headers.get("etag")).toBe('"1"');
    expectLike(c1.body, { task_id: task.id, parent_id: null, body: "first", author_id: m.user.id, version: 1 });
    synced(c1.body);
    const reply = await api("POST", "/api/comments", { token, body: { task_id: task.id, parent_id: c1.body.id, body: "a reply" } });
    expectLike(reply.body, { parent_id: c1.body.id });
    expectError(await api("POST", "/api/comments", { token, body: { task_id: other.id, parent_id: c1.body.id, body: "wrong thread" } }), 422, "validation_failed");
    expectError(await api("POST", "/api/comments", { token, body: { task_id: task.id, body: "x", author_id: m.user.id } }), 422, "validation_failed");
    await api("POST", "/api/comments", { token, body: { task_id: other.id, body: "not here" } });
    const byTask = await api("GET", `/api/comments?task_id=${task.id}`, { token });
    expect(byTask.body.results.map((c: { body: string }) => c.body)).toEqual(["first", "a reply"]);
    const under = await api("GET", `/api/tasks/${task.id}/comments`, { token });
    expect(under.body.results.map((c: { id: string }) => c.id)).toEqual([c1.body.id, reply.body.id]);
    expectError(await api("GET", `/api/comments/${c1.body.id}`, { token: o.access }), 404, "not_found");
    expect((await api("GET", `/api/comments?task_id=${task.id}`, { token: o.access })).body.count).toBe(0);
    expectError(await api("GET", `/api/tasks/${task.id}/comments`, { token: o.access }), 404, "not_found");
    const edited = await api("PATCH", `/api/comments/${c1.body.id}`, { token, body: { body: "first (edited)" }, headers: { "if-match": '"1"' } });
    expectLike(edited.body, { body: "first (edited)", version: 2 });
    expectError(await api("PATCH", `/api/comments/${c1.body.id}`, { token, body: { body: "late" }, headers: { "if-match": '"1"' } }), 412, "precondition_failed");
    expectError(await api("PATCH", `/api/comments/${c1.body.id}`, { token, body: { task_id: other.id } }), 422, "validation_failed");
    expect((await api("DELETE", `/api/comments/${reply.body.id}`, { token })).status).toBe(204);
    expect((await api("GET", `/api/comments?task_id=${task.id}`, { token })).body.count).toBe(1);
    expect((await api("GET", `/api/comments?task_id=${task.id}&include_deleted=true`, { token })).body.count).toBe(2);
    // Deleting the task hides its comments.
    expect((await api("DELETE", `/api/tasks/${task.id}`, { token })).status).toBe(204);
    expectError(await api("GET", `/api/comments/${c1.body.id}`, { token }), 404, "not_found");
    expect((await api("GET", `/api/comments?task_id=${task.id}`, { token })).body.count).toBe(0);
  });
});

describe("sync (a walk over HTTP and the CLI; the sync suite itself lives in test/sync)", () => {
  let m: Session;
  let d1 = "";
  let d2 = "";
  let t1: Session;
  let t2: Session;
  const change = (device: string, c: Record<string, unknown>) => ({ change_id: crypto.randomUUID(), entity: "task", ...c, vector_clock: c.vector_clock ?? { [device]: 1 } });
  const push = (s: Session, device: string, changes: unknown[]) => api("POST", "/api/sync/push", { token: s.access, body: { device_id: device, changes } });
  beforeAll(async () => {
    m = await login(member);
    const dev = async (name: string) => (await api("POST", "/api/devices", { token: m.access, body: { name } })).body.id as string;
    d1 = await dev("sync one");
    d2 = await dev("sync two");
    t1 = await login(member, d1);
    t2 = await login(member, d2);
  });

  test("push applies once (a retry is duplicate, a reused change_id rejected); another device pulls it, then pulls the delete", async () => {
    const snapshot = await api("GET", `/api/sync/pull?device_id=${d2}`, { token: t2.access });
    expect(snapshot.status).toBe(200);
    expectLike(snapshot.body, { cursor: expect.any(String), has_more: false });
    const id = crypto.randomUUID();
    const create = change(d1, { entity_id: id, op: "create", data: { title: "from a phone" } });
    const first = await push(t1, d1, [create]);
    expect(first.status).toBe(200);
    expectLike(first.body.results[0], { change_id: create.change_id, status: "applied", entity: "task", entity_id: id, version: 1 });
    expect((await push(t1, d1, [create])).body.results[0].status).toBe("duplicate");
    const reused = (await push(t1, d1, [{ ...create, data: { title: "something else" } }])).body.results[0];
    expectLike(reused, { status: "rejected", error: { code: "change_id_reused" } });
    const pulled = await api("GET", `/api/sync/pull?device_id=${d2}&cursor=${encodeURIComponent(snapshot.body.cursor)}`, { token: t2.access });
    expect(pulled.body.changes.map((c: { entity_id: string; op: string }) => [c.entity_id, c.op])).toEqual([[id, "upsert"]]);
    expectLike(pulled.body.changes[0], { entity: "task", version: 1, record: { id, title: "from a phone" } });
    // The pusher's own pull leaves its change out.
    const own = await api("GET", `/api/sync/pull?device_id=${d1}&cursor=${encodeURIComponent(snapshot.body.cursor)}`, { token: t1.access });
    expect(own.body.changes.map((c: { entity_id: string }) => c.entity_id)).not.toContain(id);
    const del = await push(t1, d1, [change(d1, { entity_id: id, op: "delete", base_version: 1, vector_clock: { [d1]: 2 } })]);
    expect(del.body.results[0].status).toBe("applied");
    const gone = await api("GET", `/api/sync/pull?device_id=${d2}&cursor=${encodeURIComponent(pulled.body.cursor)}`, { token: t2.access });
    expect(gone.body.changes.map((c: { entity_id: string; op: string }) => [c.entity_id, c.op])).toEqual([[id, "delete"]]);
    expectError(await api("GET", `/api/sync/pull?device_id=${d2}&cursor=garbage`, { token: t2.access }), 400, "invalid_cursor");
    expectError(await api("GET", `/api/sync/pull?device_id=${d1}`, { token: (await login(outsider)).access }), 403, "forbidden");
    expectError(await api("POST", "/api/sync/push", { token: t1.access, body: { device_id: d1, changes: "nope" } }), 422, "validation_failed");
    const many = Array.from({ length: 1001 }, () => change(d1, { entity_id: crypto.randomUUID(), op: "create", data: { title: "x" } }));
    expectError(await push(t1, d1, many), 413, "payload_too_large");
  });

  /** A conflict: d1 and d2 both edit the title of a task at version 1, overlapping. */
  async function makeConflict(): Promise<{ id: string; conflictId: string }> {
    const id = crypto.randomUUID();
    expect((await push(t1, d1, [change(d1, { entity_id: id, op: "create", data: { title: "hello world" } })])).body.results[0].status).toBe("applied");
    expect((await push(t1, d1, [change(d1, { entity_id: id, op: "update", base_version: 1, data: { title: "hello there" }, vector_clock: { [d1]: 2 } })])).body.results[0].status).toBe(
      "applied",
    );
    const r = (await push(t2, d2, [change(d2, { entity_id: id, op: "update", base_version: 1, data: { title: "hello moon" }, vector_clock: { [d1]: 1, [d2]: 1 } })])).body
      .results[0];
    expectLike(r, { status: "conflict", conflict_id: expect.stringMatching(UUID) });
    return { id, conflictId: r.conflict_id };
  }

  test("a conflict is listed (API and CLI), shown, resolved once over HTTP with a history entry; twice is 409", async () => {
    const { id, conflictId } = await makeConflict();
    const listed = await api("GET", "/api/sync/conflicts", { token: m.access });
    expect(listed.body.results.map((c: { id: string }) => c.id)).toContain(conflictId);
    const one = await api("GET", `/api/sync/conflicts/${conflictId}/`, { token: m.access });
    expect(Object.keys(one.body).sort()).toEqual(
      ["base", "created_at", "device_id", "entity", "entity_id", "fields", "id", "local", "remote", "resolution", "resolved_at", "resolved_by", "user_id"].sort(),
    );
    expectLike(one.body, { entity: "task", entity_id: id, fields: ["title"], device_id: d2, user_id: m.user.id, resolved_at: null });
    expectLike(one.body.local, { title: "hello moon" });
    expectLike(one.body.remote, { title: "hello there" });
    expectLike(one.body.base, { title: "hello world" });
    expectError(await api("GET", `/api/sync/conflicts/${conflictId}`, { token: (await login(outsider)).access }), 404, "not_found");
    const cliList = JSON.parse(await cli(["conflicts", "list", "--org", "default", "--json"])) as { id: string }[];
    expect(cliList.map((c) => c.id)).toContain(conflictId);
    expect(JSON.parse(await cli(["conflicts", "show", conflictId]))).toMatchObject({ id: conflictId, fields: ["title"] });
    const resolved = await api("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: m.access, body: { resolution: "local" } });
    expect(resolved.status).toBe(200);
    expectLike(resolved.body, { id, title: "hello moon" });
    expect(resolved.body.vector_clock.server).toBeGreaterThan(0);
    expect(resolved.body.vector_clock[d1]).toBeGreaterThanOrEqual(2);
    expect(resolved.body.vector_clock[d2]).toBeGreaterThanOrEqual(1);
    expectError(await api("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: m.access, body: { resolution: "remote" } }), 409);
    const history = (await api("GET", `/api/tasks/${id}/history`, { token: m.access })).body.results;
    expectLike(history.at(-1), { action: "conflict_resolved", version: resolved.body.version, changes: { title: { old: "hello there", new: "hello moon" } } });
    expect((await api("GET", "/api/sync/conflicts", { token: m.access })).body.results.map((c: { id: string }) => c.id)).not.toContain(conflictId);
    expect((await api("GET", "/api/sync/conflicts?include_resolved=true", { token: m.access })).body.results.map((c: { id: string }) => c.id)).toContain(conflictId);
    // The CLI resolves too.
    const other = await makeConflict();
    await cli(["conflicts", "resolve", other.conflictId, "--use", "remote"]);
    expect((await api("GET", `/api/tasks/${other.id}`, { token: m.access })).body.title).toBe("hello there");
    expect((JSON.parse(await cli(["conflicts", "list", "--all", "--json"])) as { id: string }[]).map((c) => c.id)).toContain(other.conflictId);
  });

  test("the record answered by a conflict resolution carries its ETag", async () => {
    const { conflictId } = await makeConflict();
    const resolved = await api("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: m.access, body: { resolution: "remote" } });
    expect(resolved.status).toBe(200);
    expect(resolved.headers.get("etag")).toBe(`"${resolved.body.version}"`);
  });

  test("a revoked device cannot sync (403); after `taskmgr jobs run cleanup-tombstones` with retention 0 an old cursor answers 410", async () => {
    const before = await api("GET", `/api/sync/pull?device_id=${d2}`, { token: t2.access });
    const id = crypto.randomUUID();
    await push(t1, d1, [change(d1, { entity_id: id, op: "create", data: { title: "short-lived" } })]);
    await push(t1, d1, [change(d1, { entity_id: id, op: "delete", base_version: 1, vector_clock: { [d1]: 2 } })]);
    const r = await taskmgr(["jobs", "run", "cleanup-tombstones", "--db", db], { cwd: dir, env: { ...env, TOMBSTONE_RETENTION_DAYS: "0" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("cleanup-tombstones: ok");
    expectError(await api("GET", `/api/sync/pull?device_id=${d2}&cursor=${encodeURIComponent(before.body.cursor)}`, { token: t2.access }), 410, "reset_required");
    expect((await api("GET", `/api/sync/pull?device_id=${d2}`, { token: t2.access })).status).toBe(200);
    // Revoked (by its owner, over HTTP): the device may no longer push or pull.
    expect((await api("DELETE", `/api/devices/${d2}`, { token: m.access })).status).toBe(204);
    expectError(await api("GET", `/api/sync/pull?device_id=${d2}`, { token: m.access }), 403, "forbidden");
    expectError(await api("POST", "/api/sync/push", { token: m.access, body: { device_id: d2, changes: [] } }), 403, "forbidden");
  });
});
