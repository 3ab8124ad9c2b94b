/**
 * An empty request body is no body however it is sent: with `Content-Length: 0`, or chunked
 * (`Transfer-Encoding: chunked`, no `Content-Length`) without a single byte, as a client streaming
 * an empty body does. Both reach the body parser (src/http/body.ts) and answer alike, whatever the
 * Content-Type, on a route that takes no body, one whose lock body is optional, and one that needs one.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

/** A body that yields nothing: Bun sends it chunked (no Content-Length). */
const emptyStream = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() });

const CONTENT_TYPES = [null, "application/json", "application/json; charset=utf-8", "text/plain", "multipart/form-data; boundary=x"];

forEachDialect("empty chunked request bodies", ({ db }) => {
  let t: TestApp;
  let me: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    me = await t.createUser();
  });

  /** `method path` with an empty body, sent `chunked` or with `Content-Length: 0`. */
  async function sendEmpty(method: string, path: string, how: "chunked" | "length", contentType: string | null) {
    const headers: Record<string, string> = { authorization: `Bearer ${me.token}` };
    if (contentType !== null) headers["content-type"] = contentType;
    if (how === "length") headers["content-length"] = "0";
    const request = new Request(`http://localhost${path}`, { method, headers, body: how === "chunked" ? emptyStream() : "" });
    if (how === "chunked") {
      expect(request.body).not.toBeNull();
      expect(request.headers.get("content-length")).toBeNull();
    }
    const res = await t.app.handle(request);
    const text = await res.text();
    return { status: res.status, body: text === "" ? null : JSON.parse(text) };
  }

  test.each(CONTENT_TYPES)("DELETE /api/devices/{id} (no body taken), Content-Type %p: 204 both ways, the device revoked", async (contentType) => {
    for (const how of ["chunked", "length"] as const) {
      const device = await t.request("POST", "/api/devices", { token: me.token, body: { name: `${how} ${contentType}` } });
      expect(device.status).toBe(201);
      expect(await sendEmpty("DELETE", `/api/devices/${device.body.id}`, how, contentType)).toEqual({ status: 204, body: null });
      expect((await t.request("GET", `/api/devices/${device.body.id}`, { token: me.token })).body.revoked_at).toEqual(expect.any(String));
    }
  });

  test.each(CONTENT_TYPES)("an optional lock body (DELETE a task, archive a project), Content-Type %p: no lock both ways", async (contentType) => {
    for (const how of ["chunked", "length"] as const) {
      const task = await t.request("POST", "/api/tasks", { token: me.token, body: { title: "deleted without a lock" } });
      expect(await sendEmpty("DELETE", `/api/tasks/${task.body.id}`, how, contentType)).toEqual({ status: 204, body: null });
      expect((await t.request("GET", `/api/tasks/${task.body.id}`, { token: me.token })).status).toBe(404);

      const project = await t.request("POST", "/api/projects", { token: me.token, body: { name: "archived without a lock" } });
      const archived = await sendEmpty("POST", `/api/projects/${project.body.id}/archive`, how, contentType);
      expect([archived.status, archived.body.archived]).toEqual([200, true]);
    }
  });

  test("a route that needs a body answers an empty chunked one as it answers Content-Length: 0", async () => {
    const declared = await sendEmpty("POST", "/api/tasks", "length", "application/json");
    expect(declared.status).toBe(422);
    expect(await sendEmpty("POST", "/api/tasks", "chunked", "application/json")).toEqual(declared);
  });
});
