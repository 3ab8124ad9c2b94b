/**
 * The JSON body parser (src/http/body.ts), one for every route: bytes that are not UTF-8 answer 400
 * `bad_request` instead of being stored as U+FFFD, text that is not JSON answers 400 even where the
 * body is optional, nesting deeper than 32 levels answers 422 naming `body` — all after the token is
 * checked (without one: 401, test/http/auth-before-body.test.ts). Keys named like `Object.prototype`'s (`__proto__`, `constructor`) are unknown keys like any
 * other: named in the 422, never applied, nothing polluted.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

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

  test.each([
    ["ff", "a byte that never starts a character"],
    ["c0af", "an overlong encoding of '/'"],
    ["eda080", "an encoded surrogate (U+D800)"],
    ["f4908080", "a code point above U+10FFFF"],
    ["e282", "a sequence cut short"],
  ])("%s (%s) inside a string: 400 bad_request, nothing stored, on every route that reads a body (login too)", async (bytes) => {
    const mark = `utf8-${bytes}-`;
    const body = (json: string) => concat(utf8(json.slice(0, json.indexOf("~"))), hex(bytes), utf8(json.slice(json.indexOf("~") + 1)));
    const refused = { error: { code: "bad_request", message: "the request body is not valid UTF-8", details: {} } };

    expect(await send("POST", "/api/tasks", body(`{"title": "${mark}a~b"}`))).toEqual({ status: 400, body: refused });
    expect(await titles()).not.toContain(`${mark}a\ufffdb`);

    const push = `{"device_id": "${me.deviceId}", "changes": [{"change_id": "${crypto.randomUUID()}", "entity": "task", "entity_id": "${crypto.randomUUID()}", "op": "create", "data": {"title": "${mark}~"}, "vector_clock": {"${me.deviceId}": 1}}]}`;
    expect(await send("POST", "/api/sync/push", body(push))).toEqual({ status: 400, body: refused });
    expect((await titles()).filter((title: string) => title.startsWith(mark))).toEqual([]);

    expect((await send("POST", "/api/tasks", body(`{"title": "${mark}a~b"}`), null)).status).toBe(401); // the token first
    expect(await send("POST", "/api/auth/login", body(`{"email": "${me.email}", "password": "~"}`), null)).toEqual({ status: 400, body: refused });
  });

  test("valid UTF-8 of every length (2, 3 and 4 bytes) is accepted and stored exactly; a leading BOM is dropped", async () => {
    const title = "é ß 中文 € 😀 \uFFFD \u{10FFFF} end";
    const created = await send("POST", "/api/tasks", utf8(JSON.stringify({ title })));
    expect(created.status).toBe(201);
    expect(created.body.title).toBe(title);
    expect((await t.request("GET", `/api/tasks/${created.body.id}`, { token: me.token })).body.title).toBe(title);

    const bom = await send("POST", "/api/tasks", concat(hex("efbbbf"), utf8(JSON.stringify({ title: "after a BOM" }))));
    expect([bom.status, bom.body.title]).toEqual([201, "after a BOM"]);
  });

  test("an escaped lone surrogate is still valid JSON: stored as U+FFFD, as before", async () => {
    const created = await send("POST", "/api/tasks", utf8('{"title": "a\\ud800b"}'));
    expect([created.status, created.body.title]).toEqual([201, "a\ufffdb"]);
  });

  test("text that is not JSON is 400, also where the body is optional: a DELETE with a cut lock deletes nothing", async () => {
    const task = await t.request("POST", "/api/tasks", { token: me.token, body: { title: "locked by a broken body" } });
    for (const broken of ['{"version": 1', "version=1", "{'version': 1}"]) {
      const r = await send("DELETE", `/api/tasks/${task.body.id}`, utf8(broken));
      expect(r).toEqual({ status: 400, body: { error: { code: "bad_request", message: "the request body is not valid JSON", details: {} } } });
    }
    expect((await t.request("GET", `/api/tasks/${task.body.id}`, { token: me.token })).status).toBe(200);
    // No body, or an empty one, is still no lock.
    expect((await t.request("DELETE", `/api/tasks/${task.body.id}`, { token: me.token, body: "" })).status).toBe(204);
  });

  test("nesting deeper than 32 levels is 422 naming body (401 without a token: the token first); 32 levels are parsed", async () => {
    const deep = `{"title": "deep", "tags": ${"[".repeat(32)}${"]".repeat(32)}}`;
    expect(await send("POST", "/api/tasks", utf8(deep))).toEqual({
      status: 422,
      body: { error: { code: "validation_failed", message: "the request body is nested too deeply", details: { fields: { body: "nested deeper than 32 levels" } } } },
    });
    expect((await send("POST", "/api/tasks", utf8(deep), null)).status).toBe(401);
    const atLimit = await send("POST", "/api/tasks", utf8(`{"title": "deep", "tags": ${"[".repeat(31)}${"]".repeat(31)}}`));
    expect(atLimit.status).toBe(422); // parsed, then refused by the model: tags are strings
    expect(Object.keys(atLimit.body.error.details.fields)).toEqual(["tags.0"]);
  });

  test.each(["__proto__", "constructor", "toString", "hasOwnProperty"])("a body key %s is named like any other unknown key; nothing applied or polluted", async (key) => {
    const mark = `proto-${key}`;
    const r = await send("POST", "/api/tasks", utf8(`{"title": "${mark}", "${key}": {"admin": true, "title": "x"}, "zzz": 1}`));
    expect(r.status).toBe(422);
    expect(r.body.error.message).toBe(`invalid body: ${key}, zzz`);
    expect(Object.keys(r.body.error.details.fields)).toEqual([key, "zzz"]);
    expect(r.body.error.details.fields[key]).toBe("unknown or read-only field");
    expect(await titles()).not.toContain(mark);
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

  const post = async (path: string, body: string, contentType = "application/json") => {
    const res = await t.app.handle(new Request(`http://localhost${path}`, { method: "POST", headers: { "content-type": contentType, authorization: `Bearer ${me.token}` }, body }));
    return { status: res.status, body: (await res.json()) as any };
  };

  test("parameters after the media type, with or without spaces around `;`, are JSON all the same", async () => {
    for (const type of ["application/json; charset=utf-8", "application/json ; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON"]) {
      const r = await post("/api/tasks", JSON.stringify({ title: type }), type);
      expect(`${type} ${r.status}`).toBe(`${type} 201`);
      expect(r.body.title).toBe(type);
    }
  });

  // Found by reading validationFields: TypeBox names a key in a JSON Pointer, where `/` is `~1` and `~` is `~0`,
  // and the empty key is the path `/`: a REST 422 named `a/b` as `a~1b`, and answered `{"": 1}` as a body
  // that "must be a JSON object", where a pushed change names them as sent (README: the same details.fields).
  test("unknown keys holding / or ~, and the empty key, are named as sent, as a pushed change names them", async () => {
    const keys = ["a/b", "c~d", "~1", "", "e.f"];
    const extra = Object.fromEntries(keys.map((k, i) => [k, i]));
    const rest = await post("/api/tasks", JSON.stringify({ title: "keys", ...extra }));
    expect(rest.status).toBe(422);
    expect(rest.body.error.details.fields).toEqual(Object.fromEntries(keys.map((k) => [k, "unknown or read-only field"])));
    const task = await post("/api/tasks", JSON.stringify({ title: "keys" }));
    const change = { change_id: crypto.randomUUID(), entity: "task", entity_id: task.body.id, op: "update", data: extra, base_version: 1, vector_clock: { [me.deviceId!]: 1 } };
    const pushed = await post("/api/sync/push", JSON.stringify({ device_id: me.deviceId, changes: [change] }));
    expect(pushed.body.results[0].error.details.fields).toEqual(rest.body.error.details.fields);
  });

  test("a REST body's unknown key is named by its first 64 characters, never half a character", async () => {
    const key = "k".repeat(63) + "😀" + "x".repeat(100);
    const r = await post("/api/tasks", JSON.stringify({ title: "t", [key]: 1 }));
    expect(r.status).toBe(422);
    expect(Object.keys(r.body.error.details.fields)).toEqual([`${"k".repeat(63)}…`]);
    expect(r.body.error.message).not.toContain("\ufffd");
  });
});

forEachDialect("JSON request bodies that are not objects", ({ db }) => {
  let t: TestApp;
  let me: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    me = await t.createUser();
  });

  // Found by review: the README's reason ("must be a JSON object") was given only where the body is
  // optional; a route that requires one answered TypeBox's "Expected object".
  test("a route that requires a body answers 422 naming body with the same reason as one whose body is optional", async () => {
    const task = (await t.request("POST", "/api/tasks", { token: me.token, body: { title: "t" } })).body;
    const routes: [string, string][] = [["POST", "/api/tasks"], ["PATCH", `/api/tasks/${task.id}`], ["POST", "/api/sync/push"], ["POST", "/api/auth/login"], ["DELETE", `/api/tasks/${task.id}`]];
    for (const [method, path] of routes) {
      for (const body of ["2", '"2"', "[]", "[{}]", "true", "null"]) {
        const res = await t.app.handle(new Request(`http://localhost${path}`, { method, headers: { "content-type": "application/json", authorization: `Bearer ${me.token}` }, body }));
        const answer = (await res.json()) as any;
        expect(`${method} ${path} ${body}: ${res.status} ${JSON.stringify(answer.error?.details)}`).toBe(`${method} ${path} ${body}: 422 {"fields":{"body":"must be a JSON object"}}`);
      }
    }
    expect((await t.request("GET", `/api/tasks/${task.id}`, { token: me.token })).body).toEqual(task);
  });
});

forEachDialect("JSON request bodies: encodings", ({ db }) => {
  let t: TestApp;
  let me: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    me = await t.createUser();
  });
  const post = async (headers: Record<string, string>, body: Uint8Array) => {
    const res = await t.app.handle(new Request("http://localhost/api/tasks", { method: "POST", headers: { authorization: `Bearer ${me.token}`, ...headers }, body }));
    return { status: res.status, body: (await res.json()) as any };
  };
  const count = async () => (await t.request("GET", "/api/tasks", { token: me.token })).body.count;

  test("a compressed body, or one in another charset than UTF-8, answers 400 saying so; nothing stored", async () => {
    const json = JSON.stringify({ title: "encoded" });
    const gz = await post({ "content-type": "application/json", "content-encoding": "gzip" }, Bun.gzipSync(utf8(json)));
    expect(gz).toEqual({ status: 400, body: { error: { code: "bad_request", message: "the request body must not be compressed (Content-Encoding: gzip is not supported)", details: { content_encoding: "gzip" } } } });
    const utf16 = Buffer.from(json, "utf16le");
    const wide = await post({ "content-type": "application/json; charset=UTF-16" }, utf16);
    expect(wide).toEqual({ status: 400, body: { error: { code: "bad_request", message: "the request body must be UTF-8 (charset=utf-16 is not supported)", details: { charset: "utf-16" } } } });
    expect(await count()).toBe(0);
    // UTF-8 spelled either way, quoted or not, and the identity coding are the plain body.
    const plain: Record<string, string>[] = [{ "content-type": 'application/json; charset="utf-8"' }, { "content-type": "application/json;charset=UTF8" }, { "content-type": "application/json", "content-encoding": "identity" }];
    for (const headers of plain) {
      expect((await post(headers, utf8(json))).status).toBe(201);
    }
    expect(await count()).toBe(3);
  });
});
