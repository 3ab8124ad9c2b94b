/**
 * An admin's request that is still on its way when the admin is demoted: what only an admin may do
 * (delete or bring back another user's comment — REST, push, conflict resolution — and revoke
 * another member's device) is decided by the role the write reads in its own transaction, not by the
 * role the request was authenticated with. A demotion that commits after the request's token check
 * but before its write stops the write (as a member's: 403, or 404 for a device the caller may no
 * longer see), nothing changed.
 */
import { beforeAll, expect, test } from "bun:test";
import type { Tx } from "../../src/db/types";
import { UserRepo } from "../../src/users/repo";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device } from "../sync/helpers";

forEachDialect("an admin's request in flight and a demotion", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  /** An admin and a member of one new organization, and a comment of the member's on a task. */
  async function setting(): Promise<{ admin: TestUser; member: TestUser; comment: string }> {
    const org = await t.createOrg();
    const admin = await t.createUser({ org: org.slug, role: "admin" });
    const member = await t.createUser({ org: org.slug });
    const task = await t.request("POST", "/api/tasks", { token: member.token, body: { title: "t" } });
    const comment = await t.request("POST", "/api/comments", { token: member.token, body: { task_id: task.body.id, body: "the member's" } });
    expect(comment.status).toBe(201);
    return { admin, member, comment: comment.body.id };
  }

  /**
   * Runs `request` while `admin`'s demotion is held uncommitted: the request is authenticated as an
   * admin (the demotion not yet committed), and its write comes after the demotion commits.
   */
  async function duringDemotion<T>(admin: TestUser, request: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let demoting!: () => void;
    const held = new Promise<void>((r) => (demoting = r));
    const holding = t.deps.db.transaction(async (tx: Tx) => {
      await new UserRepo(tx, admin.org.id).setRole(admin.user.id, "member", t.clock.now().toISOString());
      demoting();
      await gate;
    });
    await held;
    const answer = request();
    await Bun.sleep(150); // the request is past its token check and waits for its transaction (or its lock)
    release();
    await holding;
    return answer;
  }

  const commentRow = (id: string) => t.deps.db.get<{ body: string; version: number; deleted_at: string | null }>("SELECT body, version, deleted_at FROM comments WHERE id = ?", [id]);

  test("REST: a delete of another user's comment is refused (403), the comment left as it was", async () => {
    const { admin, comment } = await setting();
    const before = await commentRow(comment);
    const r = await duringDemotion(admin, () => t.request("DELETE", `/api/comments/${comment}`, { token: admin.token }));
    expect([r.status, r.body?.error?.code]).toEqual([403, "forbidden"]);
    expect(await commentRow(comment)).toEqual(before);
  });

  test("push: a delete of another user's comment is rejected (forbidden), the comment left as it was", async () => {
    const { admin, comment } = await setting();
    const before = await commentRow(comment);
    const d = Device.of(t, admin);
    const change = { change_id: crypto.randomUUID(), entity: "comment", entity_id: comment, op: "delete", base_version: 1, vector_clock: { server: 1, [d.id]: 1 } };
    const r = await duringDemotion(admin, () => t.request("POST", "/api/sync/push", { token: admin.token, body: { device_id: d.id, changes: [change] } }));
    expect(r.status).toBe(200);
    expect([r.body.results[0].status, r.body.results[0].error?.code]).toEqual(["rejected", "forbidden"]);
    expect(await commentRow(comment)).toEqual(before);
  });

  test("conflict resolution: bringing back a comment another user deleted is refused (403), the conflict left open", async () => {
    const { admin, member, comment } = await setting();
    // The admin moderates the comment; its author's concurrent edit becomes a conflict about the deletion.
    expect((await t.request("DELETE", `/api/comments/${comment}`, { token: admin.token })).status).toBe(204);
    const d = Device.of(t, member);
    const edit = { change_id: crypto.randomUUID(), entity: "comment", entity_id: comment, op: "update", data: { body: "edited" }, base_version: 1, vector_clock: { server: 1, [d.id]: 1 } };
    const pushed = (await t.request("POST", "/api/sync/push", { token: member.token, body: { device_id: d.id, changes: [edit] } })).body.results[0];
    expect(pushed.status).toBe("conflict");
    const before = await commentRow(comment);
    const r = await duringDemotion(admin, () => t.request("POST", `/api/sync/conflicts/${pushed.conflict_id}/resolve`, { token: admin.token, body: { resolution: "local" } }));
    expect([r.status, r.body?.error?.code]).toEqual([403, "forbidden"]);
    expect(await commentRow(comment)).toEqual(before);
    expect(await t.deps.db.get("SELECT resolved_at FROM conflicts WHERE id = ?", [pushed.conflict_id])).toEqual({ resolved_at: null });
  });

  test("devices: a revocation of another member's device answers 404 as to any member, the device not revoked", async () => {
    const { admin, member } = await setting();
    const r = await duringDemotion(admin, () => t.request("DELETE", `/api/devices/${member.deviceId}`, { token: admin.token }));
    expect([r.status, r.body?.error?.code]).toEqual([404, "not_found"]);
    expect(await t.deps.db.get("SELECT revoked_at FROM devices WHERE id = ?", [member.deviceId!])).toEqual({ revoked_at: null });
    expect((await t.request("GET", "/api/users/me", { token: member.token })).status).toBe(200);
  });

  test("the admin's own writes go on: their own comment and device, and a task", async () => {
    const { admin } = await setting();
    const task = await t.request("POST", "/api/tasks", { token: admin.token, body: { title: "admin's" } });
    const own = await t.request("POST", "/api/comments", { token: admin.token, body: { task_id: task.body.id, body: "mine" } });
    const r = await duringDemotion(admin, () => t.request("DELETE", `/api/comments/${own.body.id}`, { token: admin.token }));
    expect(r.status).toBe(204);
    const spare = await t.request("POST", "/api/devices", { token: admin.token, body: { name: "spare" } });
    expect((await t.request("DELETE", `/api/devices/${spare.body.id}`, { token: admin.token })).status).toBe(204);
  });
});
