/**
 * Required human text made only of whitespace (a project's name, a task's title, a comment's body,
 * a device's name) is refused, never trimmed: 422 `validation_failed` naming the field over REST
 * (create and PATCH), `rejected` with the same error for a pushed change while the rest of its batch
 * is applied. A merge that would leave such a field blank is a conflict (neither side wrote it), and
 * a conflict on a record stored blank before the rule can still be resolved.
 */
import { beforeAll, expect, test } from "bun:test";
import { BLANK_REASON } from "../../src/wire/text";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData, twoDevices } from "../sync/helpers";
import { countRows } from "./fixture";

/** Whitespace of several kinds: spaces, tab, line breaks, no-break space, ideographic space. */
const BLANKS = [" ", "   ", "\t\n", "\r\n ", "\u00a0", "\u3000\u2003"];

forEachDialect("blank required text", ({ db }) => {
  let t: TestApp;
  let me: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    me = await t.createUser();
  });
  const req = (method: string, path: string, body?: unknown) => t.request(method, path, { token: me.token, body });
  const expectBlank = (r: { status: number; body: any }, field: string, what: string) => {
    expect(`${what} ${r.status}`).toBe(`${what} 422`);
    expect(r.body.error.code).toBe("validation_failed");
    expect(r.body.error.details.fields).toEqual({ [field]: BLANK_REASON });
  };

  test("a blank tag is refused like blank required text: REST create and PATCH 422, a pushed change rejected", async () => {
    const task = (await req("POST", "/api/tasks", { title: "t", tags: ["kept"] })).body;
    for (const blank of BLANKS) {
      const what = JSON.stringify(blank);
      const created = await req("POST", "/api/tasks", { title: "t", tags: ["ok", blank] });
      expect(`${what} ${created.status} ${created.body.error?.code}`).toBe(`${what} 422 validation_failed`);
      expect(Object.keys(created.body.error.details.fields)).toEqual(["tags.1"]);
      const patched = await req("PATCH", `/api/tasks/${task.id}`, { tags: [blank] });
      expect(`${what} ${patched.status}`).toBe(`${what} 422`);
    }
    expect((await req("GET", `/api/tasks/${task.id}`)).body).toMatchObject({ tags: ["kept"], version: 1 });
    const d = Device.of(t, me);
    const [r] = await d.push(d.create("task", taskData({ tags: [" "] })));
    expect([r.status, r.error?.code]).toEqual(["rejected", "validation_failed"]);
    expect(r.error?.details?.fields).toEqual({ "tags.0": BLANK_REASON }); // named as a REST body names it
  });

  test("REST create: a blank name, title, body or device name is 422 naming the field, and nothing is written", async () => {
    const task = (await req("POST", "/api/tasks", { title: "t" })).body;
    const rows = async () => Promise.all((["projects", "tasks", "comments"] as const).map((table) => countRows(db(), table, me.org.id)));
    const before = await rows();
    const devices = (await req("GET", "/api/devices")).body.count;
    for (const blank of BLANKS) {
      const what = JSON.stringify(blank);
      expectBlank(await req("POST", "/api/projects", { name: blank }), "name", `project ${what}`);
      expectBlank(await req("POST", "/api/tasks", { title: blank, description: "the description may be blank" }), "title", `task ${what}`);
      expectBlank(await req("POST", "/api/comments", { task_id: task.id, body: blank }), "body", `comment ${what}`);
      expectBlank(await req("POST", "/api/devices", { name: blank }), "name", `device ${what}`);
    }
    expect(await rows()).toEqual(before);
    expect((await req("GET", "/api/devices")).body.count).toBe(devices);
    const schema = (await t.request("GET", "/api/schema")).body;
    expect(schema.paths["/api/tasks"].post.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/TaskCreate" });
    expect(schema.components.schemas.TaskCreate.properties.title).toMatchObject({ minLength: 1, pattern: "\\S" });
  });

  test("REST PATCH: a blank name, title or body is 422 naming the field, and the record is unchanged", async () => {
    const project = (await req("POST", "/api/projects", { name: "P" })).body;
    const task = (await req("POST", "/api/tasks", { title: "T" })).body;
    const comment = (await req("POST", "/api/comments", { task_id: task.id, body: "B" })).body;
    for (const blank of BLANKS) {
      const what = JSON.stringify(blank);
      expectBlank(await req("PATCH", `/api/projects/${project.id}`, { name: blank }), "name", `project ${what}`);
      expectBlank(await req("PATCH", `/api/tasks/${task.id}`, { title: blank, priority: "high" }), "title", `task ${what}`);
      expectBlank(await req("PATCH", `/api/comments/${comment.id}`, { body: blank }), "body", `comment ${what}`);
    }
    expect((await req("GET", `/api/projects/${project.id}`)).body).toEqual(project);
    expect((await req("GET", `/api/tasks/${task.id}`)).body).toEqual(task);
    expect((await req("GET", `/api/comments/${comment.id}`)).body).toEqual(comment);
  });

  test("text around which there is whitespace is stored exactly as sent (never trimmed); optional text may be blank", async () => {
    const task = await req("POST", "/api/tasks", { title: "  Write the docs\n", description: "   " });
    expect(task.status).toBe(201);
    expect(task.body).toMatchObject({ title: "  Write the docs\n", description: "   " });
    const project = await req("POST", "/api/projects", { name: "\tLaunch " });
    expect(project.body.name).toBe("\tLaunch ");
    const comment = await req("POST", "/api/comments", { task_id: task.body.id, body: " ok " });
    expect(comment.body.body).toBe(" ok ");
  });

  test("sync push: a change setting a blank required field is rejected validation_failed; the other changes of the batch are applied", async () => {
    const d = Device.of(t, me);
    const task = d.create("task", taskData({ title: "kept" }));
    expect((await d.push1(task)).status).toBe("applied");
    const good = d.create("project", { name: "fine" });
    const blankProject = d.create("project", { name: "  " });
    const blankTitle = d.update("task", task.entity_id, { title: "\t", priority: "urgent" });
    const blankBody = d.create("comment", { task_id: task.entity_id, body: "\n" });
    const alsoGood = d.update("task", task.entity_id, { priority: "high" });
    const results = await d.push(good, blankProject, blankTitle, blankBody, alsoGood);
    expect(results.map((r) => r.status)).toEqual(["applied", "rejected", "rejected", "rejected", "applied"]);
    expect(results[1].error).toEqual({ code: "validation_failed", message: "invalid name", details: { fields: { name: BLANK_REASON } } });
    expect(results[2].error).toMatchObject({ code: "validation_failed", details: { fields: { title: BLANK_REASON } } });
    expect(results[3].error).toMatchObject({ code: "validation_failed", details: { fields: { body: BLANK_REASON } } });
    const stored = (await req("GET", `/api/tasks/${task.entity_id}`)).body;
    expect(stored).toMatchObject({ title: "kept", priority: "high", version: 2 });
    expect((await req("GET", `/api/projects/${blankProject.entity_id}`)).status).toBe(404);
    expect((await req("GET", `/api/comments/${blankBody.entity_id}`)).status).toBe(404);
  });

  test("sync merge: two concurrent edits that together would leave a title blank are a conflict on title (the server's kept), not a rejection", async () => {
    const { a, b } = await twoDevices(t);
    const c = a.create("task", taskData({ title: "Buy milk" }));
    b.learn(c.entity_id, (await a.push1(c)).record);
    expect((await a.push1(a.update("task", c.entity_id, { title: "Buy " }))).status).toBe("applied");
    // Word by word the edits do not touch: "Buy" removed on one side, "milk" on the other.
    const r = await b.push1(b.update("task", c.entity_id, { title: " milk", priority: "high" }));
    expect(r.status).toBe("conflict");
    expect(r.record).toMatchObject({ title: "Buy ", priority: "high" });
    const conflict = await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: b.user.token });
    expect(conflict.body).toMatchObject({ fields: ["title"], local: { title: " milk", priority: "high" }, remote: { title: "Buy " } });
    const resolved = await t.request("POST", `/api/sync/conflicts/${r.conflict_id}/resolve`, { token: b.user.token, body: { resolution: "local" } });
    expect(resolved.status).toBe(200);
    expect(resolved.body.title).toBe(" milk");
  });

  test("a conflict on a record stored with a blank title before the rule is resolved remote (nothing new written to the title)", async () => {
    const { a, b } = await twoDevices(t);
    const c = a.create("task", taskData({ title: "base" }));
    b.learn(c.entity_id, (await a.push1(c)).record);
    const edited = await t.request("PATCH", `/api/tasks/${c.entity_id}`, { token: a.user.token, body: { description: "edited" } });
    expect(edited.status).toBe(200);
    await db().run("UPDATE tasks SET title = ? WHERE id = ?", ["   ", c.entity_id]); // as an older version could store it
    const r = await b.push1(b.update("task", c.entity_id, { title: "mine" }));
    expect(r.status).toBe("conflict");
    const remote = await t.request("POST", `/api/sync/conflicts/${r.conflict_id}/resolve`, { token: b.user.token, body: { resolution: "remote" } });
    expect(remote.status).toBe(200);
    expect(remote.body).toMatchObject({ title: "   ", description: "edited", version: edited.body.version + 2 });
    // Writing a blank title anew stays refused.
    expectBlank(await t.request("PATCH", `/api/tasks/${c.entity_id}`, { token: a.user.token, body: { title: " " } }), "title", "PATCH");
  });
});
