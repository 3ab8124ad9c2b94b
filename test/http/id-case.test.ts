/**
 * UUIDs in any letter case name one record (RFC 9562: case-insensitive on input, lower case on
 * output): client-chosen ids, references, path and query parameters, a push's device, change and
 * entity ids and its clock keys. Some platforms write UUIDs in upper case (Swift's `uuidString`).
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

forEachDialect("ids in any letter case", ({ db }) => {
  let t: TestApp;
  let me: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    me = await t.createUser({ role: "admin", device: true });
  });
  const upper = (id: string) => id.toUpperCase();

  test("REST: a client id in upper case is stored and answered in lower case; the other case is the same record", async () => {
    const id = crypto.randomUUID();
    const created = await t.request("POST", "/api/tasks", { token: me.token, body: { id: upper(id), title: "a" } });
    expect(created.status).toBe(201);
    expect(created.body.id).toBe(id);
    expect(created.headers.get("location")).toBe(`/api/tasks/${id}`);
    const again = await t.request("POST", "/api/tasks", { token: me.token, body: { id, title: "b" } });
    expect(again.status).toBe(409);
    const got = await t.request("GET", `/api/tasks/${upper(id)}`, { token: me.token });
    expect(got.status).toBe(200);
    expect(got.body.title).toBe("a");
    const patched = await t.request("PATCH", `/api/tasks/${upper(id)}`, { token: me.token, body: { title: "c" } });
    expect(patched.status).toBe(200);
  });

  test("REST: references and filters in upper case find the record", async () => {
    const project = await t.request("POST", "/api/projects", { token: me.token, body: { name: "P" } });
    const task = await t.request("POST", "/api/tasks", { token: me.token, body: { title: "in P", project_id: upper(project.body.id) } });
    expect(task.status).toBe(201);
    expect(task.body.project_id).toBe(project.body.id);
    const listed = await t.request("GET", `/api/tasks?project_id=${upper(project.body.id)}`, { token: me.token });
    expect(listed.body.results.map((r: { id: string }) => r.id)).toEqual([task.body.id]);
    const comment = await t.request("POST", "/api/comments", { token: me.token, body: { task_id: upper(task.body.id), body: "hi" } });
    expect(comment.status).toBe(201);
    expect(comment.body.task_id).toBe(task.body.id);
  });

  test("sync: device, change, entity ids and clock keys in upper case; a retry in the other case is a duplicate", async () => {
    const device = me.deviceId!;
    const entity = crypto.randomUUID();
    const change = { change_id: upper(crypto.randomUUID()), entity: "task", entity_id: upper(entity), op: "create", data: { title: "synced" }, vector_clock: { [upper(device)]: 1 } };
    const first = await t.request("POST", "/api/sync/push", { token: me.token, body: { device_id: upper(device), changes: [change] } });
    expect(first.status).toBe(200);
    expect(first.body.results[0]).toMatchObject({ status: "applied", entity_id: entity, vector_clock: { [device]: 1 } });
    const retry = { ...change, change_id: change.change_id.toLowerCase(), entity_id: entity, vector_clock: { [device]: 1 } };
    const second = await t.request("POST", "/api/sync/push", { token: me.token, body: { device_id: device, changes: [retry] } });
    expect(second.body.results[0].status).toBe("duplicate");
    const edit = { change_id: crypto.randomUUID(), entity: "task", entity_id: upper(entity), op: "update", base_version: 1, data: { title: "edited" }, vector_clock: { [upper(device)]: 2 } };
    const third = await t.request("POST", "/api/sync/push", { token: me.token, body: { device_id: device, changes: [edit] } });
    expect(third.body.results[0]).toMatchObject({ status: "applied", version: 2 });
    const pulled = await t.request("GET", `/api/sync/pull?device_id=${upper(device)}`, { token: me.token });
    expect(pulled.status).toBe(200);
  });

  test("sync: a clock key written in both cases with a counter that is not a positive integer is rejected, whichever comes first", async () => {
    // Found by reading lowerKeys (src/ids.ts): the two spellings were folded into the larger number, so
    // `0`, `2.5` or `"x"` beside a valid counter went unseen and the change was applied.
    const device = me.deviceId!;
    for (const bad of [0, 2.5, "x"]) {
      for (const upperFirst of [true, false]) {
        const clock = upperFirst ? { [upper(device)]: bad, [device]: 1 } : { [device]: 1, [upper(device)]: bad };
        const change = { change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create", data: { title: "t" }, vector_clock: clock };
        const r = await t.request("POST", "/api/sync/push", { token: me.token, body: { device_id: device, changes: [change] } });
        expect(r.status).toBe(200);
        expect(r.body.results[0]).toMatchObject({ status: "rejected", error: { code: "invalid_clock" } });
      }
    }
  });

  test("a value that is not a UUID is left for validation to refuse", async () => {
    const r = await t.request("POST", "/api/tasks", { token: me.token, body: { id: "NOT-A-UUID", title: "x" } });
    expect(r.status).toBe(422);
    expect(r.body.error.details.fields).toHaveProperty("id");
  });
});
