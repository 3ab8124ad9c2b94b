import { beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { MAX_PUSH_MERGE_WORK, MAX_TEXT_MERGE_WORK } from "../../src/sync/text-merge";
import { count, forEachDialect } from "../support/db";
import { cheapMerge, costlyMerges, Device, type Result, taskData, twoDevices } from "./helpers";

/**
 * CONCURRENT edits through push: device A creates a task, B learns it, then both edit it from
 * version 1 without seeing each other's edit. `race` pushes A's edit first, then B's.
 */
forEachDialect("sync merges through push", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  async function shared(initial: Record<string, unknown>): Promise<{ a: Device; b: Device; id: string }> {
    const { a, b } = await twoDevices(t);
    const c = a.create("task", taskData(initial));
    b.learn(c.entity_id, (await a.push1(c)).record);
    return { a, b, id: c.entity_id };
  }

  /** A's edit then B's, both from version 1: B's answer, and the stored record. */
  async function race(initial: Record<string, unknown>, editA: Record<string, unknown>, editB: Record<string, unknown>) {
    const { a, b, id } = await shared(initial);
    const ra = await a.push1(a.update("task", id, editA));
    expect(ra.status).toBe("applied");
    const rb = await b.push1(b.update("task", id, editB));
    return { a, b, id, ra, rb };
  }

  const CASES: [string, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>][] = [
    ["fields only one side changed are both kept", { title: "T" }, { priority: "high" }, { status: "blocked" }, { priority: "high", status: "blocked" }],
    ["priority: the higher wins", {}, { priority: "urgent" }, { priority: "high" }, { priority: "urgent" }],
    ["tags: three-way set merge", { tags: ["a", "b"] }, { tags: ["a", "b", "c"] }, { tags: ["b"] }, { tags: ["b", "c"] }],
    ["due date: the earlier wins", { due_date: "2026-05-01" }, { due_date: "2026-06-01" }, { due_date: "2026-04-15" }, { due_date: "2026-04-15" }],
    ["status: the fixed precedence (done beats in_progress)", {}, { status: "done" }, { status: "in_progress" }, { status: "done" }],
    ["text: edits of different lines both survive", { description: "one\ntwo\nthree" }, { description: "ONE\ntwo\nthree" }, { description: "one\ntwo\nTHREE" }, { description: "ONE\ntwo\nTHREE" }],
  ];

  for (const [name, initial, editA, editB, expected] of CASES) {
    test(`${name} → merged, in either order`, async () => {
      const one = await race(initial, editA, editB);
      const two = await race(initial, editB, editA);
      for (const { rb } of [one, two]) {
        expect(rb.status).toBe("merged");
        expect(rb.record).toMatchObject(expected);
        expect(rb.version).toBe(3);
        expect(rb.conflict_id).toBeUndefined();
      }
      // the same values whichever edit arrived first
      const fields = (r: Result) => ({ ...r.record, id: null, created_at: null, updated_at: null, vector_clock: null, created_by: null });
      expect(fields(one.rb)).toEqual(fields(two.rb));
      // the clock dominates both edits: entry-wise max with `server` incremented
      expect(one.rb.vector_clock).toEqual({ [one.a.id]: 2, [one.b.id]: 1, server: 1 });
      const history = await t.request("GET", `/api/tasks/${one.id}/history`, { token: one.a.user.token });
      expect(history.body.results.map((h: any) => h.action)).toEqual(["created", "updated", "merged"]);
    });
  }

  test("one push's text merges share a work budget: once spent, a text that needs a diff is a conflict, though the same edit alone merges", async () => {
    // Texts that are costly to diff: each merge spends its whole share, and these spend the push's budget.
    const { a, b } = await twoDevices(t);
    const heavy = await costlyMerges(a, b, MAX_PUSH_MERGE_WORK / MAX_TEXT_MERGE_WORK);
    // Two twin tasks, each edited concurrently on different lines: a merge that costs little.
    const inBatch = await cheapMerge(a, b);
    const alone = await cheapMerge(a, b);

    const results = await b.push(...heavy, inBatch);
    expect(results.every((r) => r.status === "conflict")).toBe(true);
    expect(results).toHaveLength(heavy.length + 1);
    const c = await t.request("GET", `/api/sync/conflicts/${results.at(-1)!.conflict_id}`, { token: b.user.token });
    expect(c.body.fields).toEqual(["description"]);
    expect(results.at(-1)!.record).toMatchObject({ description: "ONE\ntwo\nthree" });

    const solo = await b.push1(alone);
    expect(solo.status).toBe("merged");
    expect(solo.record).toMatchObject({ description: "ONE\ntwo\nTHREE" });
  });

  test("text: overlapping edits are a conflict; the server keeps its text, merges the rest and records a Conflict", async () => {
    const { id, rb, b } = await race({ title: "Buy milk" }, { title: "Buy oat milk" }, { title: "Buy soy milk", priority: "low" });
    expect(rb.status).toBe("conflict");
    expect(rb.record).toMatchObject({ title: "Buy oat milk", priority: "low", version: 3 });
    expect(typeof rb.conflict_id).toBe("string");
    const c = await t.request("GET", `/api/sync/conflicts/${rb.conflict_id}`, { token: b.user.token });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({
      id: rb.conflict_id,
      entity: "task",
      entity_id: id,
      fields: ["title"],
      local: { title: "Buy soy milk", priority: "low" },
      remote: { title: "Buy oat milk", priority: "medium", deleted_at: null },
      base: { title: "Buy milk", deleted_at: null },
      device_id: b.id,
      user_id: b.user.user.id,
      resolved_at: null,
      resolution: null,
      resolved_by: null,
    });
  });

  test("due date: one side clearing it while the other sets it is a conflict", async () => {
    const { rb } = await race({ due_date: "2026-05-01" }, { due_date: null }, { due_date: "2026-04-01" });
    expect(rb.status).toBe("conflict");
    expect(rb.record.due_date).toBeNull();
  });

  test("without a known base (no base_version) every field both changed differently is a conflict", async () => {
    const { a, b, id } = await shared({});
    await a.push1(a.update("task", id, { priority: "high" }));
    const noBase = { ...b.update("task", id, { priority: "low" }), base_version: undefined };
    const r = await b.push1(noBase);
    expect(r.status).toBe("conflict");
    expect(r.record.priority).toBe("high");
  });

  describe("update vs delete", () => {
    test("delete first, then a concurrent update: the record stays deleted, the updater gets conflict, the Conflict keeps the update", async () => {
      const { a, b, id } = await shared({ title: "T" });
      expect((await a.push1(a.delete("task", id))).status).toBe("applied");
      const r = await b.push1(b.update("task", id, { title: "T edited" }));
      expect(r.status).toBe("conflict");
      expect(typeof r.record.deleted_at).toBe("string");
      // The update is merged into the tombstone, as it is when it comes first (the next test).
      expect(r.record.title).toBe("T edited");
      expect(r.vector_clock).toEqual({ [a.id]: 2, [b.id]: 1, server: 1 });
      const c = await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: b.user.token });
      expect(c.body.fields).toEqual(["deleted_at"]);
      expect(c.body.local).toEqual({ title: "T edited", deleted_at: null });
      expect(c.body.remote).toMatchObject({ title: "T", deleted_at: expect.any(String) });
      expect((await t.request("GET", `/api/tasks/${id}`, { token: b.user.token })).status).toBe(404);
    });

    test("an update and a concurrent delete end with the same record and clock in either order (the tombstone holds the update)", async () => {
      const end = async (updateFirst: boolean) => {
        const { a, b, id } = await shared({ title: "T", description: "d", priority: "low", tags: ["x"] });
        const update = () => a.push1(a.update("task", id, { title: "T edited", priority: "high", tags: ["x", "y"] }));
        const remove = () => b.push1(b.delete("task", id));
        const results = updateFirst ? [await update(), await remove()] : [await remove(), await update()];
        expect(results.map((x) => x.status)).toEqual(["applied", "conflict"]);
        const last = results[1]!;
        const clock = Object.fromEntries(Object.entries(last.vector_clock!).map(([k, n]) => [k === a.id ? "a" : k === b.id ? "b" : k, n]));
        const { title, description, priority, tags, deleted_at } = last.record;
        return { title, description, priority, tags, deleted: deleted_at !== null, clock };
      };
      const updateFirst = await end(true);
      expect(updateFirst).toEqual({ title: "T edited", description: "d", priority: "high", tags: ["x", "y"], deleted: true, clock: { a: 2, b: 1, server: 1 } });
      expect(await end(false)).toEqual(updateFirst);
    });

    test("update first, then a concurrent delete: the record ends deleted, the deleter gets conflict, the Conflict keeps the update", async () => {
      const { a, b, id } = await shared({ title: "T" });
      expect((await a.push1(a.update("task", id, { title: "T edited" }))).status).toBe("applied");
      const r = await b.push1(b.delete("task", id));
      expect(r.status).toBe("conflict");
      expect(r.record).toMatchObject({ deleted_at: expect.any(String), title: "T edited", version: 3 });
      const c = await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: a.user.token });
      expect(c.body.fields).toEqual(["deleted_at"]);
      expect(c.body.remote).toMatchObject({ title: "T edited", deleted_at: null });
      expect(typeof c.body.local.deleted_at).toBe("string");
    });

    test("a concurrent delete whose base is unknown (no base_version, another device's record): conflict, the Conflict keeps the update", async () => {
      const { a, b, id } = await shared({ title: "T" });
      expect((await a.push1(a.update("task", id, { title: "T edited" }))).status).toBe("applied");
      const r = await b.push1({ ...b.delete("task", id), base_version: undefined });
      expect(r.status).toBe("conflict");
      expect(r.record).toMatchObject({ deleted_at: expect.any(String), title: "T edited" });
      const c = await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: a.user.token });
      expect(c.body).toMatchObject({ fields: ["deleted_at"], remote: { title: "T edited", deleted_at: null } });
      expect(c.body.base).toEqual({}); // unknown
    });

    test("two concurrent deletes agree: merged, still deleted, no Conflict", async () => {
      const { a, b, id } = await shared({});
      await a.push1(a.delete("task", id));
      const r = await b.push1(b.delete("task", id));
      expect(r.status).toBe("merged");
      expect(typeof r.record.deleted_at).toBe("string");
      expect(r.conflict_id).toBeUndefined();
    });
    test("a delete of a tombstone the device already knows (its clock AFTER it) is applied as pushed: its clock, no Conflict", async () => {
      const { a, b, id } = await shared({});
      const del = await a.push1(a.delete("task", id));
      b.learn(id, del.record);
      const again = b.delete("task", id);
      const r = await b.push1(again);
      expect([r.status, r.conflict_id]).toEqual(["applied", undefined]);
      expect(r.vector_clock).toEqual(again.vector_clock);
      expect(r.record).toMatchObject({ deleted_at: expect.any(String), version: del.record.version + 1 });
    });

    test("a tombstone rewritten by another user's concurrent change (a delete, an update) keeps who deleted it and when", async () => {
      const { a, b, id } = await shared({ title: "T" });
      const del = await a.push1(a.delete("task", id));
      const deletion = { deleted_at: del.record.deleted_at, deleted_by: a.user.user.id };
      expect(del.record).toMatchObject(deletion);
      const b2 = await Device.another(t, b.user);
      b2.learn(id, b.known.get(id)!.record);
      const agreed = await b.push1(b.delete("task", id));
      expect(agreed.status).toBe("merged");
      expect(agreed.record).toMatchObject(deletion);
      const updated = await b2.push1(b2.update("task", id, { title: "T edited" }));
      expect(updated.status).toBe("conflict");
      expect(updated.record).toMatchObject({ ...deletion, title: "T edited" });
    });
  });

  describe("children of deleted records", () => {
    test("a comment created on a task deleted concurrently: conflict, stored as a tombstone, the Conflict keeps it", async () => {
      const { a, b, id } = await shared({});
      await a.push1(a.delete("task", id));
      const comment = b.create("comment", { task_id: id, body: "my thoughts" });
      const r = await b.push1(comment);
      expect(r.status).toBe("conflict");
      expect(r.record).toMatchObject({ id: comment.entity_id, body: "my thoughts", task_id: id, version: 1 });
      expect(typeof r.record.deleted_at).toBe("string");
      expect(r.vector_clock).toEqual({ [b.id]: 1, server: 1 });
      const c = await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: b.user.token });
      expect(c.body).toMatchObject({ entity: "comment", fields: ["deleted_at"], local: { body: "my thoughts", deleted_at: null } });
    });

    test("an update of a comment whose task was deleted concurrently: conflict, not applied", async () => {
      const { a, b, id } = await shared({});
      const comment = a.create("comment", { task_id: id, body: "first" });
      // The author's other device edits the comment (only its author may).
      const a2 = await Device.another(t, a.user);
      a2.learn(comment.entity_id, (await a.push1(comment)).record);
      await b.push1(b.delete("task", id));
      const r = await a2.push1(a2.update("comment", comment.entity_id, { body: "second" }));
      expect(r.status).toBe("conflict");
      expect(r.record.body).toBe("first");
      expect((await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: a2.user.token })).body.local).toEqual({ body: "second" });
    });

    test("a task created in a project deleted concurrently: conflict, created without the project", async () => {
      const { a, b } = await twoDevices(t);
      const p = a.create("project", { name: "P" });
      b.learn(p.entity_id, (await a.push1(p)).record);
      await a.push1(a.delete("project", p.entity_id));
      const r = await b.push1(b.create("task", taskData({ project_id: p.entity_id, title: "kept" })));
      expect(r.status).toBe("conflict");
      expect(r.record).toMatchObject({ title: "kept", project_id: null, deleted_at: null });
      const c = await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: b.user.token });
      expect(c.body).toMatchObject({ fields: ["project_id"], local: { project_id: p.entity_id } });
    });

    test("an update meeting a tombstone: its references are checked as on a live record (a deleted project is not applied, another organization's is refused)", async () => {
      const { a, b, id } = await shared({ title: "T" });
      const gone = a.create("project", { name: "gone" });
      b.learn(gone.entity_id, (await a.push1(gone)).record);
      await a.push1(a.delete("project", gone.entity_id));
      await a.push1(a.delete("task", id));
      const r = await b.push1(b.update("task", id, { title: "T edited", project_id: gone.entity_id }));
      expect(r.status).toBe("conflict");
      expect(r.record).toMatchObject({ title: "T edited", project_id: null, deleted_at: expect.any(String) });
      expect((await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: b.user.token })).body.fields).toEqual(["deleted_at", "project_id"]);

      const stranger = await twoDevices(t);
      const foreign = stranger.a.create("project", { name: "elsewhere" });
      await stranger.a.push1(foreign);
      const refused = await b.push1(b.update("task", id, { title: "again", project_id: foreign.entity_id }));
      expect(refused.status).toBe("rejected");
      expect(refused.error).toMatchObject({ code: "validation_failed", details: { fields: { project_id: "no such project" } } });
    });

    test("an update that repeats a task's project, deleted since, is no conflict: only a reference the change sets anew can dangle", async () => {
      // Clients that send the whole record name the project the task already has; its deletion is not theirs to answer for.
      const { a, b } = await twoDevices(t);
      const p = a.create("project", { name: "P" });
      await a.push1(p);
      const task = a.create("task", taskData({ title: "T", project_id: p.entity_id }));
      b.learn(task.entity_id, (await a.push1(task)).record);
      await a.push1(a.delete("project", p.entity_id));
      // AFTER the record: applied as pushed, the project kept.
      const applied = await b.push1(b.update("task", task.entity_id, { title: "T2", project_id: p.entity_id }));
      expect([applied.status, applied.conflict_id]).toEqual(["applied", undefined]);
      expect(applied.record).toMatchObject({ title: "T2", project_id: p.entity_id });
      // CONCURRENT with another edit: merged, no Conflict about the unchanged project.
      a.learn(task.entity_id, applied.record);
      await a.push1(a.update("task", task.entity_id, { priority: "high" }));
      const merged = await b.push1(b.update("task", task.entity_id, { title: "T3", project_id: p.entity_id }));
      expect([merged.status, merged.conflict_id]).toEqual(["merged", undefined]);
      expect(merged.record).toMatchObject({ title: "T3", priority: "high", project_id: p.entity_id });
    });

    test("a reply to a comment deleted concurrently: conflict, created as a top-level comment", async () => {
      const { a, b, id } = await shared({});
      const parent = a.create("comment", { task_id: id, body: "parent" });
      b.learn(parent.entity_id, (await a.push1(parent)).record);
      await a.push1(a.delete("comment", parent.entity_id));
      const r = await b.push1(b.create("comment", { task_id: id, parent_id: parent.entity_id, body: "reply" }));
      expect(r.status).toBe("conflict");
      expect(r.record).toMatchObject({ parent_id: null, body: "reply", deleted_at: null });
    });

    test("an update that moves a comment under a deleted comment is refused like any move, not a conflict to resolve later", async () => {
      const { a, b, id } = await shared({});
      const top = b.create("comment", { task_id: id, body: "top level" });
      const gone = a.create("comment", { task_id: id, body: "deleted" });
      await b.push1(top);
      await a.push1(gone);
      await a.push1(a.delete("comment", gone.entity_id));
      const moved = await b.push1(b.update("comment", top.entity_id, { parent_id: gone.entity_id }));
      expect([moved.status, moved.error?.details?.fields]).toEqual(["rejected", { parent_id: "a comment cannot move in its thread" }]);
    });

    test("a concurrent update that moves a comment, its base unknown, is refused like any move: no Conflict whose local side would move it", async () => {
      const { a, b, id } = await shared({});
      const other = a.create("comment", { task_id: id, body: "another thread" });
      await a.push1(other);
      const top = b.create("comment", { task_id: id, body: "top level" });
      const made = (await b.push1(top)).record;
      const b2 = await Device.another(t, b.user);
      b2.learn(top.entity_id, made);
      await b.push1(b.update("comment", top.entity_id, { body: "top level, edited" }));
      for (const base_version of [undefined, 99]) {
        const moved = await b2.push1({ ...b2.update("comment", top.entity_id, { parent_id: other.entity_id }), base_version });
        expect([moved.status, moved.error?.details?.fields]).toEqual(["rejected", { parent_id: "a comment cannot move in its thread" }]);
      }
      const open = await t.request("GET", "/api/sync/conflicts", { token: b.user.token });
      expect(open.body.results.filter((c: any) => c.entity_id === top.entity_id)).toEqual([]);
    });

    test("that reply's conflict resolved local: refused while the parent is deleted, then puts the reply back under its parent", async () => {
      const { a, b, id } = await shared({});
      const parent = a.create("comment", { task_id: id, body: "parent" });
      const created = (await a.push1(parent)).record;
      const a2 = await Device.another(t, a.user);
      b.learn(parent.entity_id, created);
      a2.learn(parent.entity_id, created);
      await a.push1(a.delete("comment", parent.entity_id));
      const replyChange = b.create("comment", { task_id: id, parent_id: parent.entity_id, body: "reply" });
      const reply = await b.push1(replyChange);
      expect(reply.status).toBe("conflict");
      const resolve = (token: string, conflictId: string, body: unknown) => t.request("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token, body });

      const early = await resolve(b.user.token, reply.conflict_id!, { resolution: "local" });
      expect([early.status, early.body.error.details.fields]).toEqual([422, { parent_id: "no such comment on this task" }]);
      // Not under another comment of the task, though: only back under the parent it was pushed with.
      const other = a.create("comment", { task_id: id, body: "another thread" });
      await a.push1(other);
      const elsewhere = await resolve(b.user.token, reply.conflict_id!, { resolution: "custom", data: { parent_id: other.entity_id } });
      expect([elsewhere.status, elsewhere.body.error.details.fields]).toEqual([422, { parent_id: "a comment cannot move in its thread" }]);
      // The parent's author brings it back (an offline edit of it, concurrent with its deletion, resolved local).
      const edit = await a2.push1(a2.update("comment", parent.entity_id, { body: "parent, edited" }));
      expect(edit.status).toBe("conflict");
      expect((await resolve(a.user.token, edit.conflict_id!, { resolution: "local" })).body).toMatchObject({ deleted_at: null });

      const local = await resolve(b.user.token, reply.conflict_id!, { resolution: "local" });
      expect([local.status, local.body.parent_id, local.body.body]).toEqual([200, parent.entity_id, "reply"]);
      // Only a parent_id conflict reattaches: a plain edit still cannot move the reply.
      b.learn(replyChange.entity_id, local.body);
      const moved = await b.push1(b.update("comment", replyChange.entity_id, { parent_id: null }));
      expect([moved.status, moved.error?.details?.fields]).toEqual(["rejected", { parent_id: "a comment cannot move in its thread" }]);
    });
  });

  test("merged and conflict results are written once each with feed origin none; applied ones with the device", async () => {
    const { a, b, id } = await shared({});
    await a.push1(a.update("task", id, { priority: "high" }));
    expect((await t.deps.db.get<{ o: string }>("SELECT pushed_by_device AS o FROM feed WHERE entity_id = ?", [id]))?.o).toBe(a.id);
    await b.push1(b.update("task", id, { status: "done" }));
    expect((await t.deps.db.get<{ o: string | null }>("SELECT pushed_by_device AS o FROM feed WHERE entity_id = ?", [id]))?.o).toBeNull();
    expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM history WHERE entity_id = ?", [id])).toBe(3);
  });
});
