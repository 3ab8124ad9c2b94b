/**
 * A known path asked with a method it does not take answers 405 `method_not_allowed` with `Allow`
 * (derived from the registered routes, src/http/methods.ts); an unknown path stays 404 `not_found`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { allowedMethods } from "../../src/http/methods";
import { createLogger } from "../../src/log/logger";
import { createTestApp, type TestApp } from "../support/app";
import { createTestDatabase } from "../support/db";

describe("allowedMethods", () => {
  const routes = [
    { method: "GET", path: "/api/tasks" },
    { method: "POST", path: "/api/tasks" },
    { method: "GET", path: "/api/tasks/:id" },
    { method: "DELETE", path: "/api/tasks/:id" },
    { method: "PATCH", path: "/api/tasks/:id" },
    { method: "GET", path: "/api/tasks/:id/history" },
    { method: "POST", path: "/api/sync/push" },
    { method: "GET", path: "/files/*" },
  ];
  test.each([
    ["/api/tasks", ["GET", "HEAD", "POST"]],
    ["/api/tasks/", ["GET", "HEAD", "POST"]],
    ["/api/tasks/abc", ["GET", "HEAD", "PATCH", "DELETE"]],
    ["/api/tasks/abc/", ["GET", "HEAD", "PATCH", "DELETE"]],
    ["/api/tasks/abc/history", ["GET", "HEAD"]],
    ["/api/sync/push", ["POST"]],
    ["/files/a/b", ["GET", "HEAD"]],
    ["/api/tasks/abc/comments", []],
    ["/api/tasks/abc/history/more", []],
    ["/api/tasks//history", []],
    ["/api/Tasks", []],
    ["/api", []],
    ["/", []],
  ])("%s → %j", (path, allowed) => expect(allowedMethods(routes, path)).toEqual(allowed));
});

describe("405 over HTTP", () => {
  let t: TestApp;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const d = await createTestDatabase("sqlite");
    drop = d.drop;
    t = await createTestApp(d.db);
  });
  afterAll(() => drop());

  const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

  test("PUT /api/tasks/{id}, DELETE /api/sync/push: 405 method_not_allowed with Allow, before the token is checked", async () => {
    const id = crypto.randomUUID();
    const put = await t.request("PUT", `/api/tasks/${id}`, { body: { title: "x" } });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, HEAD, PATCH, DELETE");
    expect(put.body).toEqual({
      error: { code: "method_not_allowed", message: "PUT is not allowed here; this path takes GET, HEAD, PATCH, DELETE", details: { allow: ["GET", "HEAD", "PATCH", "DELETE"] } },
    });
    const del = await t.request("DELETE", "/api/sync/push/");
    expect([del.status, del.headers.get("allow"), del.body.error.code]).toEqual([405, "POST", "method_not_allowed"]);
    const user = await t.createUser();
    const authed = await t.request("PUT", `/api/tasks/${id}/`, { token: user.token, body: { title: "x" } });
    expect([authed.status, authed.headers.get("allow")]).toEqual([405, "GET, HEAD, PATCH, DELETE"]);
  });

  test("every registered path: each other method is 405 listing exactly the methods that route (with and without a trailing slash)", async () => {
    const paths = [...new Set(t.app.routes.map((r) => r.path.replace(/:[^/]+/g, crypto.randomUUID())))];
    expect(paths.length).toBeGreaterThan(30);
    for (const path of paths) {
      const allow = allowedMethods(t.app.routes, path);
      expect(allow.length, path).toBeGreaterThan(0);
      for (const method of METHODS) {
        for (const p of [path, `${path}/`]) {
          const r = await t.request(method, p);
          const what = `${method} ${p}`;
          if (allow.includes(method)) {
            // A method listed in Allow reaches its route (401, 422, 200… but never 404 "no such route" or 405).
            expect(`${what} ${r.status}`).not.toBe(`${what} 405`);
            expect(`${what} ${r.status === 404 && method !== "HEAD" ? r.body.error.message : "routed"}`).toBe(`${what} routed`);
          } else {
            expect(`${what} ${r.status} ${r.headers.get("allow")}`).toBe(`${what} 405 ${allow.join(", ")}`);
            if (method !== "HEAD") expect(r.body.error).toMatchObject({ code: "method_not_allowed", details: { allow } });
          }
        }
      }
    }
  });

  test("the request log says 405 (and 404 for an unknown path)", async () => {
    const { db, drop } = await createTestDatabase("sqlite");
    const lines: string[] = [];
    const log = createLogger({ level: "info", console: (line) => lines.push(line) });
    try {
      const app = await createTestApp(db, { log });
      await app.request("PUT", "/api/projects");
      await app.request("PUT", "/api/nothing");
      await Bun.sleep(20); // the request line is written after the answer
      const logged = lines.map((l) => JSON.parse(l)).filter((e) => e.event === "request");
      expect(logged.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual(["PUT /api/projects 405", "PUT /api/nothing 404"]);
    } finally {
      await log.close();
      await drop();
    }
  });

  test("unknown paths stay 404 not_found, whatever the method", async () => {
    for (const path of ["/api/nothing", "/api/tasks/x/y/z", "/api", "/", "/api/task"]) {
      for (const method of METHODS) {
        const r = await t.request(method, path);
        expect(`${method} ${path} ${r.status} ${r.headers.get("allow")}`).toBe(`${method} ${path} 404 null`);
        if (method !== "HEAD") expect(r.body.error.code).toBe("not_found");
      }
    }
  });
});
