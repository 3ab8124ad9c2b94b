/**
 * HEAD: every GET route answers it as its GET does — status, headers (`ETag`, `Content-Length`,
 * 304 for a matching `If-None-Match`), 401 without a token — without the body (Bun drops a HEAD
 * answer's body on the wire; through `app.handle` an answer made before routing, a 404 or 405,
 * still carries it). A HEAD runs the GET: a HEAD of a pull is a pull (a sync log row). HEAD is
 * not an operation of the OpenAPI document: it is implied by each GET (RFC 9110, 9.3.2).
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

forEachDialect("HEAD requests", ({ db }) => {
  let t: TestApp;
  let me: TestUser;
  let task: { id: string; version: number };
  beforeAll(async () => {
    t = await createTestApp(db());
    me = await t.createUser();
    task = (await t.request("POST", "/api/tasks", { token: me.token, body: { title: "headed" } })).body;
  });

  async function both(path: string, headers: Record<string, string> = {}) {
    const send = async (method: string) => {
      const res = await t.app.handle(new Request(`http://localhost${path}`, { method, headers }));
      return { status: res.status, etag: res.headers.get("etag"), type: res.headers.get("content-type"), body: await res.text(), length: res.headers.get("content-length") };
    };
    return { get: await send("GET"), head: await send("HEAD") };
  }

  test("a GET route answers HEAD with the GET's status and headers, without the body", async () => {
    const auth = { authorization: `Bearer ${me.token}` };
    for (const path of [`/api/tasks/${task.id}`, "/api/tasks", "/api/health", "/api/users/me"]) {
      const { get, head } = await both(path, path === "/api/health" ? {} : auth);
      expect([head.status, head.etag, head.type]).toEqual([get.status, get.etag, get.type]);
      expect(head.status).toBe(200);
      expect(head.body).toBe("");
      expect(Number(head.length)).toBe(new TextEncoder().encode(get.body).length);
    }
    const { head } = await both(`/api/tasks/${task.id}`, { ...auth, "if-none-match": `"${task.version}"` });
    expect([head.status, head.etag]).toEqual([304, `"${task.version}"`]);
  });

  test("without a token a HEAD is 401, as its GET", async () => {
    const { get, head } = await both("/api/tasks");
    expect([get.status, head.status]).toEqual([401, 401]);
    expect(head.body).toBe("");
  });

  test("a HEAD of a pull runs the pull: it is logged as one", async () => {
    const before = (await t.deps.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM sync_log WHERE device_id = ? AND kind = 'pull'", [me.deviceId!]))!.n;
    const res = await t.app.handle(new Request(`http://localhost/api/sync/pull?device_id=${me.deviceId}`, { method: "HEAD", headers: { authorization: `Bearer ${me.token}` } }));
    expect([res.status, await res.text()]).toEqual([200, ""]);
    await t.services.sync.flushLog();
    const after = (await t.deps.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM sync_log WHERE device_id = ? AND kind = 'pull'", [me.deviceId!]))!.n;
    expect(after).toBe(before + 1);
  });

  test("the OpenAPI document lists GET operations and no HEAD one", async () => {
    const doc = (await t.request("GET", "/api/schema")).body as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths);
    expect(operations.some((p) => "get" in p)).toBe(true);
    expect(operations.filter((p) => "head" in p)).toEqual([]);
  });
});
