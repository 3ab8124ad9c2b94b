/**
 * A resolution never undoes unseen a later write of the record's deletion (README, "Resolving local or
 * remote never undoes unseen a write made after the conflict"). A conflict about the deletion left the
 * record deleted at one time; another resolution may have brought it back since, and a user deleted it
 * again (a later deletion, another `deleted_at`): resolving the first conflict `local` (update vs
 * delete) or `remote` (delete vs update) would bring the record back over that deletion. Both dialects.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData, twoDevices } from "./helpers";

forEachDialect("a resolution after a later deletion", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  const resolve = (token: string, id: string, body: unknown) => t.request("POST", `/api/sync/conflicts/${id}/resolve`, { token, body });

  /** A task, and a third device that knows its first version (for a second conflict about its deletion). */
  async function setup() {
    const { a, b, ua } = await twoDevices(t);
    const c = await Device.another(t, ua, "third");
    const created = a.create("task", taskData({ title: "T" }));
    const record = (await a.push1(created)).record;
    b.learn(created.entity_id, record);
    c.learn(created.entity_id, record);
    return { a, b, c, id: created.entity_id, token: ua.token };
  }

  test("update vs delete: local is 409 once the record was brought back and deleted again; remote keeps it deleted", async () => {
    const { a, b, c, id, token } = await setup();
    expect((await a.push1(a.delete("task", id))).status).toBe("applied");
    const first = await b.push1(b.update("task", id, { title: "T by b" }));
    const second = await c.push1(c.update("task", id, { description: "by c" }));
    expect([first.status, second.status]).toEqual(["conflict", "conflict"]);
    // The second conflict brings the task back; a user then deletes it, seeing it live.
    expect((await resolve(token, second.conflict_id!, { resolution: "local" })).body.deleted_at).toBeNull();
    expect((await t.request("DELETE", `/api/tasks/${id}`, { token })).status).toBe(204);
    const deleted = (await t.request("GET", `/api/tasks/${id}/history`, { token })).body.results.at(-1);

    const local = await resolve(token, first.conflict_id!, { resolution: "local" });
    expect([local.status, local.body.error?.code, local.body.error?.details?.fields]).toEqual([409, "version_conflict", ["deleted_at"]]);
    expect((await t.request("GET", `/api/tasks/${id}`, { token })).status).toBe(404);
    expect((await t.request("GET", `/api/sync/conflicts/${first.conflict_id}`, { token })).body.resolved_at).toBeNull();

    const remote = await resolve(token, first.conflict_id!, { resolution: "remote" });
    expect(remote.status).toBe(200);
    expect(remote.body.deleted_at).toBe(deleted.changes.deleted_at.new);
  });

  test("delete vs update: remote keeps the record deleted once it was brought back and deleted again", async () => {
    const { a, b, c, id, token } = await setup();
    expect((await a.push1(a.update("task", id, { title: "T by a" }))).status).toBe("applied");
    const del = await b.push1(b.delete("task", id));
    expect(del.status).toBe("conflict");
    // Another device's edit of the first version meets the tombstone: a second conflict, which brings the task back.
    const second = await c.push1(c.update("task", id, { description: "by c" }));
    expect(second.status).toBe("conflict");
    expect((await resolve(token, second.conflict_id!, { resolution: "local" })).body.deleted_at).toBeNull();
    expect((await t.request("DELETE", `/api/tasks/${id}`, { token })).status).toBe(204);

    const remote = await resolve(token, del.conflict_id!, { resolution: "remote" });
    expect(remote.status).toBe(200);
    expect(remote.body.deleted_at).not.toBeNull();
    expect((await t.request("GET", `/api/tasks/${id}`, { token })).status).toBe(404);
  });

  test("a conflict about the deletion with no later deletion resolves as before: local brings it back", async () => {
    const { a, b, id, token } = await setup();
    expect((await a.push1(a.delete("task", id))).status).toBe("applied");
    const r = await b.push1(b.update("task", id, { title: "T by b" }));
    const local = await resolve(token, r.conflict_id!, { resolution: "local" });
    expect([local.status, local.body.deleted_at, local.body.title]).toEqual([200, null, "T by b"]);
  });
});
