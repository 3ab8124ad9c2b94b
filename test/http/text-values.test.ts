/**
 * Text the storage cannot hold. A NUL character (`\u0000` in JSON) is refused alike on both dialects
 * (a Postgres `text` cannot store it): 422 naming the field for a request body or a filter, `rejected`
 * for a pushed change while the rest of its batch is applied — never a 500. An unpaired surrogate
 * (`\ud800`) is stored as U+FFFD, as UTF-8 stores it, through every write path (single rows and batches).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { BLANK_REASON, characters, NUL_REASON, textProblem } from "../../src/wire/text";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData } from "../sync/helpers";

describe("characters and textProblem", () => {
  test.each([
    ["", 0],
    ["abc", 3],
    ["é", 1],
    ["😀", 1],
    ["a😀b😀", 4],
    ["\ud800", 1],
    ["\udc00\ud800", 2],
    ["\ud800😀", 2],
  ])("%j has %d characters", (s, n) => expect(characters(s)).toBe(n));

  test.each([
    [{ minLength: 1, maxLength: 3 }, "", "must not be empty"],
    [{ minLength: 2 }, "😀", "must be at least 2 characters"],
    [{ minLength: 2 }, "😀😀", null],
    [{ maxLength: 3 }, "😀😀😀", null],
    [{ maxLength: 3 }, "😀😀😀😀", "must be at most 3 characters"],
    [{ maxLength: 3 }, "a\u0000", NUL_REASON],
    [{}, 5, "must be a string"],
    [{ minLength: 1, nonBlank: true }, " \t\n\u00a0", BLANK_REASON],
    [{ minLength: 1, nonBlank: true }, " a ", null],
    [{ minLength: 1 }, "  ", null],
  ])("%j, %j: %j", (schema, value, problem) => expect(textProblem(schema, value)).toBe(problem));
});

forEachDialect("text values", ({ db }) => {
  let t: TestApp;
  let me: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    me = await t.createUser({ role: "admin" });
  });

  const expect422 = (r: { status: number; body: any }, field: string) => {
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("validation_failed");
    expect(r.body.error.details.fields[field]).toBe(NUL_REASON);
  };

  test("a NUL in a REST body is 422 naming the field, and nothing is written", async () => {
    const before = await t.request("GET", "/api/tasks", { token: me.token });
    expect422(await t.request("POST", "/api/tasks", { token: me.token, body: { title: "a\u0000b" } }), "title");
    expect422(await t.request("POST", "/api/tasks", { token: me.token, body: { title: "ok", description: "x\u0000" } }), "description");
    expect422(await t.request("POST", "/api/tasks", { token: me.token, body: { title: "ok", tags: ["fine", "a\u0000"] } }), "tags.1");
    expect422(await t.request("POST", "/api/projects", { token: me.token, body: { name: "p\u0000" } }), "name");
    expect422(await t.request("POST", "/api/devices", { token: me.token, body: { name: "d\u0000" } }), "name");
    const after = await t.request("GET", "/api/tasks", { token: me.token });
    expect(after.body.count).toBe(before.body.count);
  });

  test("lengths count characters: 500 emoji make a valid title, 501 do not (REST and sync alike)", async () => {
    const ok = await t.request("POST", "/api/tasks", { token: me.token, body: { title: "😀".repeat(500), tags: ["🏷".repeat(100)] } });
    expect(ok.status).toBe(201);
    const long = await t.request("POST", "/api/tasks", { token: me.token, body: { title: "😀".repeat(501) } });
    expect(long.status).toBe(422);
    expect(long.body.error.details.fields.title).toBe("must be at most 500 characters");
    const empty = await t.request("POST", "/api/tasks", { token: me.token, body: { title: "" } });
    expect(empty.body.error.details.fields.title).toBe("must not be empty");
    const d = Device.of(t, me);
    const [good, bad] = await d.push(d.create("task", taskData({ title: "é😀".repeat(250) })), d.create("task", taskData({ title: "x".repeat(499) + "😀😀" })));
    expect(good.status).toBe("applied");
    expect(bad.status).toBe("rejected");
    expect(bad.error).toMatchObject({ details: { fields: { title: "must be at most 500 characters" } } });
    const schema = (await (await t.app.handle(new Request("http://localhost/api/schema"))).json()) as any;
    expect(schema.paths["/api/tasks"].post.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/TaskCreate" });
    expect(schema.components.schemas.TaskCreate.properties.title).toMatchObject({ type: "string", minLength: 1, maxLength: 500 });
  });

  test("a record stored before these rules (SQLite could hold a NUL) is still answered", async () => {
    if (db().dialect !== "sqlite") return; // a Postgres text never held one
    const r = await t.request("POST", "/api/tasks", { token: me.token, body: { title: "ok", tags: ["t"] } });
    await db().run("UPDATE tasks SET title = ?, tags = ? WHERE id = ?", ["old\u0000title", JSON.stringify(["x\u0000"]), r.body.id]);
    const got = await t.request("GET", `/api/tasks/${r.body.id}`, { token: me.token });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ title: "old\u0000title", tags: ["x\u0000"] });
    expect((await t.request("GET", "/api/tasks?search=old", { token: me.token })).status).toBe(200);
  });

  test("a NUL in a filter is 422 naming it", async () => {
    expect422(await t.request("GET", "/api/tasks?search=a%00b", { token: me.token }), "search");
    expect422(await t.request("GET", "/api/tasks?tag=a%00b", { token: me.token }), "tag");
    expect422(await t.request("GET", "/api/projects?search=%00", { token: me.token }), "search");
  });

  test("a NUL in login fields is 422, not a failed login", async () => {
    expect422(await t.request("POST", "/api/auth/login", { body: { email: "a\u0000@example.test", password: "whatever-password" } }), "email");
    expect422(await t.request("POST", "/api/auth/refresh", { body: { refresh: "x\u0000" } }), "refresh");
  });

  test("a pushed change holding a NUL is rejected; the rest of its batch is applied", async () => {
    const d = Device.of(t, me);
    const good = d.create("task", taskData({ title: "fine" }));
    const bad = d.create("task", taskData({ title: "nul\u0000here" }));
    const badTag = d.create("task", taskData({ title: "tags", tags: ["x\u0000"] }));
    const [r1, r2, r3] = await d.push(good, bad, badTag);
    expect(r1.status).toBe("applied");
    expect(r2.status).toBe("rejected");
    expect(r2.error).toMatchObject({ code: "validation_failed", details: { fields: { title: NUL_REASON } } });
    expect(r3.status).toBe("rejected");
    expect(r3.error).toMatchObject({ details: { fields: { "tags.0": NUL_REASON } } });
    expect((await t.request("GET", `/api/tasks/${good.entity_id}`, { token: me.token })).status).toBe(200);
    expect((await t.request("GET", `/api/tasks/${bad.entity_id}`, { token: me.token })).status).toBe(404);
  });

  test("a path id holding a NUL is no record: 404, nothing asked of the database", async () => {
    for (const path of ["/api/tasks/x%00", "/api/tasks/x%00/history", "/api/tasks/x%00/comments", "/api/projects/x%00", "/api/comments/x%00", "/api/devices/x%00", "/api/sync/conflicts/x%00"]) {
      expect((await t.request("GET", path, { token: me.token })).status, path).toBe(404);
    }
    expect((await t.request("PATCH", "/api/tasks/x%00", { token: me.token, body: { title: "t" } })).status).toBe(404);
    expect((await t.request("DELETE", "/api/projects/x%00", { token: me.token })).status).toBe(404);
  });

  test("a device_id holding a NUL is not the caller's device (403), on push and pull", async () => {
    const push = await t.request("POST", "/api/sync/push", { token: me.token, body: { device_id: "d\u0000", changes: [] } });
    expect(push.status).toBe(403);
    const pull = await t.request("GET", "/api/sync/pull?device_id=d%00", { token: me.token });
    expect(pull.status).toBe(403);
  });

  // Found by QA: a device's create answered the name as sent while every read gave U+FFFD.
  test("a device's or a user's name with an unpaired surrogate: its create answers what a read gives (U+FFFD)", async () => {
    const device = await t.request("POST", "/api/devices", { token: me.token, body: { name: " dev \ud800x ", platform: "p\udfff" } });
    expect(device.status).toBe(201);
    expect([device.body.name, device.body.platform]).toEqual(["dev \ufffdx", "p\ufffd"]);
    const read = (await t.request("GET", `/api/devices/${device.body.id}`, { token: me.token })).body;
    expect([read.name, read.platform]).toEqual([device.body.name, device.body.platform]);
    // Users are created by the command line, through the same service.
    const email = `s${crypto.randomUUID()}@example.test`;
    const user = await t.services.users.create({ orgId: me.org.id, email, name: "user \udc00", role: "member", password: "a long enough password" });
    expect(user.name).toBe("user \ufffd");
    const login = await t.request("POST", "/api/auth/login", { body: { email, password: "a long enough password" } });
    expect((await t.request("GET", "/api/users/me", { token: login.body.access })).body.name).toBe("user \ufffd");
  });

  test("an unpaired surrogate is stored as U+FFFD by a REST write and by a batched push alike", async () => {
    const rest = await t.request("POST", "/api/tasks", { token: me.token, body: { title: "rest \ud800 end" } });
    expect(rest.status).toBe(201);
    expect((await t.request("GET", `/api/tasks/${rest.body.id}`, { token: me.token })).body.title).toBe("rest \ufffd end");
    const d = Device.of(t, me);
    const changes = Array.from({ length: 3 }, (_, i) => d.create("task", taskData({ title: `push \udc00 ${i}`, tags: [`t\ud800${i}`] })));
    for (const r of await d.push(...changes)) expect(r.status).toBe("applied");
    for (const [i, c] of changes.entries()) {
      const got = (await t.request("GET", `/api/tasks/${c.entity_id}`, { token: me.token })).body;
      expect(got.title).toBe(`push \ufffd ${i}`);
      expect(got.tags).toEqual([`t\ufffd${i}`]);
    }
  });
});
