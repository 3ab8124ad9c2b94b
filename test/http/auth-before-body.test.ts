/**
 * A route that needs a token checks it before its body is read: without a valid token a request
 * answers 401 (the contract's body) whatever its body is — malformed JSON, not UTF-8, nested too
 * deeply, another media type, megabytes — and its body is never read, so that an anonymous client
 * cannot make the server read and parse megabytes. A declared size over 5 MB is still 413 (read from
 * the header, nothing else);
 * login and refresh, which need no token, still answer 400 for a malformed body, and take bodies of
 * 1 MB at most (413 above: unread when declared, read no further when chunked). The token is
 * verified once per request.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { ConnectionLostError } from "../../src/db/errors";

const unauthenticated = (message: string) => ({ error: { code: "unauthenticated", message, details: {} } });

/** A body that counts the bytes pulled from it: `pulled()` is 0 when nothing read it. */
function countingBody(text: string, chunkSize = 64 * 1024): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      const chunk = bytes.subarray(offset, offset + chunkSize);
      offset += chunk.length;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 }); // nothing pulled ahead of a reader
  return { body, pulled: () => offset };
}

forEachDialect("the token before the body", ({ db }) => {
  let t: TestApp;
  let admin: TestUser;
  let task: { id: string; version: number };
  beforeAll(async () => {
    t = await createTestApp(db());
    admin = await t.createUser({ role: "admin" });
    task = (await t.request("POST", "/api/tasks", { token: admin.token, body: { title: "untouched" } })).body;
  });

  async function send(method: string, path: string, body: RequestInit["body"], headers: Record<string, string>) {
    const res = await t.app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  const malformed: [string, string][] = [
    ["not JSON", '{"title": "cut'],
    ["nested too deeply", `{"title": ${"[".repeat(40)}${"]".repeat(40)}}`],
    ["not an object", "[1, 2]"],
  ];
  const routes: [string, () => string][] = [
    ["POST", () => "/api/tasks"],
    ["PATCH", () => `/api/tasks/${task.id}`],
    ["DELETE", () => `/api/tasks/${task.id}`],
    ["POST", () => "/api/sync/push"],
    ["POST", () => "/api/projects"],
    ["POST", () => "/api/auth/logout"],
    ["POST", () => "/api/tasks/"],
    ["POST", () => `/api/projects/${task.id.toUpperCase()}/archive/`],
    ["POST", () => "/api/devices"],
    ["POST", () => `/api/sync/conflicts/${task.id}/resolve`],
    ["POST", () => "/api/comments"],
  ];

  test("without a token, or with an invalid one, a malformed body is 401 on every protected route", async () => {
    for (const [method, path] of routes) {
      for (const [what, text] of malformed) {
        for (const [auth, message] of [
          [null, "missing bearer token"],
          ["Bearer not.a.token", "invalid access token"],
        ] as const) {
          const headers: Record<string, string> = { "content-type": "application/json" };
          if (auth !== null) headers.authorization = auth;
          const r = await send(method, path(), text, headers);
          if (r.status !== 401) throw new Error(`${method} ${path()} ${what} ${auth}: ${r.status} ${JSON.stringify(r.body)}`);
          expect(r.body).toEqual(unauthenticated(message));
        }
      }
    }
    // Bytes that are not UTF-8, and a body of another media type: 401 too.
    expect(await send("POST", "/api/tasks", Uint8Array.from([0x7b, 0xff, 0x7d]), { "content-type": "application/json" })).toEqual({
      status: 401,
      body: unauthenticated("missing bearer token"),
    });
    expect(await send("POST", "/api/tasks", "title=form", { "content-type": "application/x-www-form-urlencoded" })).toEqual({
      status: 401,
      body: unauthenticated("missing bearer token"),
    });
    expect((await t.request("GET", `/api/tasks/${task.id}`, { token: admin.token })).body).toMatchObject({ title: "untouched", version: task.version });
  });

  test("every route that takes a body and needs a token (from the registered routes) is 401 for a malformed body without one", async () => {
    const open = new Set(["/api/auth/login", "/api/auth/refresh"]);
    const withBody = t.app.routes.filter((r) => !["GET", "HEAD"].includes(r.method) && !open.has(r.path.replace(/\/$/, "")));
    expect(withBody.length).toBeGreaterThan(10);
    for (const r of withBody) {
      const path = r.path.replace(/:[a-z_]+/g, task.id);
      const res = await send(r.method, path, '{"cut', { "content-type": "application/json" });
      expect([r.method, r.path, res.status, res.body.error.code]).toEqual([r.method, r.path, 401, "unauthenticated"]);
    }
  });

  test("an anonymous body of megabytes is not read: 401 with nothing pulled from it", async () => {
    const big = JSON.stringify({ device_id: crypto.randomUUID(), changes: [{ data: { title: "x".repeat(4 * 1024 * 1024) } }] });
    for (const authorization of [undefined, "Bearer not.a.token"]) {
      const { body, pulled } = countingBody(big);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (authorization) headers.authorization = authorization;
      const res = await t.app.handle(new Request("http://localhost/api/sync/push", { method: "POST", headers, body }));
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).error.code).toBe("unauthenticated");
      expect(pulled()).toBe(0);
    }
  });

  test("with a valid token the body is still read and refused as before (400, 422), the token verified once", async () => {
    const calls: string[] = [];
    const auth = t.services.auth;
    const original = auth.authenticate.bind(auth);
    auth.authenticate = async (authorization, opts) => {
      calls.push(String(authorization));
      return original(authorization, opts);
    };
    try {
      const headers = { "content-type": "application/json", authorization: `Bearer ${admin.token}` };
      expect((await send("POST", "/api/tasks", '{"title": "cut', headers)).status).toBe(400);
      expect((await send("POST", "/api/tasks", "[1]", headers)).status).toBe(422);
      const created = await send("POST", "/api/tasks", '{"title": "read after the token"}', headers);
      expect([created.status, created.body.title]).toEqual([201, "read after the token"]);
      expect(calls.length).toBe(3);
    } finally {
      auth.authenticate = original;
    }
  });

  test("a failure of the token's check before the body is answered as itself: 503 for a lost database, 500 for a bug, as on a GET", async () => {
    const auth = t.services.auth;
    const original = auth.authenticate;
    const headers = { "content-type": "application/json", authorization: `Bearer ${admin.token}` };
    try {
      auth.authenticate = async () => {
        throw new ConnectionLostError();
      };
      for (const method of ["POST", "GET"]) {
        const r = await send(method, "/api/tasks", method === "GET" ? null : '{"title": "lost"}', headers);
        expect([method, r.status, r.body.error.code]).toEqual([method, 503, "unavailable"]);
      }
      auth.authenticate = async () => {
        throw new TypeError("a bug");
      };
      for (const method of ["POST", "GET"]) {
        const r = await send(method, "/api/tasks", method === "GET" ? null : '{"title": "bug"}', headers);
        expect([method, r.status, r.body]).toEqual([method, 500, { error: { code: "internal", message: "internal server error", details: {} } }]);
      }
    } finally {
      auth.authenticate = original;
    }
  });

  test("login and refresh need no token: a malformed body is still 400 there", async () => {
    for (const path of ["/api/auth/login", "/api/auth/refresh"]) {
      expect(await send("POST", path, '{"email": ', { "content-type": "application/json" })).toEqual({
        status: 400,
        body: { error: { code: "bad_request", message: "the request body is not valid JSON", details: {} } },
      });
    }
  });

  test("a declared size over 5 MB is still 413, with or without a token", async () => {
    for (const token of [null, admin.token]) {
      const headers: Record<string, string> = { "content-type": "application/json", "content-length": String(5 * 1024 * 1024 + 1) };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const res = await t.app.handle(new Request("http://localhost/api/sync/push", { method: "POST", headers, body: "{}" }));
      expect(res.status).toBe(413);
      expect(((await res.json()) as any).error.code).toBe("payload_too_large");
    }
  });

  test("login and refresh declared over 5 MB: the 413 names their own limit, 1 MB, not the 5 MB of other routes", async () => {
    for (const path of ["/api/auth/login", "/api/auth/refresh", "/api/auth/login/"]) {
      const body = countingBody("{}");
      const headers = { "content-type": "application/json", "content-length": "5000001" };
      const r = await send("POST", path, body.body, headers);
      expect([path, r]).toEqual([path, { status: 413, body: { error: { code: "payload_too_large", message: "the request body is larger than 1 MB", details: {} } } }]);
      expect(body.pulled()).toBe(0);
    }
    // A route behind the token keeps its 5 MB, with or without one.
    const r = await send("POST", "/api/tasks", countingBody("{}").body, { "content-type": "application/json", "content-length": "5000001" });
    expect(r).toEqual({ status: 413, body: { error: { code: "payload_too_large", message: "the request body is larger than 5 MB", details: {} } } });
  });

  test("login and refresh take 1 MB at most: 413 above, a declared size unread, a chunked one read no further", async () => {
    const tooLarge = { error: { code: "payload_too_large", message: "the request body is larger than 1 MB", details: {} } };
    const big = JSON.stringify({ email: admin.email, password: "x".repeat(1024 * 1024) });
    for (const path of ["/api/auth/login", "/api/auth/refresh"]) {
      const declared = countingBody(big);
      const headers = { "content-type": "application/json", "content-length": String(big.length) };
      expect([path, await send("POST", path, declared.body, headers)]).toEqual([path, { status: 413, body: tooLarge }]);
      expect(declared.pulled()).toBe(0);
      const chunked = countingBody(big + " ".repeat(1024 * 1024), 16 * 1024);
      expect([path, await send("POST", path, chunked.body, { "content-type": "application/json" })]).toEqual([path, { status: 413, body: tooLarge }]);
      expect(chunked.pulled()).toBeLessThanOrEqual(1_000_000 + 16 * 1024);
    }
    // Just under the limit, login reads and validates the body as before (a password that long: 422).
    const fits = JSON.stringify({ email: admin.email, password: "x".repeat(990_000) });
    const r = await send("POST", "/api/auth/login", fits, { "content-type": "application/json" });
    expect([r.status, Object.keys(r.body.error.details.fields)]).toEqual([422, ["password"]]);
  });
});
