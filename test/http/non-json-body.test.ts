/**
 * JSON in: a request body that is not `application/json` — a form, multipart, text, anything else,
 * or no Content-Type — answers 400 `bad_request` in the contract's error body, on every endpoint
 * that takes a body, and writes nothing: on login and refresh at once, on a route that needs a token
 * after the token is checked (without one: 401, its body unread). Empty bodies are not bodies.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

interface Sent {
  status: number;
  body: any;
  contentType: string | null;
}

forEachDialect("request bodies that are not JSON", ({ db }) => {
  let t: TestApp;
  let me: TestUser;
  let task: { id: string; version: number };
  beforeAll(async () => {
    t = await createTestApp(db());
    me = await t.createUser({ role: "admin" });
    task = (await t.request("POST", "/api/tasks", { token: me.token, body: { title: "kept as is" } })).body;
  });

  /** Sends `body` as is (no Content-Type added) through `app.handle`. */
  async function send(method: string, path: string, body: RequestInit["body"] | undefined, headers: Record<string, string> = {}, token: string | null = me.token): Promise<Sent> {
    const h: Record<string, string> = { ...headers };
    if (token !== null) h.authorization = `Bearer ${token}`;
    const res = await t.app.handle(new Request(`http://localhost${path}`, { method, headers: h, body }));
    const text = await res.text();
    const contentType = res.headers.get("content-type");
    return { status: res.status, body: contentType?.includes("json") && text ? JSON.parse(text) : text, contentType };
  }

  function expectRefused(r: Sent, type: string | null): void {
    expect(r.status).toBe(400);
    expect(r.contentType).toContain("application/json");
    expect(r.body).toEqual({
      error: { code: "bad_request", message: "the request body must be JSON, sent with Content-Type: application/json", details: { content_type: type } },
    });
  }

  type Fields = Record<string, string>;
  const formData = (fields: Fields) => {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.set(k, v);
    return f;
  };

  /** Each kind of body, built from the fields a valid request would carry. */
  const bodies: [string, (fields: Fields) => RequestInit["body"], Record<string, string>, string | null][] = [
    ["application/x-www-form-urlencoded", (f) => new URLSearchParams(f).toString(), { "content-type": "application/x-www-form-urlencoded" }, "application/x-www-form-urlencoded"],
    ["multipart/form-data", formData, {}, "multipart/form-data"],
    ["text/plain carrying JSON", (f) => JSON.stringify(f), { "content-type": "text/plain;charset=UTF-8" }, "text/plain"],
    ["no Content-Type", (f) => JSON.stringify(f), {}, null],
    ["application/octet-stream", (f) => JSON.stringify(f), { "content-type": "application/octet-stream" }, "application/octet-stream"],
  ];

  describe.each(bodies)("%s", (kind, body, headers, type) => {
    test("refused on every endpoint that takes a body, even with fields that would be valid; nothing is written", async () => {
      const mark = `${kind} ${crypto.randomUUID().slice(0, 8)}`;
      const session = await t.session(me.user, null);
      const endpoints: [string, string, Fields][] = [
        ["POST", "/api/projects", { name: mark }],
        ["POST", "/api/tasks", { title: mark }],
        ["PATCH", `/api/tasks/${task.id}`, { title: mark }],
        ["POST", "/api/comments", { task_id: task.id, body: mark }],
        ["POST", "/api/devices", { name: mark }],
        ["POST", "/api/sync/push", { device_id: me.deviceId!, changes: "[]" }],
        ["POST", "/api/sync/conflicts/00000000-0000-4000-8000-000000000000/resolve", { resolution: "local" }],
        ["POST", "/api/auth/logout", { refresh: session.refresh }],
      ];
      for (const [method, path, fields] of endpoints) {
        const r = await send(method, path, body(fields), headers);
        if (r.status !== 400) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
        expectRefused(r, type);
      }
      const names = async (path: string, field: string) =>
        (await t.request("GET", `${path}?page_size=500`, { token: me.token })).body.results.map((x: Record<string, unknown>) => x[field]);
      expect(await names("/api/projects", "name")).not.toContain(mark);
      expect(await names("/api/tasks", "title")).not.toContain(mark);
      expect(await names("/api/comments", "body")).not.toContain(mark);
      expect(await names("/api/devices", "name")).not.toContain(mark);
      expect((await t.request("GET", `/api/tasks/${task.id}`, { token: me.token })).body).toMatchObject({ title: "kept as is", version: task.version });
      // The session was not logged out.
      expect((await t.request("POST", "/api/auth/refresh", { body: { refresh: session.refresh } })).status).toBe(200);
    });

    test("refused on login and refresh; a protected route without a token is 401 first", async () => {
      expectRefused(await send("POST", "/api/auth/login", body({ email: me.email, password: me.password }), headers, null), type);
      expectRefused(await send("POST", "/api/auth/refresh", body({ refresh: "x" }), headers, null), type);
      const anonymous = await send("POST", "/api/projects", body({ name: "no token" }), headers, null);
      expect([anonymous.status, anonymous.body.error.code]).toEqual([401, "unauthenticated"]);
    });
  });

  test("application/json is accepted, with parameters too", async () => {
    const r = await send("POST", "/api/projects", JSON.stringify({ name: "json with charset" }), { "content-type": "application/json; charset=UTF-8" });
    expect(r.status).toBe(201);
    expect(r.body.name).toBe("json with charset");
  });

  test("the media type is case-insensitive: Application/JSON is parsed as JSON", async () => {
    for (const contentType of ["APPLICATION/JSON", "Application/Json; charset=utf-8", " application/json"]) {
      const r = await send("POST", "/api/projects", JSON.stringify({ name: `json as ${contentType}` }), { "content-type": contentType });
      if (r.status !== 201) throw new Error(`${contentType}: ${r.status} ${JSON.stringify(r.body)}`);
      expect(r.body.name).toBe(`json as ${contentType}`);
    }
    // The form types stay refused whatever their case.
    expectRefused(await send("POST", "/api/projects", new URLSearchParams({ name: "form" }).toString(), { "content-type": "Application/X-WWW-Form-Urlencoded" }), "application/x-www-form-urlencoded");
  });

  test("a request without a body is not refused for its Content-Type", async () => {
    const project = await t.request("POST", "/api/projects", { token: me.token, body: { name: "to archive" } });
    expect(project.status).toBe(201);
    for (const body of [undefined, ""]) {
      const archived = await send("POST", `/api/projects/${project.body.id}/archive`, body, { "content-type": "text/plain" });
      expect(archived.status).toBe(200);
      expect(archived.body.archived).toBe(true);
    }
    const deleted = await send("DELETE", `/api/projects/${project.body.id}`, "", { "content-type": "application/x-www-form-urlencoded" });
    expect(deleted.status).toBe(204);
    expect((await send("GET", "/api/projects", undefined, { "content-type": "text/plain" })).status).toBe(200);
  });
});
