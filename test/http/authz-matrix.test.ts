/**
 * The authorization and isolation matrix: every route the app serves (read from `app.routes`, so a
 * route added without an entry in {@link ROUTES} fails the first test) × every kind of caller.
 *
 * - Callers without a valid token (none, malformed, expired, signed with another secret, a deactivated
 *   user's, a revoked device's) get 401 `unauthenticated` on every route but the public ones the
 *   contract names (login, refresh, health, schema, docs).
 * - Members get 403 `forbidden` on the admin routes; members and admins get their answer elsewhere.
 * - A caller of organization B naming a record of organization A (path ids, references in bodies and
 *   queries, pushed changes, clock keys, login's `device_id`) gets exactly the answer of an unknown id,
 *   writes nothing, and no answer to B ever carries an id, email or text of A.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { entityDef } from "../../src/records/entities";
import { ENTITY_KINDS } from "../../src/records/model";
import { createTestApp, type RequestOptions, type TestApp, type TestResponse, type TestUser } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";

type Access = "public" | "member" | "admin";
interface Req {
  path: string;
  body?: unknown;
}
/** A request that succeeds for `c`, creating in `c`'s organization what it needs (a record to read, edit or delete). */
type OkRequest = (c: TestUser) => Promise<Req>;
interface RouteSpec {
  access: Access;
  /** The kind of record the path's `:id` names (for the cross-organization checks). */
  kind?: Kind;
  ok: OkRequest;
  /** What `ok` answers (members get 403 instead on the admin routes). */
  status: number;
}
type Kind = "device" | "project" | "task" | "comment" | "conflict";

/** The challenge of every 401 (RFC 6750). */
const CHALLENGE = 'Bearer realm="taskmgr"';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

