import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { type Change, Device, taskData, twoDevices } from "./helpers";

/**
 * A create the server stores with a clock of its own (`serverWrite` of the device's: a task put in a
 * project deleted concurrently, a reply to a comment deleted concurrently, a comment on a task deleted
 * concurrently) is concurrent with the device's own later edits built on it before the answer came
 * (their clocks lack the `server` entry, and the device knows no server version of the record yet).
 * Those edits are based on what the device created: they apply (merged over what the server made of
 * the create), never conflict with the device's own create (found by review).
 */
forEachDialect("a device's own edits of a create the server stored with its own clock", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  /** The device's next edit of a record it created offline: its own counter one more, no base_version (it knows no server version yet). */
  const ownEdit = (a: Device, create: Change, data: Record<string, unknown>): Change => ({
    change_id: crypto.randomUUID(), entity: create.entity, entity_id: create.entity_id, op: "update", data,
    vector_clock: { [a.id]: create.vector_clock[a.id] + 1 },
  });

  /** The device's delete of a record it created offline, with its own counter `counter`, no base_version. */
  const ownDelete = (a: Device, create: Change, counter: number): Change => ({
    change_id: crypto.randomUUID(), entity: create.entity, entity_id: create.entity_id, op: "delete", vector_clock: { [a.id]: counter },
  });

  /** A project of `a`'s, deleted by `b`; `a`'s offline create of a task in it and an edit of that task's title, not pushed. */
  async function taskInDeletedProject() {
    const { a, b } = await twoDevices(t);
    const p = a.create("project", { name: "gone" });
    b.learn(p.entity_id, (await a.push1(p)).record);
    expect((await b.push1(b.delete("project", p.entity_id))).status).toBe("applied");
    const create = a.create("task", taskData({ title: "plan", project_id: p.entity_id, priority: "medium" }));
    const edit = ownEdit(a, create, { title: "plan it", priority: "low" });
    return { a, create, edit };
  }

  /** A task with a comment of `a`'s, deleted by `b`; `a`'s offline reply to it and an edit of the reply's body, not pushed. */
  async function replyToDeletedComment() {
    const { a, b } = await twoDevices(t);
    const task = a.create("task", taskData());
    const parent = a.create("comment", { task_id: task.entity_id, body: "parent" });
    for (const r of await a.push(task, parent)) b.learn(r.entity_id!, r.record);
    // The parent's author deletes it from another of its devices (a comment is its author's to delete).
    const a2 = await Device.another(t, a.user);
    a2.learn(parent.entity_id, a.known.get(parent.entity_id)!.record);
    expect((await a2.push1(a2.delete("comment", parent.entity_id))).status).toBe("applied");
    const create = a.create("comment", { task_id: task.entity_id, parent_id: parent.entity_id, body: "first draft" });
    const edit = ownEdit(a, create, { body: "second draft" });
    return { a, create, edit };
  }

  const cases: [string, () => Promise<{ a: Device; create: Change; edit: Change }>, string, Record<string, unknown>][] = [
    ["a task put in a project deleted concurrently", taskInDeletedProject, "project_id", { title: "plan it", priority: "low", project_id: null }],
    ["a reply to a comment deleted concurrently", replyToDeletedComment, "parent_id", { body: "second draft", parent_id: null }],
  ];

  for (const [what, setup, field, expected] of cases) {
    test(`${what}: the device's edit pushed with its create is merged into it, not a conflict with itself`, async () => {
      const { a, create, edit } = await setup();
      const [rc, re] = await a.push(create, edit);
      expect([rc.status, rc.vector_clock?.server]).toEqual(["conflict", 1]);
      expect((await t.request("GET", `/api/sync/conflicts/${rc.conflict_id}`, { token: a.user.token })).body.fields).toEqual([field]);
      expect(re.status).toBe("merged");
      expect(re.record).toMatchObject(expected);
    });

    test(`${what}: the device's edit pushed after its create (built before the answer) is merged into it, not a conflict with itself`, async () => {
      const { a, create, edit } = await setup();
      expect((await a.push1(create)).status).toBe("conflict");
      const re = await a.push1(edit);
      expect(re.status).toBe("merged");
      expect(re.record).toMatchObject(expected);
    });

    test(`${what}: the device's edit sent with base_version 1 (its create's) is merged into it too`, async () => {
      const { a, create, edit } = await setup();
      const [rc, re] = await a.push(create, { ...edit, base_version: 1 });
      expect(rc.status).toBe("conflict");
      expect(re.status).toBe("merged");
      expect(re.record).toMatchObject(expected);
    });
  }

  test("a comment on a task deleted concurrently: the device's edit is merged into the tombstone, a conflict about the deletion only", async () => {
    const { a, b } = await twoDevices(t);
    const task = a.create("task", taskData());
    b.learn(task.entity_id, (await a.push1(task)).record);
    expect((await b.push1(b.delete("task", task.entity_id))).status).toBe("applied");
    const create = a.create("comment", { task_id: task.entity_id, body: "first draft" });
    const [rc, re] = await a.push(create, ownEdit(a, create, { body: "second draft" }));
    expect(rc.status).toBe("conflict");
    expect(re.status).toBe("conflict");
    expect((await t.request("GET", `/api/sync/conflicts/${re.conflict_id}`, { token: a.user.token })).body.fields).toEqual(["deleted_at"]);
    expect(re.record).toMatchObject({ body: "second draft" });
    expect(re.record.deleted_at).not.toBeNull();
  });

  test("another device edited the create since: the device's queued edit is merged three-way against its create, read from history", async () => {
    const { a, create, edit } = await taskInDeletedProject();
    const [rc] = await a.push(create);
    const other = await Device.another(t, a.user, "third");
    other.learn(create.entity_id, rc.record);
    expect((await other.push1(other.update("task", create.entity_id, { priority: "high", status: "blocked" }))).status).toBe("applied");
    const re = await a.push1(edit); // title and priority (low): the other device's higher priority wins
    expect(re.status).toBe("merged");
    expect(re.record).toMatchObject({ title: "plan it", priority: "high", status: "blocked", project_id: null });
  });

  test("the device's delete of its create, sent with it: the record is deleted, no conflict with the device's own create", async () => {
    const { a, create } = await taskInDeletedProject();
    const [rc, rd] = await a.push(create, ownDelete(a, create, 2));
    expect(rc.status).toBe("conflict");
    expect([rd.status, rd.conflict_id ?? null, rd.record.deleted_at !== null]).toEqual(["merged", null, true]);
  });

  test("the device's edit and then delete of its create, sent with it: the record is deleted, no conflict with the device's own edits", async () => {
    const { a, create, edit } = await taskInDeletedProject();
    const [rc, re, rd] = await a.push(create, edit, ownDelete(a, create, 3));
    expect([rc.status, re.status]).toEqual(["conflict", "merged"]);
    expect([rd.status, rd.conflict_id ?? null, rd.record.deleted_at !== null]).toEqual(["merged", null, true]);
  });

  test("the device's delete of its create still conflicts with another device's concurrent edit of it, which the Conflict keeps", async () => {
    const { a, create } = await taskInDeletedProject();
    const [rc] = await a.push(create);
    const other = await Device.another(t, a.user, "third");
    other.learn(create.entity_id, rc.record);
    expect((await other.push1(other.update("task", create.entity_id, { title: "theirs" }))).status).toBe("applied");
    const rd = await a.push1(ownDelete(a, create, 2));
    expect([rd.status, rd.record.deleted_at !== null]).toEqual(["conflict", true]);
    expect((await t.request("GET", `/api/sync/conflicts/${rd.conflict_id}`, { token: a.user.token })).body.remote).toMatchObject({ title: "theirs" });
  });

  test("an edit without base_version by a device that did not create the record still has no base: what both sides changed differently is a conflict", async () => {
    const { a, b } = await twoDevices(t);
    const create = a.create("task", taskData({ title: "plan" }));
    b.learn(create.entity_id, (await a.push1(create)).record);
    expect((await a.push1(a.update("task", create.entity_id, { title: "plan A" }))).status).toBe("applied");
    const edit = { ...b.update("task", create.entity_id, { title: "plan B" }), base_version: undefined };
    const r = await b.push1(edit);
    expect([r.status, r.record.title]).toEqual(["conflict", "plan A"]);
  });
});
