import { beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { compareClocks } from "../../src/records/clock";
import { Device, type Result, taskData, twoDevices } from "./helpers";

forEachDialect("sync conflicts", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  /** A title conflict: A's edit applied, B's overlapping edit (and a mergeable priority change) → conflict. */
  async function titleConflict(): Promise<{ a: Device; b: Device; id: string; r: Result }> {
    const { a, b } = await twoDevices(t);
    const c = a.create("task", taskData({ title: "Buy milk" }));
    b.learn(c.entity_id, (await a.push1(c)).record);
    await a.push1(a.update("task", c.entity_id, { title: "Buy oat milk" }));
    const r = await b.push1(b.update("task", c.entity_id, { title: "Buy soy milk", priority: "high" }));
    expect(r.status).toBe("conflict");
    return { a, b, id: c.entity_id, r };
  }

  const resolve = (token: string, id: string, body: unknown) => t.request("POST", `/api/sync/conflicts/${id}/resolve`, { token, body });

  describe("list and show", () => {
    test("open conflicts of the organization, oldest first, in the list envelope; resolved ones with include_resolved=true", async () => {
      const first = await titleConflict();
      const org = first.a.user.org.slug;
      const { a: a2, b: b2 } = await twoDevicesIn(org);
      const c = a2.create("task", taskData({ title: "x" }));
      b2.learn(c.entity_id, (await a2.push1(c)).record);
      await a2.push1(a2.update("task", c.entity_id, { title: "xa" }));
      const second = await b2.push1(b2.update("task", c.entity_id, { title: "xb" }));

      const token = first.a.user.token;
      const list = await t.request("GET", "/api/sync/conflicts", { token });
      expect(list.status).toBe(200);
      expect(list.body).toMatchObject({ count: 2, next: null, previous: null });
      expect(list.body.results.map((x: any) => x.id)).toEqual([first.r.conflict_id, second.conflict_id]);

      const paged = await t.request("GET", "/api/sync/conflicts?page_size=1", { token });
      expect(paged.body.results).toHaveLength(1);
      expect(paged.body.next).toContain("page=2");
      const tooBig = await t.request("GET", "/api/sync/conflicts?page_size=501", { token });
      expect([tooBig.status, Object.keys(tooBig.body.error.details.fields)]).toEqual([422, ["page_size"]]);

      expect((await resolve(token, first.r.conflict_id!, { resolution: "remote" })).status).toBe(200);
      const open = await t.request("GET", "/api/sync/conflicts/", { token });
      expect(open.body.results.map((x: any) => x.id)).toEqual([second.conflict_id]);
      const all = await t.request("GET", "/api/sync/conflicts?include_resolved=true", { token });
      expect(all.body.count).toBe(2);
      expect(all.body.results[0]).toMatchObject({ id: first.r.conflict_id, resolution: "remote", resolved_by: first.a.user.user.id, resolved_at: expect.any(String) });
    });

    test("another organization's conflict is 404 (show and resolve) and absent from lists", async () => {
      const { r } = await titleConflict();
      const stranger = await t.createUser();
      expect((await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: stranger.token })).status).toBe(404);
      expect((await resolve(stranger.token, r.conflict_id!, { resolution: "local" })).status).toBe(404);
      expect((await t.request("GET", "/api/sync/conflicts", { token: stranger.token })).body.count).toBe(0);
      expect((await t.request("GET", `/api/sync/conflicts/not-a-uuid`, { token: stranger.token })).status).toBe(404);
    });
  });

  describe("resolve", () => {
    for (const [resolution, expected] of [
      ["local", "Buy soy milk"],
      ["remote", "Buy oat milk"],
    ] as const) {
      test(`${resolution}: that side's values of the conflicting fields, a new version newer than both, history conflict_resolved`, async () => {
        const { a, b, id, r } = await titleConflict();
        const res = await resolve(b.user.token, r.conflict_id!, { resolution });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id, title: expected, priority: "high", version: 4 });
        expect(compareClocks(res.body.vector_clock, r.vector_clock!)).toBe("AFTER");
        expect(res.body.vector_clock.server).toBe(2);
        const history = await t.request("GET", `/api/tasks/${id}/history`, { token: a.user.token });
        const last = history.body.results.at(-1);
        expect(last).toMatchObject({ action: "conflict_resolved", version: 4, user_id: b.user.user.id, device_id: null });
      });
    }

    test("custom: the given data, validated like a PATCH", async () => {
      const { b, r } = await titleConflict();
      const token = b.user.token;
      const bad = await resolve(token, r.conflict_id!, { resolution: "custom", data: { title: "" } });
      expect(bad.status).toBe(422);
      expect(bad.body.error.details.fields).toHaveProperty("title");
      const unknown = await resolve(token, r.conflict_id!, { resolution: "custom", data: { title: "ok", version: 9 } });
      expect(unknown.status).toBe(422);
      expect((await resolve(token, r.conflict_id!, { resolution: "custom" })).status).toBe(422);
      expect((await resolve(token, r.conflict_id!, { resolution: "custom", data: {} })).status).toBe(422);
      expect((await resolve(token, r.conflict_id!, { resolution: "local", data: { title: "x" } })).status).toBe(422);
      expect((await resolve(token, r.conflict_id!, { resolution: "mine" })).status).toBe(422);
      const ok = await resolve(token, r.conflict_id!, { resolution: "custom", data: { title: "Buy oat and soy milk", tags: ["shopping"] } });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ title: "Buy oat and soy milk", tags: ["shopping"], version: 4 });
    });

    /** An author, a member and an admin of one organization. */
    const threeUsers = async () => {
      const author = await t.createUser();
      return { author, member: await t.createUser({ org: author.org.slug }), admin: await t.createUser({ org: author.org.slug, role: "admin" }) };
    };

    /** The author's comment "draft" (a reply to "parent" on a task), known to both of the author's devices. */
    const authorsComment = async (author: TestUser) => {
      const a1 = Device.of(t, author);
      const a2 = await Device.another(t, author);
      const task = a1.create("task", taskData());
      const parent = a1.create("comment", { task_id: task.entity_id, body: "parent" });
      const comment = a1.create("comment", { task_id: task.entity_id, body: "draft" });
      const [, , created] = await a1.push(task, parent, comment);
      a2.learn(comment.entity_id, created.record);
      return { a1, a2, id: comment.entity_id, parentId: parent.entity_id };
    };

    test("another user's comment: a resolution that changes it (custom, local or remote) is 403 forbidden, an admin's too, and the conflict stays open; its author resolves it", async () => {
      const { author, member, admin } = await threeUsers();
      const commentConflict = async () => {
        const { a1, a2, id } = await authorsComment(author);
        await a1.push1(a1.update("comment", id, { body: "first take" }));
        const r = await a2.push1(a2.update("comment", id, { body: "second take" }));
        expect(r.status).toBe("conflict");
        return r;
      };
      const r = await commentConflict();
      for (const who of [member, admin]) {
        for (const input of [{ resolution: "custom", data: { body: "someone else's words" } }, { resolution: "local" }]) {
          const refused = await resolve(who.token, r.conflict_id!, input);
          expect([refused.status, refused.body.error?.code]).toEqual([403, "forbidden"]);
        }
      }
      expect((await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: member.token })).body.resolved_at).toBeNull();
      const mine = await resolve(author.token, r.conflict_id!, { resolution: "custom", data: { body: "first and second take" } });
      expect([mine.status, mine.body.body]).toEqual([200, "first and second take"]);
      const other = await commentConflict();
      // `remote` keeps the comment as it is: nothing changes, so anyone may close the conflict that way.
      const remote = await resolve(member.token, other.conflict_id!, { resolution: "remote" });
      expect([remote.status, remote.body.body]).toEqual([200, "first take"]);
      const third = await commentConflict();
      const local = await resolve(author.token, third.conflict_id!, { resolution: "local" });
      expect([local.status, local.body.body, local.body.author_id]).toEqual([200, "second take", author.user.id]);
    });

    test("another user's comment: moving it in its thread by custom is the author's alone; bringing it back after an admin deleted it is an admin's", async () => {
      const { author, member, admin } = await threeUsers();
      // The author edits the comment offline while an admin deletes it: a conflict about the deletion.
      const deletionConflict = async () => {
        const { a2, id, parentId } = await authorsComment(author);
        const del = await t.request("DELETE", `/api/comments/${id}`, { token: admin.token });
        expect(del.status).toBe(204);
        const r = await a2.push1(a2.update("comment", id, { body: "edited offline" }));
        expect(r.status).toBe("conflict");
        return { r, id, parentId };
      };
      const { r, id, parentId } = await deletionConflict();
      for (const input of [{ resolution: "local" }, { resolution: "custom", data: { parent_id: parentId } }, { resolution: "custom", data: { body: r.record!.body } }]) {
        const refused = await resolve(member.token, r.conflict_id!, input);
        expect([refused.status, refused.body.error?.code]).toEqual([403, "forbidden"]);
      }
      expect((await t.request("GET", `/api/comments/${id}`, { token: author.token })).status).toBe(404);
      // An admin may bring it back as it is (a moderator's undo), not rewrite it.
      expect((await resolve(admin.token, r.conflict_id!, { resolution: "custom", data: { body: "moderated" } })).status).toBe(403);
      const kept = r.record!.body; // the offline edit, merged into the tombstone
      expect(kept).toBe("edited offline");
      const back = await resolve(admin.token, r.conflict_id!, { resolution: "custom", data: { body: kept } });
      expect([back.status, back.body.deleted_at, back.body.body]).toEqual([200, null, kept]);
      // The author may not undo the admin's moderation (below: "an admin's moderation sticks").
      const again = await deletionConflict();
      const mine = await resolve(author.token, again.r.conflict_id!, { resolution: "local" });
      expect([mine.status, mine.body.error?.code]).toEqual([403, "forbidden"]);
    });

    test("an admin's moderation sticks: the author cannot bring back a comment an admin deleted, even with a conflict made at will (403, the conflict stays open); one they deleted themselves they can", async () => {
      const { author, admin } = await threeUsers();
      const a1 = Device.of(t, author);
      const task = await t.request("POST", "/api/tasks", { token: admin.token, body: taskData() });
      const comment = await t.request("POST", "/api/comments", { token: author.token, body: { task_id: task.body.id, body: "offensive" } });
      expect((await t.request("DELETE", `/api/comments/${comment.body.id}`, { token: admin.token })).status).toBe(204);
      // Long after the deletion, an update built on the version before it (a clock without the server's
      // new entry) is concurrent with it: a conflict about the deletion, which its pusher would resolve.
      const fabricated = { change_id: crypto.randomUUID(), entity: "comment", entity_id: comment.body.id, op: "update", data: { body: "offensive again" }, base_version: 1, vector_clock: { [a1.id]: 1 } };
      const r = await a1.push1(fabricated);
      expect(r.status).toBe("conflict");
      for (const input of [{ resolution: "local" }, { resolution: "custom", data: { body: "offensive again" } }]) {
        const refused = await resolve(author.token, r.conflict_id!, input);
        expect([refused.status, refused.body.error?.code]).toEqual([403, "forbidden"]);
      }
      expect((await t.request("GET", `/api/comments/${comment.body.id}`, { token: admin.token })).status).toBe(404);
      expect((await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: author.token })).body.resolved_at).toBeNull();
      // An admin may undo the moderation (bringing the comment back as it is now).
      const undone = await resolve(admin.token, r.conflict_id!, { resolution: "custom", data: { body: r.record!.body } });
      expect([undone.status, undone.body.deleted_at]).toEqual([200, null]);

      // A comment its author deleted themselves: the author may bring it back.
      const own = await t.request("POST", "/api/comments", { token: author.token, body: { task_id: task.body.id, body: "regretted" } });
      expect((await t.request("DELETE", `/api/comments/${own.body.id}`, { token: author.token })).status).toBe(204);
      const r2 = await a1.push1({ ...fabricated, change_id: crypto.randomUUID(), entity_id: own.body.id, data: { body: "kept after all" } });
      expect(r2.status).toBe("conflict");
      const back = await resolve(author.token, r2.conflict_id!, { resolution: "local" });
      expect([back.status, back.body.deleted_at, back.body.body]).toEqual([200, null, "kept after all"]);
    });

    test("without a resolution (an empty body, or none) it is 422 naming resolution, and the conflict stays open", async () => {
      const { b, r } = await titleConflict();
      const token = b.user.token;
      const empty = await resolve(token, r.conflict_id!, {});
      expect(empty.status).toBe(422);
      expect(empty.body.error.details.fields).toHaveProperty("resolution");
      const dataOnly = await resolve(token, r.conflict_id!, { data: { title: "x" } });
      expect(dataOnly.status).toBe(422);
      expect(dataOnly.body.error.details.fields).toHaveProperty("resolution");
      const none = await t.app.handle(new Request(`http://localhost/api/sync/conflicts/${r.conflict_id}/resolve`, { method: "POST", headers: { authorization: `Bearer ${token}` } }));
      expect(none.status).toBe(422);
      const shown = await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token });
      expect(shown.body).toMatchObject({ resolution: null, resolved_at: null });
    });

    test("after a later edit of a conflicting field: local is 409 version_conflict (the conflict stays open), remote keeps the later edit; neither undoes it", async () => {
      const { a, b, id, r } = await titleConflict();
      const token = b.user.token;
      const later = await t.request("PATCH", `/api/tasks/${id}`, { token: a.user.token, body: { title: "Buy almond milk", description: "edited after the conflict" } });
      expect(later.status).toBe(200);

      const local = await resolve(token, r.conflict_id!, { resolution: "local" });
      expect(local.status).toBe(409);
      expect(local.body.error.code).toBe("version_conflict");
      expect(local.body.error.details).toMatchObject({ fields: ["title"], current: { id, title: "Buy almond milk", version: later.body.version } });
      expect((await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token })).body).toMatchObject({ resolution: null, resolved_at: null });

      const remote = await resolve(token, r.conflict_id!, { resolution: "remote" });
      expect(remote.status).toBe(200);
      expect(remote.body).toMatchObject({ title: "Buy almond milk", description: "edited after the conflict", priority: "high", version: later.body.version + 1 });
      expect((await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token })).body).toMatchObject({ resolution: "remote" });
    });

    test("after a later edit that already set local's value, local applies (it undoes nothing)", async () => {
      const { a, b, id, r } = await titleConflict();
      expect((await t.request("PATCH", `/api/tasks/${id}`, { token: a.user.token, body: { title: "Buy soy milk" } })).status).toBe(200);
      const local = await resolve(b.user.token, r.conflict_id!, { resolution: "local" });
      expect(local.status).toBe(200);
      expect(local.body).toMatchObject({ title: "Buy soy milk" });
    });

    test("after a later edit of other fields only, local still applies", async () => {
      const { a, b, id, r } = await titleConflict();
      expect((await t.request("PATCH", `/api/tasks/${id}`, { token: a.user.token, body: { description: "other field" } })).status).toBe(200);
      const local = await resolve(b.user.token, r.conflict_id!, { resolution: "local" });
      expect(local.status).toBe(200);
      expect(local.body).toMatchObject({ title: "Buy soy milk", description: "other field" });
    });

    test("custom after a later edit: the given data, the later edit's other fields kept", async () => {
      const { a, b, id, r } = await titleConflict();
      expect((await t.request("PATCH", `/api/tasks/${id}`, { token: a.user.token, body: { title: "Buy almond milk", description: "later" } })).status).toBe(200);
      const custom = await resolve(b.user.token, r.conflict_id!, { resolution: "custom", data: { title: "Buy almond and soy milk" } });
      expect(custom.status).toBe(200);
      expect(custom.body).toMatchObject({ title: "Buy almond and soy milk", description: "later" });
    });

    test("resolving twice answers 409 already_resolved and writes nothing", async () => {
      const { b, id, r } = await titleConflict();
      expect((await resolve(b.user.token, r.conflict_id!, { resolution: "local" })).status).toBe(200);
      const again = await resolve(b.user.token, r.conflict_id!, { resolution: "remote" });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe("already_resolved");
      expect((await t.request("GET", `/api/tasks/${id}`, { token: b.user.token })).body).toMatchObject({ version: 4, title: "Buy soy milk" });
    });

    test("the resolution reaches every device's pull, the pushing device's too", async () => {
      const { a, b, id, r } = await titleConflict();
      await a.pullAll();
      await b.pullAll();
      const res = await resolve(a.user.token, r.conflict_id!, { resolution: "local" });
      for (const d of [a, b]) {
        const got = await d.pullAll();
        expect(got.map((c) => [c.entity_id, c.version, c.record.title])).toEqual([[id, res.body.version, "Buy soy milk"]]);
      }
    });

    test("update vs delete: remote keeps it deleted (the tombstone holds the update), local brings it back with the update", async () => {
      for (const [resolution, alive] of [
        ["remote", false],
        ["local", true],
      ] as const) {
        const { a, b } = await twoDevices(t);
        const c = a.create("task", taskData({ title: "T" }));
        b.learn(c.entity_id, (await a.push1(c)).record);
        await a.push1(a.delete("task", c.entity_id));
        const r = await b.push1(b.update("task", c.entity_id, { title: "T edited" }));
        const res = await resolve(b.user.token, r.conflict_id!, { resolution });
        expect(res.status).toBe(200);
        expect(res.body.deleted_at === null).toBe(alive);
        expect(res.body.title).toBe("T edited");
        expect((await t.request("GET", `/api/tasks/${c.entity_id}`, { token: a.user.token })).status).toBe(alive ? 200 : 404);
      }
    });

    test("delete vs update: remote (the update) brings the record back", async () => {
      const { a, b } = await twoDevices(t);
      const c = a.create("task", taskData({ title: "T" }));
      b.learn(c.entity_id, (await a.push1(c)).record);
      await a.push1(a.update("task", c.entity_id, { title: "T edited" }));
      const r = await b.push1(b.delete("task", c.entity_id));
      const res = await resolve(a.user.token, r.conflict_id!, { resolution: "remote" });
      expect(res.body).toMatchObject({ title: "T edited", deleted_at: null, deleted_by: null });
      await a.pullAll();
    });
  });

  async function twoDevicesIn(slug: string) {
    const ua = await t.createUser({ org: slug });
    const ub = await t.createUser({ org: slug });
    return { a: Device.of(t, ua), b: Device.of(t, ub) };
  }
});