forEachDialect("authorization and isolation matrix", ({ db }) => {
  let t: TestApp;
  let adminA: TestUser, memberA: TestUser, memberA2: TestUser;
  let adminB: TestUser, memberB: TestUser, memberB2: TestUser;
  /** What organization A holds, by kind. */
  const a = {} as Record<Kind, string> & { project: string; task: string; comment: string; conflict: string; device: string; history: string[] };
  /** Records of A that A soft-deleted. */
  const gone = { project: "", task: "", comment: "" };
  /** Ids, emails and texts of A that no answer to B may carry (unless B's own request carried them). */
  const secrets: string[] = [];
  let orgAId: string;
  const SECRET = `A-SECRET-${crypto.randomUUID().slice(0, 8)}`;

  /** Every answer given to a caller of B, with what the request carried. */
  const seenByB: { what: string; sent: string; text: string }[] = [];
  async function asB(c: TestUser, method: string, path: string, opts: RequestOptions = {}): Promise<TestResponse> {
    const r = await t.request(method, path, { token: c.token, ...opts });
    seenByB.push({ what: `${method} ${path}`, sent: `${path} ${JSON.stringify(opts.body ?? null)} ${JSON.stringify(opts.headers ?? {})}`, text: JSON.stringify(r.body) });
    return r;
  }

  const post = async (c: TestUser, path: string, body: unknown) => {
    const r = await t.request("POST", path, { token: c.token, body });
    if (r.status !== 201 && r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const project = async (c: TestUser, name = "p") => (await post(c, "/api/projects", { name })).id as string;
  const task = async (c: TestUser, title = "t", extra: object = {}) => (await post(c, "/api/tasks", { title, ...extra })).id as string;
  const comment = async (c: TestUser, taskId: string, body = "c") => (await post(c, "/api/comments", { task_id: taskId, body })).id as string;
  const push = (c: TestUser, changes: unknown[]) => t.request("POST", "/api/sync/push", { token: c.token, body: { device_id: c.deviceId, changes } });

  /** A title conflict in the organization of `x` and `y` (two users with devices); its id. */
  async function conflict(x: TestUser, y: TestUser, title = "t"): Promise<string> {
    const id = await task(x, title);
    const update = (c: TestUser, text: string) => ({
      change_id: crypto.randomUUID(), entity: "task", entity_id: id, op: "update", data: { title: text }, base_version: 1, vector_clock: { server: 1, [c.deviceId!]: 1 },
    });
    expect((await push(x, [update(x, `${title} one`)])).body.results[0].status).toBe("applied");
    const r = await push(y, [update(y, `${title} two`)]);
    expect(r.body.results[0].status).toBe("conflict");
    return r.body.results[0].conflict_id;
  }

  /** One entry per route the app serves, `METHOD path` as Elysia lists it. */
  const ROUTES: Record<string, RouteSpec> = {
    "GET /api/schema": { access: "public", ok: async () => ({ path: "/api/schema" }), status: 200 },
    "GET /api/docs": { access: "public", ok: async () => ({ path: "/api/docs" }), status: 200 },
    "GET /api/docs/swagger-ui-bundle.js": { access: "public", ok: async () => ({ path: "/api/docs/swagger-ui-bundle.js" }), status: 200 },
    "GET /api/docs/swagger-ui.css": { access: "public", ok: async () => ({ path: "/api/docs/swagger-ui.css" }), status: 200 },
    "GET /api/docs/init.js": { access: "public", ok: async () => ({ path: "/api/docs/init.js" }), status: 200 },
    "GET /api/health": { access: "public", ok: async () => ({ path: "/api/health" }), status: 200 },
    "POST /api/auth/login": { access: "public", ok: async (c) => ({ path: "/api/auth/login", body: { email: c.email, password: c.password } }), status: 200 },
    "POST /api/auth/refresh": { access: "public", ok: async (c) => ({ path: "/api/auth/refresh", body: { refresh: (await t.session(c.user)).refresh } }), status: 200 },
    "POST /api/auth/logout": { access: "member", ok: async (c) => ({ path: "/api/auth/logout", body: { refresh: (await t.session(c.user)).refresh } }), status: 204 },
    "GET /api/users": { access: "member", ok: async () => ({ path: "/api/users" }), status: 200 },
    "GET /api/users/me": { access: "member", ok: async () => ({ path: "/api/users/me" }), status: 200 },
    "GET /api/devices": { access: "member", ok: async () => ({ path: "/api/devices" }), status: 200 },
    "POST /api/devices": { access: "member", ok: async () => ({ path: "/api/devices", body: { name: "phone" } }), status: 201 },
    "GET /api/devices/:id": { access: "member", kind: "device", ok: async (c) => ({ path: `/api/devices/${c.deviceId}` }), status: 200 },
    "DELETE /api/devices/:id": { access: "member", kind: "device", ok: async (c) => ({ path: `/api/devices/${(await post(c, "/api/devices", { name: "spare" })).id}` }), status: 204 },
    "GET /api/metrics": { access: "admin", ok: async () => ({ path: "/api/metrics" }), status: 200 },
    "GET /api/metrics/hourly": { access: "admin", ok: async () => ({ path: "/api/metrics/hourly" }), status: 200 },
    "GET /api/projects": { access: "member", ok: async () => ({ path: "/api/projects" }), status: 200 },
    "POST /api/projects": { access: "member", ok: async () => ({ path: "/api/projects", body: { name: "new" } }), status: 201 },
    "GET /api/projects/:id": { access: "member", kind: "project", ok: async (c) => ({ path: `/api/projects/${await project(c)}` }), status: 200 },
    "PATCH /api/projects/:id": { access: "member", kind: "project", ok: async (c) => ({ path: `/api/projects/${await project(c)}`, body: { name: "renamed" } }), status: 200 },
    "POST /api/projects/:id/archive": { access: "member", kind: "project", ok: async (c) => ({ path: `/api/projects/${await project(c)}/archive` }), status: 200 },
    "DELETE /api/projects/:id": { access: "member", kind: "project", ok: async (c) => ({ path: `/api/projects/${await project(c)}` }), status: 204 },
    "GET /api/tasks": { access: "member", ok: async () => ({ path: "/api/tasks" }), status: 200 },
    "POST /api/tasks": { access: "member", ok: async () => ({ path: "/api/tasks", body: { title: "new" } }), status: 201 },
    "GET /api/tasks/:id": { access: "member", kind: "task", ok: async (c) => ({ path: `/api/tasks/${await task(c)}` }), status: 200 },
    "PATCH /api/tasks/:id": { access: "member", kind: "task", ok: async (c) => ({ path: `/api/tasks/${await task(c)}`, body: { title: "renamed" } }), status: 200 },
    "DELETE /api/tasks/:id": { access: "member", kind: "task", ok: async (c) => ({ path: `/api/tasks/${await task(c)}` }), status: 204 },
    "GET /api/tasks/:id/comments": { access: "member", kind: "task", ok: async (c) => ({ path: `/api/tasks/${await task(c)}/comments` }), status: 200 },
    "GET /api/tasks/:id/history": { access: "member", kind: "task", ok: async (c) => ({ path: `/api/tasks/${await task(c)}/history` }), status: 200 },
    "GET /api/comments": { access: "member", ok: async () => ({ path: "/api/comments" }), status: 200 },
    "POST /api/comments": { access: "member", ok: async (c) => ({ path: "/api/comments", body: { task_id: await task(c), body: "new" } }), status: 201 },
    "GET /api/comments/:id": { access: "member", kind: "comment", ok: async (c) => ({ path: `/api/comments/${await comment(c, await task(c))}` }), status: 200 },
    "PATCH /api/comments/:id": { access: "member", kind: "comment", ok: async (c) => ({ path: `/api/comments/${await comment(c, await task(c))}`, body: { body: "edited" } }), status: 200 },
    "DELETE /api/comments/:id": { access: "member", kind: "comment", ok: async (c) => ({ path: `/api/comments/${await comment(c, await task(c))}` }), status: 204 },
    "POST /api/sync/push": { access: "member", ok: async (c) => ({ path: "/api/sync/push", body: { device_id: c.deviceId, changes: [] } }), status: 200 },
    "GET /api/sync/pull": { access: "member", ok: async (c) => ({ path: `/api/sync/pull?device_id=${c.deviceId}` }), status: 200 },
    "GET /api/sync/conflicts": { access: "member", ok: async () => ({ path: "/api/sync/conflicts?include_resolved=true" }), status: 200 },
    "GET /api/sync/conflicts/:id": { access: "member", kind: "conflict", ok: async (c) => ({ path: `/api/sync/conflicts/${await conflict(c, c === memberB ? memberB2 : memberB)}` }), status: 200 },
    "POST /api/sync/conflicts/:id/resolve": {
      access: "member",
      kind: "conflict",
      ok: async (c) => ({ path: `/api/sync/conflicts/${await conflict(c, c === memberB ? memberB2 : memberB)}/resolve`, body: { resolution: "remote" } }),
      status: 200,
    },
  };
  const protectedRoutes = () => Object.entries(ROUTES).filter(([, s]) => s.access !== "public");
  const split = (key: string) => key.split(" ") as [string, string];

  beforeAll(async () => {
    t = await createTestApp(db());
    const orgA = await t.createOrg("Org A");
    const orgB = await t.createOrg("Org B");
    adminA = await t.createUser({ org: orgA.slug, role: "admin", email: `admin.${SECRET.toLowerCase()}@a.test`, name: `${SECRET} admin` });
    memberA = await t.createUser({ org: orgA.slug, email: `member.${SECRET.toLowerCase()}@a.test`, name: `${SECRET} member` });
    memberA2 = await t.createUser({ org: orgA.slug, email: `member2.${SECRET.toLowerCase()}@a.test` });
    adminB = await t.createUser({ org: orgB.slug, role: "admin" });
    memberB = await t.createUser({ org: orgB.slug });
    memberB2 = await t.createUser({ org: orgB.slug });

    a.project = await project(memberA, `${SECRET} project`);
    a.task = await task(memberA, `${SECRET} task`, { project_id: a.project, assignee_id: memberA.user.id, description: `${SECRET} description` });
    a.comment = await comment(memberA, a.task, `${SECRET} comment`);
    a.conflict = await conflict(memberA, memberA2, `${SECRET} conflicted`);
    a.device = memberA.deviceId!;
    gone.project = await project(memberA, `${SECRET} gone project`);
    gone.task = await task(memberA, `${SECRET} gone task`, { project_id: gone.project });
    gone.comment = await comment(memberA, gone.task, `${SECRET} gone comment`);
    for (const [route, id] of [["comments", gone.comment], ["tasks", gone.task], ["projects", gone.project]]) {
      expect((await t.request("DELETE", `/api/${route}/${id}`, { token: memberA.token })).status).toBe(204);
    }
    a.history = (await t.request("GET", `/api/tasks/${a.task}/history`, { token: adminA.token })).body.results.map((h: { id: string }) => h.id);
    for (const u of [adminA, memberA, memberA2]) secrets.push(u.user.id, u.email, u.deviceId!);
    secrets.push(orgA.id, a.project, a.task, a.comment, gone.project, gone.task, gone.comment, a.conflict, ...a.history, SECRET, SECRET.toLowerCase());
    orgAId = orgA.id;
    for (const kind of ENTITY_KINDS) secrets.push(...(await recordsOfA(kind)).map((r) => r.id));
  });

  /** A's records of one kind, tombstones included. */
  const recordsOfA = (kind: (typeof ENTITY_KINDS)[number]) =>
    db().all<{ id: string; deleted_at: string | null }>(`SELECT id, deleted_at FROM ${entityDef(kind).table} WHERE org_id = ?`, [orgAId]);

  /** Every organization's records, counted and their versions summed (to show that a refused write left nothing behind). */
  async function countsOfAll(): Promise<string> {
    const parts = ENTITY_KINDS.map((kind) => entityDef(kind).table).flatMap((table) => [`(SELECT COUNT(*) FROM ${table})`, `(SELECT COALESCE(SUM(version), 0) FROM ${table})`]);
    parts.push(...["conflicts", "devices", "history", "feed"].map((table) => `(SELECT COUNT(*) FROM ${table})`));
    parts.push("(SELECT COUNT(*) FROM conflicts WHERE resolved_at IS NULL)", "(SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL)", "(SELECT COALESCE(SUM(seq), 0) FROM org_feed_state)");
    return JSON.stringify(await db().get(`SELECT ${parts.map((p, i) => `${p} AS c${i}`).join(", ")}`, []));
  }

  /** Everything A holds, as A's admin reads it (to show that B's refused writes changed nothing). */
  async function stateOfA(): Promise<unknown> {
    const get = async (path: string) => (await t.request("GET", path, { token: adminA.token })).body;
    return {
      projects: await get("/api/projects?include_deleted=true"),
      tasks: await get("/api/tasks?include_deleted=true"),
      comments: await get(`/api/tasks/${a.task}/comments`),
      history: await get(`/api/tasks/${a.task}/history`),
      conflicts: await get("/api/sync/conflicts?include_resolved=true"),
      devices: await get(`/api/devices/${a.device}`),
      users: await get("/api/users"),
    };
  }

  test("the matrix names every route the app serves, and the OpenAPI document's security agrees with it", async () => {
    const served = [...new Set(t.app.routes.filter((r) => r.method !== "HEAD").map((r) => `${r.method} ${r.path.replace(/\/$/, "")}`))].sort();
    expect(served).toEqual(Object.keys(ROUTES).sort());
    // A route naming a record must say which kind, or the cross-organization checks would skip it.
    expect(Object.entries(ROUTES).filter(([key, spec]) => key.includes(":") !== (spec.kind !== undefined)).map(([key]) => key)).toEqual([]);
    const doc = (await t.request("GET", "/api/schema")).body as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
      components: { responses: Record<string, { headers?: Record<string, unknown> }> };
    };
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const key = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`;
        const spec = ROUTES[key];
        expect(spec, key).toBeDefined();
        // (login and refresh answer 401 for a wrong password or refresh token: not a token's 401.)
        const documented = [op.security?.length === 0 ? "public" : "token", ...["401", "403", "404"].filter((s) => s in op.responses && !(s === "401" && spec?.access === "public"))];
        const expected = spec!.access === "public" ? ["public"] : ["token", "401"];
        // 403: the admin routes, and those that refuse another user's comment or device.
        if (spec!.access === "admin" || documented.includes("403")) expected.push("403");
        if (spec!.kind) expected.push("404");
        expect(`${key} ${documented}`).toBe(`${key} ${expected}`);
        const unauthenticated = op.responses["401"] as { $ref?: string; headers?: Record<string, unknown> } | undefined;
        const challenge = unauthenticated?.$ref ? doc.components.responses[unauthenticated.$ref.split("/").pop()!]?.headers : unauthenticated?.headers;
        if (unauthenticated) expect(`${key} ${Object.keys(challenge ?? {})}`).toBe(`${key} WWW-Authenticate`);
      }
    }
  });

  describe("without a valid token", () => {
    /** Tokens that must not work: each built as it happens in practice. */
    const badTokens: [string, () => Promise<string | undefined>][] = [
      ["no token", async () => undefined],
      ["a malformed token", async () => "not.a.jwt"],
      ["an expired token", async () => {
        const past = new ManualClock(new Date(Date.now() - (t.config.accessTokenTtlSeconds + 60) * 1000));
        const then = await createTestApp(db(), { clock: past });
        return (await then.session(memberB.user, memberB.deviceId)).access;
      }],
      ["a token signed with another secret", async () => {
        const other = await createTestApp(db(), { config: { secret: "another-secret-0123456789abcdef0123456789" } });
        return (await other.session(memberB.user, memberB.deviceId)).access;
      }],
      ["a deactivated user's token", async () => {
        const u = await t.createUser({ org: memberB.org.slug });
        expect((await t.request("GET", "/api/users/me", { token: u.token })).status).toBe(200);
        await t.services.users.deactivate(u.email);
        return u.token;
      }],
      ["a revoked device's token", async () => {
        const u = await t.createUser({ org: memberB.org.slug });
        expect((await t.request("DELETE", `/api/devices/${u.deviceId}`, { token: u.token })).status).toBe(204);
        expect((await t.request("POST", "/api/auth/refresh", { body: { refresh: u.refresh } })).status).toBe(401);
        return u.token;
      }],
    ];
    for (const [what, make] of badTokens) {
      test(`${what}: 401 unauthenticated on every protected route; the public ones answer as without a token`, async () => {
        const token = await make();
        const failures: string[] = [];
        for (const [key] of protectedRoutes()) {
          const [method, route] = split(key);
          const path = route.replace(":id", crypto.randomUUID());
          for (const p of [path, `${path}/`]) {
            const r = await t.request(method, p, { token, body: method === "GET" ? undefined : {} });
            // RFC 9110 §15.5.2: a 401 MUST carry a WWW-Authenticate challenge (RFC 6750: Bearer).
            const got = `${method} ${p} → ${r.status} ${r.body?.error?.code} ${JSON.stringify(r.body?.error?.details)} ${r.headers.get("www-authenticate")}`;
            if (got !== `${method} ${p} → 401 unauthenticated {} ${CHALLENGE}`) failures.push(got);
            if (method === "GET") {
              const head = await t.request("HEAD", p, { token });
              if (head.status !== 401 || head.headers.get("www-authenticate") !== CHALLENGE) failures.push(`HEAD ${p} → ${head.status} ${head.headers.get("www-authenticate")}`);
            }
          }
        }
        for (const [key] of Object.entries(ROUTES).filter(([, s]) => s.access === "public")) {
          const [method, path] = split(key);
          const body = method === "GET" ? undefined : {};
          const [anon, withToken] = [await t.request(method, path, { body }), await t.request(method, path, { token, body })];
          if (anon.status === 401 || withToken.status !== anon.status) failures.push(`${key} → ${withToken.status}, ${anon.status} without a token`);
        }
        expect(failures).toEqual([]);
      });
    }

    test("a deactivated user's refresh token and login are refused (401, with the challenge)", async () => {
      const u = await t.createUser({ org: memberB.org.slug });
      await t.services.users.deactivate(u.email);
      for (const r of [await t.request("POST", "/api/auth/refresh", { body: { refresh: u.refresh } }), await t.request("POST", "/api/auth/login", { body: { email: u.email, password: u.password } })]) {
        expect([r.status, r.headers.get("www-authenticate")]).toEqual([401, CHALLENGE]);
      }
    });
  });

  describe("members and admins", () => {
    for (const role of ["member", "admin"] as const) {
      test(`${role === "admin" ? "an admin" : "a member"}: every route answers its success, admin routes 403 forbidden to members`, async () => {
        const c = role === "admin" ? adminB : memberB;
        const failures: string[] = [];
        for (const [key, spec] of Object.entries(ROUTES)) {
          const [method] = split(key);
          const { path, body } = await spec.ok(c);
          const r = await t.request(method, path, { token: c.token, body });
          const expected = spec.access === "admin" && role === "member" ? 403 : spec.status;
          if (r.status !== expected) failures.push(`${key} → ${r.status} ${JSON.stringify(r.body).slice(0, 200)}, expected ${expected}`);
          if (expected === 403 && r.body.error.code !== "forbidden") failures.push(`${key} → ${r.body.error.code}`);
          if (method === "GET" && spec.access !== "public") {
            const head = await t.request("HEAD", path, { token: c.token });
            if (head.status !== expected) failures.push(`HEAD ${path} → ${head.status}, expected ${expected}`);
          }
        }
        expect(failures).toEqual([]);
      });
    }

    test("a member cannot read or revoke another member's device (404, as unknown); an admin of the organization can", async () => {
      const unknown = crypto.randomUUID();
      for (const method of ["GET", "DELETE"]) {
        const other = await t.request(method, `/api/devices/${memberB2.deviceId}`, { token: memberB.token });
        const none = await t.request(method, `/api/devices/${unknown}`, { token: memberB.token });
        expect([other.status, other.body]).toEqual([none.status, none.body]);
        expect(other.status).toBe(404);
      }
      expect((await t.request("GET", `/api/devices/${memberB2.deviceId}`, { token: adminB.token })).status).toBe(200);
    });

    test("the role is the caller's as of each request: a demoted admin's token gets 403, a promoted member's 200", async () => {
      const demoted = await t.createUser({ org: memberB.org.slug, role: "admin" });
      const promoted = await t.createUser({ org: memberB.org.slug });
      expect((await t.request("GET", "/api/metrics", { token: demoted.token })).status).toBe(200);
      await t.services.users.setRole(demoted.email, "member");
      await t.services.users.setRole(promoted.email, "admin");
      expect((await t.request("GET", "/api/metrics", { token: demoted.token })).status).toBe(403);
      expect((await t.request("GET", `/api/devices/${memberB2.deviceId}`, { token: demoted.token })).status).toBe(404);
      expect((await t.request("GET", "/api/metrics", { token: promoted.token })).status).toBe(200);
    });

    test("a reactivated user's old sessions stay ended (401), a new login works", async () => {
      const u = await t.createUser({ org: memberB.org.slug });
      await t.services.users.deactivate(u.email);
      await t.services.users.activate(u.email);
      expect((await t.request("GET", "/api/users/me", { token: u.token })).status).toBe(401);
      expect((await t.request("POST", "/api/auth/refresh", { body: { refresh: u.refresh } })).status).toBe(401);
      expect((await t.request("POST", "/api/auth/login", { body: { email: u.email, password: u.password } })).status).toBe(200);
    });

    test("push and pull with another member's device, or a revoked one of the caller's, answer as with an unknown device", async () => {
      const spare = (await post(memberB, "/api/devices", { name: "spare" })).id as string;
      expect((await t.request("DELETE", `/api/devices/${spare}`, { token: memberB.token })).status).toBe(204);
      for (const device of [memberB2.deviceId!, spare]) {
        for (const [method, path, body] of [["POST", "/api/sync/push", (id: string) => ({ device_id: id, changes: [] })], ["GET", "/api/sync/pull?device_id=", () => undefined]] as const) {
          const send = (id: string) => t.request(method, method === "GET" ? `${path}${id}` : path, { token: memberB.token, body: body(id) });
          const [theirs, none] = [await send(device), await send(crypto.randomUUID())];
          expect(`${method} ${path} ${theirs.status} ${theirs.body.error?.code}`).toBe(`${method} ${path} 403 forbidden`);
          if (device !== spare) expect(theirs.body).toEqual(none.body);
        }
      }
      const login = await t.request("POST", "/api/auth/login", { body: { email: memberB.email, password: memberB.password, device_id: memberB2.deviceId } });
      expect([login.status, login.body.error?.code]).toEqual([422, "validation_failed"]);
    });

    test("a comment is its author's: others' PATCH, DELETE, pushed edit and resolution are refused (an admin's edit too) and write nothing; an admin may delete it", async () => {
      const c = await comment(memberB, await task(memberB), "mine");
      // A conflict on the comment: two devices of its author edit it concurrently.
      const second = await t.createUser({ org: memberB.org.slug });
      const spare = (await post(memberB, "/api/devices", { name: "second" })).id as string;
      const edit = (device: string, body: string) => ({ change_id: crypto.randomUUID(), entity: "comment", entity_id: c, op: "update", data: { body }, base_version: 1, vector_clock: { server: 1, [device]: 1 } });
      expect((await push(memberB, [edit(memberB.deviceId!, "mine, once")])).body.results[0].status).toBe("applied");
      const r = await t.request("POST", "/api/sync/push", { token: memberB.token, body: { device_id: spare, changes: [edit(spare, "mine, twice")] } });
      expect(r.body.results[0].status).toBe("conflict");
      const conflictId = r.body.results[0].conflict_id;
      const before = await countsOfAll();
      const refused: [string, TestResponse][] = [];
      for (const other of [memberB2, adminB, second]) {
        refused.push([`PATCH by ${other.email}`, await t.request("PATCH", `/api/comments/${c}`, { token: other.token, body: { body: "x" } })]);
        refused.push([`resolve custom by ${other.email}`, await t.request("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: other.token, body: { resolution: "custom", data: { body: "x" } } })]);
        refused.push([`resolve local by ${other.email}`, await t.request("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: other.token, body: { resolution: "local" } })]);
        const pushed = await push(other, [{ change_id: crypto.randomUUID(), entity: "comment", entity_id: c, op: "update", data: { body: "x" }, base_version: 2, vector_clock: { server: 1, [memberB.deviceId!]: 1, [other.deviceId!]: 1 } }]);
        refused.push([`push by ${other.email}`, { ...pushed, status: 403, body: { error: pushed.body.results[0].error } }]);
      }
      refused.push(["DELETE by another member", await t.request("DELETE", `/api/comments/${c}`, { token: memberB2.token })]);
      expect(refused.map(([what, x]) => `${what}: ${x.status} ${x.body.error?.code}`)).toEqual(refused.map(([what]) => `${what}: 403 forbidden`));
      expect(await countsOfAll()).toBe(before);
      expect((await t.request("GET", `/api/comments/${c}`, { token: memberB.token })).body.body).toBe("mine, once");
      expect((await t.request("DELETE", `/api/comments/${c}`, { token: adminB.token })).status).toBe(204);
    });
  });

  describe("organization B naming organization A's records", () => {
    /**
     * Sends `build(A's id)` and `build(an unknown id)` as `c`: the two answers must be the same (the
     * ids masked), and one refused (an error, or a push whose changes are all rejected) writes nothing.
     */
    async function sameAsUnknown(c: TestUser, method: string, build: (id: string) => Req, aId: string): Promise<TestResponse> {
      const unknown = crypto.randomUUID();
      const before = await countsOfAll();
      const fromA = build(aId);
      const theirs = await asB(c, method, fromA.path, { body: fromA.body });
      const fromNone = build(unknown);
      const none = await asB(c, method, fromNone.path, { body: fromNone.body });
      expect(masked(theirs, fromA), `${method} ${fromA.path}`).toBe(masked(none, fromNone));
      const refused = theirs.status >= 400 || theirs.body.results?.every((x: { status: string }) => x.status === "rejected");
      if (refused) expect(await countsOfAll(), `${method} ${fromA.path} wrote`).toBe(before);
      return theirs;
    }

    /** An answer with each id its request carried replaced by its place in the request (`<0>`, `<1>`…). */
    function masked(r: TestResponse, sent: Req): string {
      const ids = [...new Set((JSON.stringify([sent.path, sent.body ?? null]).match(UUID) ?? []).map((id) => id.toLowerCase()))];
      return ids.reduce((text, id, i) => text.replaceAll(id, `<${i}>`), JSON.stringify([r.status, r.body]).replace(UUID, (id) => id.toLowerCase()));
    }

    let stateBefore: unknown;
    beforeAll(async () => {
      stateBefore = await stateOfA();
    });

    test("A holds a live record and a tombstone of every entity kind, each a secret: B's answers are checked against every kind", async () => {
      for (const kind of ENTITY_KINDS) {
        const records = await recordsOfA(kind);
        const held = { kind, live: records.some((r) => r.deleted_at === null), deleted: records.some((r) => r.deleted_at !== null) };
        expect(held).toEqual({ kind, live: true, deleted: true });
        expect(records.map((r) => r.id).filter((id) => !secrets.includes(id))).toEqual([]);
      }
    });

    test("every route with an id: A's id answers 404 exactly as an unknown id, for members and admins (PUT, upper case and a trailing slash too)", async () => {
      const routes = Object.entries(ROUTES).filter(([, s]) => s.kind);
      expect(new Set(routes.map(([, s]) => s.kind))).toEqual(new Set<Kind>(["device", "project", "task", "comment", "conflict"]));
      for (const c of [memberB, adminB]) {
        for (const [key, spec] of routes) {
          const [method] = split(key);
          const { path, body } = await spec.ok(c);
          const own = path.match(UUID)![0]!;
          const r = await sameAsUnknown(c, method, (id) => ({ path: path.replace(own, id), body }), a[spec.kind!]);
          expect(`${key} → ${r.status} ${r.body?.error?.code}`).toBe(`${key} → 404 not_found`);
          if (c === adminB) continue;
          const put = await sameAsUnknown(c, "PUT", (id) => ({ path: path.replace(own, id), body }), a[spec.kind!]);
          expect(put.status).toBe(405);
          // Ids in upper case name the same record (README, "Ids in any letter case"), and a trailing slash the same route.
          const upper = await sameAsUnknown(c, method, (id) => ({ path: `${path.replace(own, id.toUpperCase())}/`, body }), a[spec.kind!]);
          expect(`${key} → ${upper.status}`).toBe(`${key} → 404`);
        }
      }
    });

    /** A's records as each test names them: live, or soft-deleted (a tombstone must not answer otherwise either). */
    const targets: [string, () => { project: string; task: string; comment: string }][] = [
      ["live", () => a],
      ["soft-deleted", () => gone],
    ];
    for (const [state, target] of targets) {
      test(`references in REST bodies and queries: A's ${state} project, task, comment, its user and device answer as unknown ones`, async () => {
        const x = target();
        const own = await task(memberB, "own");
        for (const c of [memberB, adminB]) {
          const ownComment = await comment(c, own);
          await sameAsUnknown(c, "POST", (id) => ({ path: "/api/tasks", body: { title: "x", project_id: id } }), x.project);
          await sameAsUnknown(c, "POST", (id) => ({ path: "/api/tasks", body: { title: "x", assignee_id: id } }), memberA.user.id);
          await sameAsUnknown(c, "PATCH", (id) => ({ path: `/api/tasks/${own}`, body: { project_id: id } }), x.project);
          await sameAsUnknown(c, "PATCH", (id) => ({ path: `/api/tasks/${own}`, body: { assignee_id: id } }), memberA.user.id);
          await sameAsUnknown(c, "POST", (id) => ({ path: "/api/comments", body: { task_id: id, body: "x" } }), x.task);
          await sameAsUnknown(c, "POST", (id) => ({ path: "/api/comments", body: { task_id: own, parent_id: id, body: "x" } }), x.comment);
          await sameAsUnknown(c, "PATCH", (id) => ({ path: `/api/comments/${ownComment}`, body: { task_id: id } }), x.task);
          await sameAsUnknown(c, "PATCH", (id) => ({ path: `/api/comments/${ownComment}`, body: { parent_id: id } }), x.comment);
          await sameAsUnknown(c, "GET", (id) => ({ path: `/api/tasks?project_id=${id}&include_deleted=true` }), x.project);
          await sameAsUnknown(c, "GET", (id) => ({ path: `/api/tasks?assignee_id=${id}&include_deleted=true` }), memberA.user.id);
          await sameAsUnknown(c, "GET", (id) => ({ path: `/api/comments?task_id=${id}` }), x.task);
          await sameAsUnknown(c, "GET", (id) => ({ path: `/api/sync/pull?device_id=${id}` }), a.device);
          await sameAsUnknown(c, "POST", (id) => ({ path: "/api/sync/push", body: { device_id: id, changes: [] } }), a.device);
          await sameAsUnknown(c, "POST", (id) => ({ path: "/api/auth/login", body: { email: c.email, password: c.password, device_id: id } }), a.device);
          for (const [kind, route] of [["project", "projects"], ["task", "tasks"], ["comment", "comments"]] as const) {
            await sameAsUnknown(c, "GET", (id) => ({ path: `/api/${route}/${id}` }), x[kind]);
            await sameAsUnknown(c, "DELETE", (id) => ({ path: `/api/${route}/${id}` }), x[kind]);
          }
          // Ids in upper case are the same ids (README, "Ids in any letter case").
          await sameAsUnknown(c, "POST", (id) => ({ path: "/api/tasks", body: { title: "x", project_id: id.toUpperCase() } }), x.project);
          await sameAsUnknown(c, "POST", (id) => ({ path: "/api/sync/push", body: { device_id: id.toUpperCase(), changes: [] } }), a.device);
          await sameAsUnknown(c, "GET", (id) => ({ path: `/api/sync/pull?device_id=${id.toUpperCase()}` }), a.device);
          await sameAsUnknown(c, "GET", (id) => ({ path: `/api/tasks/${id}/history` }), x.task);
          await sameAsUnknown(c, "GET", (id) => ({ path: `/api/tasks/${id}/comments` }), x.task);
        }
      });

      test(`pushed changes naming A's ${state} records are answered as changes naming unknown ones, and write nothing`, async () => {
        const x = target();
        const own = await task(memberB, "own");
        const ownComment = await comment(memberB, own);
        const results = async (change: (id: string) => object, aId: string) => {
          const r = await sameAsUnknown(memberB, "POST", (id) => ({ path: "/api/sync/push", body: { device_id: memberB.deviceId, changes: [{ change_id: crypto.randomUUID(), ...change(id) }] } }), aId);
          expect(r.status).toBe(200);
          return r.body.results[0];
        };
        const clock = { [memberB.deviceId!]: 1 };
        let n = 1;
        /** A clock after the server's own write (applied), or concurrent with it (merged or a conflict). */
        const clocks = [() => ({ server: 1, [memberB.deviceId!]: ++n }), () => ({ [memberB.deviceId!]: ++n })];
        for (const vector_clock of clocks) {
          for (const entity of ["task", "project", "comment"] as const) {
            for (const op of ["update", "delete"] as const) {
              const data = op === "delete" ? undefined : entity === "task" ? { title: "B was here" } : entity === "project" ? { name: "B was here" } : { body: "B was here" };
              await results((id) => ({ entity, entity_id: id, op, data, base_version: 1, vector_clock: vector_clock() }), x[entity]);
            }
          }
          await results((id) => ({ entity: "task", entity_id: own, op: "update", data: { project_id: id }, base_version: 1, vector_clock: vector_clock() }), x.project);
          await results((id) => ({ entity: "task", entity_id: own, op: "update", data: { assignee_id: id }, base_version: 1, vector_clock: vector_clock() }), memberA.user.id);
          await results((id) => ({ entity: "comment", entity_id: ownComment, op: "update", data: { task_id: id }, base_version: 1, vector_clock: vector_clock() }), x.task);
          await results((id) => ({ entity: "comment", entity_id: ownComment, op: "update", data: { parent_id: id }, base_version: 1, vector_clock: vector_clock() }), x.comment);
        }
        await results((id) => ({ entity: "task", entity_id: crypto.randomUUID(), op: "create", data: { title: "x", project_id: id }, vector_clock: clock }), x.project);
        await results((id) => ({ entity: "task", entity_id: crypto.randomUUID(), op: "create", data: { title: "x", assignee_id: id }, vector_clock: clock }), memberA.user.id);
        await results((id) => ({ entity: "comment", entity_id: crypto.randomUUID(), op: "create", data: { task_id: id, body: "x" }, vector_clock: clock }), x.task);
        await results((id) => ({ entity: "comment", entity_id: crypto.randomUUID(), op: "create", data: { task_id: own, parent_id: id, body: "x" }, vector_clock: clock }), x.comment);
        await results((id) => ({ entity: "task", entity_id: crypto.randomUUID(), op: "create", data: { title: "x" }, vector_clock: { ...clock, [id]: 1 } }), a.device);
        await results((id) => ({ entity: "task", entity_id: own, op: "update", data: { title: "y" }, base_version: 1, vector_clock: { server: 1, [memberB.deviceId!]: ++n, [id]: 1 } }), a.device);
      });
    }

    test("a change_id A's device used is a new change for B's device (never A's duplicate)", async () => {
      const changeId = crypto.randomUUID();
      const create = (entityId: string, title: string, device: string) => ({ change_id: changeId, entity: "task", entity_id: entityId, op: "create", data: { title }, vector_clock: { [device]: 1 } });
      const theirs = crypto.randomUUID();
      expect((await push(memberA, [create(theirs, `${SECRET} pushed`, memberA.deviceId!)])).body.results[0].status).toBe("applied");
      secrets.push(theirs);
      stateBefore = await stateOfA();
      for (const c of [memberB, memberB2]) {
        const mine = crypto.randomUUID();
        const r = await asB(c, "POST", "/api/sync/push", { body: { device_id: c.deviceId, changes: [create(mine, "mine", c.deviceId!)] } });
        expect(r.body.results[0]).toMatchObject({ status: "applied", entity_id: mine, record: { title: "mine" } });
      }
    });

    test("locks and conditions on A's records answer as on unknown ones (no 304, 412 or 409 that would confirm them)", async () => {
      for (const [kind, route, edit] of [["task", "tasks", { title: "x" }], ["project", "projects", { name: "x" }], ["comment", "comments", { body: "x" }]] as const) {
        for (const etag of ['"1"', '"2"', "*"]) {
          await sameAsUnknown(memberB, "GET", (id) => ({ path: `/api/${route}/${id}` }), a[kind]);
          const conditional = async (method: string, headers: Record<string, string>, body?: unknown) => {
            const [theirs, none] = [await asB(memberB, method, `/api/${route}/${a[kind]}`, { headers, body }), await asB(memberB, method, `/api/${route}/${crypto.randomUUID()}`, { headers, body })];
            expect(`${method} ${JSON.stringify(headers)} ${theirs.status} ${theirs.body?.error?.code}`).toBe(`${method} ${JSON.stringify(headers)} ${none.status} ${none.body?.error?.code}`);
            expect(theirs.status).toBe(404);
          };
          await conditional("GET", { "if-none-match": etag });
          await conditional("HEAD", { "if-none-match": etag });
          await conditional("HEAD", {});
          await conditional("PATCH", { "if-match": etag }, edit);
          await conditional("DELETE", { "if-match": etag });
        }
        await sameAsUnknown(memberB, "PATCH", (id) => ({ path: `/api/${route}/${id}`, body: { ...edit, version: 1 } }), a[kind]);
        await sameAsUnknown(memberB, "DELETE", (id) => ({ path: `/api/${route}/${id}`, body: { version: 7 } }), a[kind]);
      }
      await sameAsUnknown(memberB, "POST", (id) => ({ path: `/api/projects/${id}/archive`, body: { version: 7 } }), a.project);
    });

    test("a conflict resolution of B's own conflict naming A's records answers as naming unknown ones", async () => {
      for (const [field, aId] of [["project_id", a.project], ["assignee_id", memberA.user.id]] as const) {
        const mine = await conflict(memberB, memberB2);
        await sameAsUnknown(memberB, "POST", (id) => ({ path: `/api/sync/conflicts/${mine}/resolve`, body: { resolution: "custom", data: { title: "x", [field]: id } } }), aId);
      }
    });

    test("a logout naming A's refresh token (or another member's of B) ends nothing of theirs", async () => {
      for (const user of [memberA.user, memberB2.user]) {
        const session = await t.session(user);
        expect((await asB(memberB, "POST", "/api/auth/logout", { body: { refresh: session.refresh } })).status).toBe(204);
        expect((await t.request("GET", "/api/users/me", { token: session.access })).status).toBe(200);
        expect((await t.request("POST", "/api/auth/refresh", { body: { refresh: session.refresh } })).status).toBe(200);
      }
    });

    test("a create naming a taken id of A answers as one naming a taken id of B's own (409 already_exists, REST and push), and shows nothing of A's", async () => {
      const mine = { project: await project(memberB), task: await task(memberB), comment: await comment(memberB, await task(memberB)), device: memberB2.deviceId! };
      const parent = await task(memberB);
      /** The answers to `build(A's id)` and `build(B's own id)`: the same but for B's own record, which a push answer shows B. */
      const taken = async (build: (id: string) => Req, kind: keyof typeof mine) => {
        const [theirs, ours] = [build(a[kind]), build(mine[kind])];
        const [x, y] = [await asB(memberB, "POST", theirs.path, { body: theirs.body }), await asB(memberB, "POST", ours.path, { body: ours.body })];
        const withoutOwnRecord = (r: TestResponse) => ({ ...r, body: r.body.results ? { results: [{ ...r.body.results[0], version: null, vector_clock: null, record: null }] } : r.body });
        expect(masked(x, theirs), `${kind} ${theirs.path}`).toBe(masked(withoutOwnRecord(y), ours));
        return x;
      };
      for (const kind of ["project", "task", "comment", "device"] as const) {
        const body = { project: { name: "x" }, task: { title: "x" }, comment: { task_id: parent, body: "x" }, device: { name: "x" } }[kind];
        const r = await taken((id) => ({ path: `/api/${kind}s`, body: { id, ...body } }), kind);
        expect([kind, r.status, r.body.error.code]).toEqual([kind, 409, "already_exists"]);
        if (kind === "device") continue;
        const pushed = await taken((id) => ({ path: "/api/sync/push", body: { device_id: memberB.deviceId, changes: [{ change_id: crypto.randomUUID(), entity: kind, entity_id: id, op: "create", data: body, vector_clock: { [memberB.deviceId!]: 90 } }] } }), kind);
        expect([kind, pushed.body.results[0].status]).toEqual([kind, "rejected"]);
      }
    });

    test("B's lists, metrics, snapshot pull and feed never carry A's rows; A's syncs change none of B's metrics", async () => {
      expect((await t.services.jobs.run("sync-metrics")).ok).toBe(true);
      // Every GET route without an id (ROUTES: a new list is among them), deleted records included where a list takes the parameter (others ignore it).
      const lists = Object.entries(ROUTES).filter(([key, spec]) => key.startsWith("GET ") && !key.includes(":") && spec.access !== "public");
      for (const c of [memberB, adminB]) {
        for (const [key, spec] of lists) {
          const { path } = await spec.ok(c);
          const r = await asB(c, "GET", `${path}${path.includes("?") ? "&" : "?"}include_deleted=true`);
          expect([key, r.status]).toEqual([key, c === memberB && spec.access === "admin" ? 403 : spec.status]);
        }
      }
      expect(await stateOfA()).toEqual(stateBefore);
      const search = await asB(memberB, "GET", `/api/tasks?search=${SECRET}&include_deleted=true`);
      expect(search.body.count).toBe(0);
      const prometheus = await t.request("GET", "/api/metrics", { token: adminB.token, headers: { accept: "text/plain" } });
      seenByB.push({ what: "GET /api/metrics (text)", sent: "", text: prometheus.body });
      const pullA = await t.request("GET", `/api/sync/pull?device_id=${memberA.deviceId}`, { token: memberA.token });
      const foreignCursor = await asB(memberB, "GET", `/api/sync/pull?device_id=${memberB.deviceId}&cursor=${encodeURIComponent(pullA.body.cursor)}`);
      expect([foreignCursor.status, foreignCursor.body.error.code]).toEqual([400, "invalid_cursor"]);
      // A writes and syncs after B's snapshot: B's incremental pull still carries none of it, and B's metrics do not move.
      const figures = async () => {
        const { from: _from, to: _to, generated_at: _at, ...rest } = (await asB(adminB, "GET", "/api/metrics")).body;
        return rest;
      };
      const first = await asB(memberB, "GET", `/api/sync/pull?device_id=${memberB.deviceId}`);
      await t.services.sync.flushLog(); // pull rows are buffered: B's own pull is counted before, not after
      const metricsBefore = await figures();
      await conflict(memberA, memberA2, `${SECRET} later`);
      await t.request("GET", `/api/sync/pull?device_id=${memberA.deviceId}`, { token: memberA.token });
      // …and A naming B's device in a sync (refused) does not count as that device syncing.
      expect((await t.request("GET", `/api/sync/pull?device_id=${memberB.deviceId}`, { token: memberA.token })).status).toBe(403);
      expect((await t.request("POST", "/api/sync/push", { token: memberA.token, body: { device_id: memberB.deviceId, changes: [] } })).status).toBe(403);
      await t.request("PATCH", `/api/tasks/${a.task}`, { token: memberA.token, body: { title: `${SECRET} task again` } });
      await t.request("DELETE", `/api/comments/${a.comment}`, { token: memberA.token });
      await t.services.sync.flushLog();
      expect(await figures()).toEqual(metricsBefore);
      const next = await asB(memberB, "GET", `/api/sync/pull?device_id=${memberB.deviceId}&cursor=${encodeURIComponent(first.body.cursor)}`);
      expect(next.body.changes).toEqual([]);
      stateBefore = await stateOfA();
    });

    test("A's records are as they were, and no answer to B carried an id, email or text of A it was not sent", async () => {
      expect(await stateOfA()).toEqual(stateBefore);
      const leaks: string[] = [];
      for (const seen of seenByB) {
        for (const s of secrets) if (seen.text.toLowerCase().includes(s.toLowerCase()) && !seen.sent.toLowerCase().includes(s.toLowerCase())) leaks.push(`${seen.what}: ${s} in ${seen.text.slice(0, 300)}`);
      }
      expect(seenByB.length).toBeGreaterThan(100);
      expect(leaks).toEqual([]);
    });
  });
});
