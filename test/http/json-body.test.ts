/**
 * JSON request bodies. Keys named like `Object.prototype`'s (`__proto__`, `constructor`) are unknown
 * keys like any other: named in the 422, never applied, nothing polluted.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

const utf8 = (s: string) => new TextEncoder().encode(s);

forEachDialect("JSON request bodies", ({ db }) => {
  let t: TestApp;
  let me: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    me = await t.createUser();
  });

  /** Sends `bytes` as an application/json body through `app.handle`. */
  async function send(method: string, path: string, bytes: Uint8Array, token: string | null = me.token) {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const res = await t.app.handle(new Request(`http://localhost${path}`, { method, headers, body: bytes }));
    return { status: res.status, body: (await res.json()) as any };
  }
  const titles = async () => (await t.request("GET", "/api/tasks?page_size=500", { token: me.token })).body.results.map((r: { title: string }) => r.title);

  test.each(["__proto__", "constructor", "toString", "hasOwnProperty"])("a body key %s is named like any other unknown key; nothing applied or polluted", async (key) => {
    const mark = `proto-${key}`;
    const r = await send("POST", "/api/tasks", utf8(`{"title": "${mark}", "${key}": {"admin": true, "title": "x"}, "zzz": 1}`));
    expect(r.status).toBe(422);
    expect(r.body.error.message).toBe(`invalid body: ${key}, zzz`);
    expect(Object.keys(r.body.error.details.fields)).toEqual([key, "zzz"]);
    expect(r.body.error.details.fields[key]).toBe(`Property '${key}' should not be provided`);
    expect(await titles()).not.toContain(mark);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("admin");

    const patched = await t.request("POST", "/api/projects", { token: me.token, body: `{"name": "${mark}", "${key}": null}` });
    expect([patched.status, patched.body.error.message]).toEqual([422, `invalid body: ${key}`]);
  });

  test("a vector clock key __proto__ beside an upper-case device id stays a key: the change is rejected naming it", async () => {
    const change = `{"change_id": "${crypto.randomUUID()}", "entity": "task", "entity_id": "${crypto.randomUUID()}", "op": "create", "data": {"title": "clock"}, "vector_clock": {"${me.deviceId!.toUpperCase()}": 1, "__proto__": {"server": 7}}}`;
    const r = await send("POST", "/api/sync/push", utf8(`{"device_id": "${me.deviceId}", "changes": [${change}]}`));
    expect(r.status).toBe(200);
    expect(r.body.results[0]).toMatchObject({ status: "rejected", error: { code: "invalid_clock", message: 'vector_clock counter for "__proto__" must be a positive integer' } });
  });
});
