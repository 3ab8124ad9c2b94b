/**
 * A REST write of records checks its user's account again inside its transaction, as a push does
 * (src/records/rest.ts): a deactivation that commits after the request was authenticated but
 * before its write stops the write (401), nothing stored; a conflict resolution likewise.
 */
import { beforeAll, expect, test } from "bun:test";
import type { Tx } from "../../src/db/types";
import { DeviceRepo } from "../../src/devices/repo";
import { UserRepo } from "../../src/users/repo";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device } from "../sync/helpers";

forEachDialect("REST writes and a deactivation", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  const racing = async (
    write: (token: string, taskId: string) => Promise<{ status: number; body: { error?: { code: string } } }>,
    withdraw: (tx: Tx, u: TestUser) => Promise<unknown> = (tx, u) => new UserRepo(tx, u.org.id).deactivate(u.user.id, t.clock),
    user?: TestUser,
  ) => {
    const u = user ?? (await t.createUser());
    const task = await t.request("POST", "/api/tasks", { token: u.token, body: { title: "before" } });
    expect(task.status).toBe(201);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const deactivated = new Promise<void>((r) => (started = r));
    // The deactivation commits after the write's request was authenticated (the account was still active then).
    const holding = t.deps.db.transaction(async (tx) => {
      await withdraw(tx, u);
      started();
      await gate;
    });
    await deactivated;
    const writing = write(u.token, task.body.id);
    await Bun.sleep(150); // the write is past authentication and waits for its transaction (or its lock)
    release();
    await holding;
    const r = await writing;
    const tasks = await t.deps.db.all<{ title: string; version: number }>("SELECT title, version FROM tasks WHERE org_id = ?", [u.org.id]);
    return { status: r.status, code: r.body.error?.code, tasks };
  };

  test("a create: 401, nothing stored", async () => {
    const r = await racing((token) => t.request("POST", "/api/tasks", { token, body: { title: "after" } }));
    expect(r).toEqual({ status: 401, code: "unauthenticated", tasks: [{ title: "before", version: 1 }] });
  });

  test("an update: 401, the record unchanged", async () => {
    const r = await racing((token, id) => t.request("PATCH", `/api/tasks/${id}`, { token, body: { title: "after" } }));
    expect(r).toEqual({ status: 401, code: "unauthenticated", tasks: [{ title: "before", version: 1 }] });
  });

  test("a delete: 401, the record still there", async () => {
    const r = await racing((token, id) => t.request("DELETE", `/api/tasks/${id}`, { token }));
    expect(r).toEqual({ status: 401, code: "unauthenticated", tasks: [{ title: "before", version: 1 }] });
  });

  test("a conflict resolution: 401, the record unchanged and the conflict still open", async () => {
    const u = await t.createUser();
    const d = Device.of(t, u);
    const created = d.create("task", { title: "Buy milk" });
    await d.push1(created);
    expect((await t.request("PATCH", `/api/tasks/${created.entity_id}`, { token: u.token, body: { title: "Buy oat milk" } })).status).toBe(200);
    const pushed = await d.push1({ ...d.update("task", created.entity_id, { title: "Buy soy milk" }), base_version: 1, vector_clock: { [d.id]: 2 } });
    expect(pushed.status).toBe("conflict");
    const r = await racing(() => t.request("POST", `/api/sync/conflicts/${pushed.conflict_id}/resolve`, { token: u.token, body: { resolution: "local" } }), undefined, u);
    expect([r.status, r.code]).toEqual([401, "unauthenticated"]);
    expect(await t.deps.db.get("SELECT title FROM tasks WHERE id = ?", [created.entity_id])).toEqual({ title: "Buy oat milk" });
    expect(await t.deps.db.get("SELECT resolved_at FROM conflicts WHERE id = ?", [pushed.conflict_id!])).toEqual({ resolved_at: null });
  });

  test("a revocation of the token's device meanwhile does not stop it: a REST write is its user's, not its device's", async () => {
    const r = await racing(
      (token, id) => t.request("PATCH", `/api/tasks/${id}`, { token, body: { title: "after" } }),
      (tx, u) => new DeviceRepo(tx, u.org.id).revoke(u.deviceId!, t.clock),
    );
    expect(r).toEqual({ status: 200, code: undefined, tasks: [{ title: "after", version: 2 }] });
  });
});
