/**
 * Every answer says `X-Content-Type-Options: nosniff`, so that no browser reads a JSON answer (which
 * may echo what a client stored) as a page or a script: records, errors raised before routing and
 * by the error mapping, 304s, the pull's byte answer and the docs' assets.
 */
import { expect, test } from "bun:test";
import { forEachDialect } from "../support/db";
import { createTestApp } from "../support/app";

forEachDialect("X-Content-Type-Options: nosniff on every answer", ({ db }) => {
  test("records, errors of every origin, 304, a pull, the docs", async () => {
    const t = await createTestApp(db());
    const user = await t.createUser();
    const created = await t.request("POST", "/api/projects", { token: user.token, body: { name: "P" } });
    const id = created.body.id as string;
    const send = (method: string, path: string, init: RequestInit = {}) =>
      t.app.handle(new Request(`http://localhost${path}`, { method, ...init, headers: { authorization: `Bearer ${user.token}`, ...(init.headers as Record<string, string>) } }));
    const answers: [string, Response][] = [
      ["201 create", await send("POST", "/api/projects", { body: JSON.stringify({ name: "Q" }), headers: { "content-type": "application/json" } })],
      ["200 record", await send("GET", `/api/projects/${id}`)],
      ["304 not modified", await send("GET", `/api/projects/${id}`, { headers: { "if-none-match": '"1"' } })],
      ["200 list", await send("GET", "/api/projects")],
      ["204 delete", await send("DELETE", `/api/projects/${(await t.request("POST", "/api/projects", { token: user.token, body: { name: "R" } })).body.id}`)],
      ["200 pull", await send("GET", `/api/sync/pull?device_id=${user.deviceId}`)],
      ["200 health", await send("GET", "/api/health")],
      ["200 schema", await send("GET", "/api/schema")],
      ["200 docs asset", await send("GET", "/api/docs/swagger-ui.css")],
      ["401 no token", await t.app.handle(new Request("http://localhost/api/projects"))],
      ["404 record", await send("GET", `/api/projects/${crypto.randomUUID()}`)],
      ["404 no route", await send("GET", "/api/nothing")],
      ["405 method", await send("PUT", "/api/projects")],
      ["400 malformed JSON", await send("POST", "/api/projects", { body: "{", headers: { "content-type": "application/json" } })],
      ["400 not JSON", await send("POST", "/api/projects", { body: "x", headers: { "content-type": "text/plain" } })],
      ["413 too large", await send("POST", "/api/projects", { body: "x", headers: { "content-type": "application/json", "content-length": String(6 * 1024 * 1024) } })],
      ["422 invalid", await send("POST", "/api/projects", { body: "{}", headers: { "content-type": "application/json" } })],
      ["412 If-Match", await send("PATCH", `/api/projects/${id}`, { body: JSON.stringify({ name: "S" }), headers: { "content-type": "application/json", "if-match": '"9"' } })],
    ];
    const statuses = answers.map(([what, r]) => [what, r.status]);
    expect(statuses).toEqual(answers.map(([what]) => [what, Number(what.slice(0, 3))]));
    expect(answers.filter(([, r]) => r.headers.get("x-content-type-options") !== "nosniff").map(([what]) => what)).toEqual([]);
  });
});
