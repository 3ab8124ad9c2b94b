/**
 * CORS (`CORS_ORIGINS`): off by default, today's answers exactly (a preflight is 405); with origins
 * configured, a preflight from one of them to a known path answers 204 with the path's methods, and
 * every answer to one of them (errors included) names it in `Access-Control-Allow-Origin`. Another
 * origin gets no CORS header (its preflight stays 405), and an unknown path stays 404.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config";
import { allowedMethods } from "../../src/http/methods";
import { parseCorsOrigins } from "../../src/wire/cors";
import { createTestApp, type TestApp } from "../support/app";
import { createTestDatabase } from "../support/db";

const APP = "https://app.example.com";
const DEV = "http://localhost:5173";
const OTHER = "https://evil.example.net";

const corsHeaders = (r: Response) => Object.fromEntries([...r.headers.entries()].filter(([name]) => name.startsWith("access-control-")));

/** A browser's preflight of `method` at `path` from `origin`. */
const preflight = (path: string, origin: string, method = "POST") =>
  new Request(`http://localhost${path}`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": method, "access-control-request-headers": "authorization, content-type" },
  });

describe("CORS_ORIGINS", () => {
  test("a comma-separated list of exact origins, or *; unset or empty: none", () => {
    expect(loadConfig({}, {}).corsOrigins).toEqual(new Set());
    expect(loadConfig({}, { CORS_ORIGINS: " " }).corsOrigins).toEqual(new Set());
    expect(loadConfig({}, { CORS_ORIGINS: `${APP}, ${DEV} ,https://App.Example.com` }).corsOrigins).toEqual(new Set([APP, DEV]));
    expect(loadConfig({}, { CORS_ORIGINS: "http://[::1]:8080,https://tasks.example:8443" }).corsOrigins).toEqual(new Set(["http://[::1]:8080", "https://tasks.example:8443"]));
    expect(loadConfig({}, { CORS_ORIGINS: " * " }).corsOrigins).toBe("*");
  });

  test.each([
    ["app.example.com", "app.example.com is not an origin (scheme://host[:port], e.g. https://app.example.com)"],
    ["https://app.example.com/", "https://app.example.com/ has a path: write https://app.example.com"],
    ["https://app.example.com/app", "https://app.example.com/app has a path: write https://app.example.com"],
    ["https://app.example.com?x=1", "https://app.example.com?x=1 has a path: write https://app.example.com"],
    ["https://app.example.com:443", "https://app.example.com:443 names the scheme's own port: write https://app.example.com"],
    ["https://user@app.example.com", "https://user@app.example.com has a user name: write https://app.example.com"],
    ["ftp://app.example.com", "ftp://app.example.com is not an http:// or https:// origin"],
    ["file:///tmp/app", "file:///tmp/app is not an http:// or https:// origin"],
    [`${APP},,${DEV}`, "an empty entry between commas"],
    [`*,${APP}`, "* allows every origin: it cannot be listed with others"],
  ])("CORS_ORIGINS=%p is refused: %p", (value, reason) => {
    let error: unknown;
    try {
      loadConfig({}, { CORS_ORIGINS: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(`CORS_ORIGINS must be * or a comma-separated list of origins: ${reason}`);
    expect((error as ConfigError).fromFlag).toBe(false);
  });

  test("read by serve only, like TRUSTED_PROXIES: an admin command is not stopped by a bad value", () => {
    expect(loadConfig({}, { CORS_ORIGINS: "app.example.com" }, { serving: false }).corsOrigins).toEqual(new Set());
    expect(() => loadConfig({}, { CORS_ORIGINS: "app.example.com" }, { fromFile: new Set(["CORS_ORIGINS"]) })).toThrow(
      "CORS_ORIGINS (in .env) must be * or a comma-separated list of origins",
    );
  });

  test("parseCorsOrigins keeps origins as browsers send them (scheme and host in lower case)", () => {
    expect(parseCorsOrigins("HTTPS://APP.EXAMPLE.COM")).toEqual(new Set([APP]));
  });
});

describe("CORS over HTTP", () => {
  let drop: () => Promise<void>;
  let off: TestApp;
  let listed: TestApp;
  let any: TestApp;
  let token: string;
  beforeAll(async () => {
    const d = await createTestDatabase("sqlite");
    drop = d.drop;
    off = await createTestApp(d.db);
    listed = await createTestApp(d.db, { config: { corsOrigins: parseCorsOrigins(`${APP},${DEV}`) } });
    any = await createTestApp(d.db, { config: { corsOrigins: parseCorsOrigins("*") } });
    token = (await listed.createUser()).token;
  });
  afterAll(() => drop());

  const get = (t: TestApp, path: string, headers: Record<string, string>) => t.app.handle(new Request(`http://localhost${path}`, { headers }));

  test("an answer that varies by Accept too (/api/metrics) names both: Vary: Origin, Accept", async () => {
    const admin = await listed.createUser({ role: "admin" });
    const r = await get(listed, "/api/metrics", { origin: APP, authorization: `Bearer ${admin.token}` });
    expect([r.status, r.headers.get("vary"), r.headers.get("access-control-allow-origin")]).toEqual([200, "Origin, Accept", APP]);
  });

  test("unconfigured: a preflight is 405 as before, and no answer carries a CORS header", async () => {
    const r = await off.app.handle(preflight("/api/tasks", APP));
    expect([r.status, r.headers.get("allow"), corsHeaders(r), r.headers.get("vary")]).toEqual([405, "GET, HEAD, POST", {}, null]);
    const health = await get(off, "/api/health", { origin: APP });
    expect([health.status, corsHeaders(health), health.headers.get("vary")]).toEqual([200, {}, null]);
  });

  test("a preflight from a listed origin to a known path: 204 naming the origin, the path's methods, the headers, a max age", async () => {
    for (const [path, origin] of [
      ["/api/tasks", APP],
      [`/api/tasks/${crypto.randomUUID()}/`, DEV],
      ["/api/sync/push", APP],
    ]) {
      const r = await listed.app.handle(preflight(path, origin));
      expect(r.status).toBe(204);
      expect(await r.text()).toBe("");
      expect(r.headers.get("vary")).toBe("Origin");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("access-control-allow-credentials")).toBeNull();
      expect(corsHeaders(r)).toEqual({
        "access-control-allow-origin": origin,
        "access-control-allow-methods": allowedMethods(listed.app.routes, path).join(", "),
        "access-control-allow-headers": "Authorization, Content-Type, If-Match, If-None-Match",
        "access-control-max-age": "7200",
        "access-control-expose-headers": "ETag, Location, Retry-After, Allow, WWW-Authenticate",
      });
    }
    expect((await listed.app.handle(preflight(`/api/tasks/${crypto.randomUUID()}`, APP, "PATCH"))).headers.get("access-control-allow-methods")).toBe(
      "GET, HEAD, PATCH, DELETE",
    );
  });

  test("every registered path: a preflight from a listed origin lists the methods its 405 lists in Allow", async () => {
    const paths = [...new Set(listed.app.routes.map((r) => r.path.replace(/:[^/]+/g, crypto.randomUUID())))];
    expect(paths.length).toBeGreaterThan(30);
    for (const path of paths) {
      const r = await listed.app.handle(preflight(path, APP));
      const refused = await listed.app.handle(preflight(path, OTHER));
      expect([path, r.status, r.headers.get("access-control-allow-methods")]).toEqual([path, 204, refused.headers.get("allow")]);
      expect([path, refused.status]).toEqual([path, 405]);
    }
  });

  test("a preflight from an origin not listed is the 405 of any OPTIONS, without CORS headers; an unknown path stays 404", async () => {
    const r = await listed.app.handle(preflight("/api/tasks", OTHER));
    expect([r.status, r.headers.get("allow"), corsHeaders(r)]).toEqual([405, "GET, HEAD, POST", {}]);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
    const unknown = await listed.app.handle(preflight("/api/nothing", APP));
    expect([unknown.status, ((await unknown.json()) as { error: { code: string } }).error.code]).toEqual([404, "not_found"]);
    // An OPTIONS without Access-Control-Request-Method is no preflight: the 405 it always was.
    const plain = await listed.app.handle(new Request("http://localhost/api/tasks", { method: "OPTIONS", headers: { origin: APP } }));
    expect([plain.status, plain.headers.get("allow")]).toEqual([405, "GET, HEAD, POST"]);
    expect(plain.headers.get("access-control-allow-methods")).toBeNull();
  });

  test("answers to a listed origin name it and expose the headers clients read: a 200, a 401 (a write's too), a 404, a 405, a 413, a 422", async () => {
    const auth = { origin: APP, authorization: `Bearer ${token}` };
    const json = { ...auth, "content-type": "application/json" };
    const answers: [number, Response][] = [
      [200, await get(listed, "/api/health", { origin: APP })],
      [201, await listed.app.handle(new Request("http://localhost/api/projects", { method: "POST", headers: json, body: JSON.stringify({ name: "P" }) }))],
      [401, await get(listed, "/api/tasks", { origin: APP })],
      // A write without a token is refused before its body is read (the body parser, src/app.ts).
      [401, await listed.app.handle(new Request("http://localhost/api/sync/push", { method: "POST", headers: { origin: APP, "content-type": "application/json" }, body: "{" }))],
      [404, await get(listed, `/api/tasks/${crypto.randomUUID()}`, auth)],
      [404, await get(listed, "/api/nothing", { origin: APP })],
      [405, await listed.app.handle(new Request("http://localhost/api/tasks", { method: "PUT", headers: { origin: APP } }))],
      [413, await listed.app.handle(new Request("http://localhost/api/tasks", { method: "POST", headers: { ...json, "content-length": String(64 * 1024 * 1024) }, body: "x" }))],
      [422, await listed.app.handle(new Request("http://localhost/api/projects", { method: "POST", headers: json, body: "{}" }))],
    ];
    expect(answers.map(([, r]) => r.status)).toEqual(answers.map(([status]) => status));
    for (const [status, r] of answers) {
      expect([status, corsHeaders(r), r.headers.get("vary")]).toEqual([
        status,
        { "access-control-allow-origin": APP, "access-control-expose-headers": "ETag, Location, Retry-After, Allow, WWW-Authenticate" },
        "Origin",
      ]);
    }
    expect(answers[1][1].headers.get("location")).toStartWith("/api/projects/");
  });

  test("an answer to another origin, or to a request without one, carries no CORS header (Vary: Origin still)", async () => {
    for (const headers of [{ origin: OTHER }, {} as Record<string, string>, { origin: "null" }, { origin: `${APP}/` }, { origin: APP.toUpperCase() }]) {
      const r = await get(listed, "/api/tasks", headers);
      expect([r.status, corsHeaders(r), r.headers.get("vary")]).toEqual([401, {}, "Origin"]);
    }
  });

  test("*: every answer carries * whether or not the request has Origin, so a cache cannot hand one without it to a page", async () => {
    const admin = await any.createUser({ role: "admin" });
    const auth = { authorization: `Bearer ${admin.token}` };
    const exposed = { "access-control-allow-origin": "*", "access-control-expose-headers": "ETag, Location, Retry-After, Allow, WWW-Authenticate" };
    // Cacheable answers (the docs' assets are public for a day), a list, an error, with and without Origin: the same headers.
    for (const [path, headers] of [
      ["/api/docs/swagger-ui-bundle.js", {}],
      ["/api/docs/swagger-ui.css", {}],
      ["/api/docs", {}],
      ["/api/schema", {}],
      ["/api/health", {}],
      ["/api/tasks", auth],
      ["/api/nothing", {}],
    ] as [string, Record<string, string>][]) {
      for (const origin of [{}, { origin: OTHER }] as Record<string, string>[]) {
        const r = await get(any, path, { ...headers, ...origin });
        expect([path, origin, corsHeaders(r), r.headers.get("vary")]).toEqual([path, origin, exposed, null]);
      }
    }
    // Vary of its own still comes through: /api/metrics follows Accept.
    const m = await get(any, "/api/metrics", auth);
    expect([m.status, corsHeaders(m), m.headers.get("vary")]).toEqual([200, exposed, "Accept"]);
  });

  test("*: every origin, answered with * (no Vary); a preflight too; no credentials mode", async () => {
    const r = await get(any, "/api/tasks", { origin: OTHER });
    expect([r.status, corsHeaders(r), r.headers.get("vary")]).toEqual([401, { "access-control-allow-origin": "*", "access-control-expose-headers": "ETag, Location, Retry-After, Allow, WWW-Authenticate" }, null]);
    const p = await any.app.handle(preflight("/api/sync/pull", OTHER, "GET"));
    expect([p.status, p.headers.get("access-control-allow-origin"), p.headers.get("access-control-allow-methods"), p.headers.get("access-control-allow-credentials")]).toEqual([
      204,
      "*",
      "GET, HEAD",
      null,
    ]);
    // A request without Origin (not from a browser's page) gets * too (above); an OPTIONS without Origin is no preflight: 405.
    const noOrigin = await any.app.handle(new Request("http://localhost/api/sync/pull", { method: "OPTIONS", headers: { "access-control-request-method": "GET" } }));
    expect([noOrigin.status, noOrigin.headers.get("access-control-allow-methods")]).toEqual([405, null]);
  });
});
