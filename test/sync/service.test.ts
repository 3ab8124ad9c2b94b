import { beforeAll, expect, test } from "bun:test";
import type { Tx } from "../../src/db/types";
import { DeviceRepo } from "../../src/devices/repo";
import { DomainError } from "../../src/errors";
import { UserRepo } from "../../src/users/repo";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { pullParsed } from "./helpers";

/** The sync services driven directly (no HTTP), as the CLI and the simulations do. */
forEachDialect("sync services", ({ db, dialect }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  const caller = (u: TestUser) => ({ userId: u.user.id, orgId: u.org.id, role: u.user.role });

  test("push and pull through SyncService: the same answers as over HTTP", async () => {
    const u = await t.createUser();
    const dev = u.deviceId!;
    const id = crypto.randomUUID();
    const { results } = await t.services.sync.push(caller(u), {
      device_id: dev,
      changes: [{ change_id: crypto.randomUUID(), entity: "project", entity_id: id, op: "create", data: { name: "P" }, vector_clock: { [dev]: 1 } }],
    });
    expect(results[0]).toMatchObject({ status: "applied", version: 1, record: { id, name: "P" } });
    const page = await pullParsed(t.services.sync, caller(u), { device_id: dev });
    expect(page.changes.map((c) => c.entity_id)).toEqual([id]);
    const next = await pullParsed(t.services.sync, caller(u), { device_id: dev, cursor: page.cursor, limit: 1 });
    expect(next).toEqual({ changes: [], cursor: page.cursor, has_more: false });
  });

  test("refusals are DomainErrors with the contract's codes", async () => {
    const u = await t.createUser();
    const err = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        return e instanceof DomainError ? [e.status, e.code] : e;
      }
      return null;
    };
    const many = Array.from({ length: 1001 }, () => ({}));
    expect(await err(t.services.sync.push(caller(u), { device_id: u.deviceId!, changes: many }))).toEqual([413, "payload_too_large"]);
    expect(await err(t.services.sync.push(caller(u), { device_id: crypto.randomUUID(), changes: [] }))).toEqual([403, "forbidden"]);
    expect(await err(pullParsed(t.services.sync, caller(u), { device_id: u.deviceId!, limit: 0 }))).toEqual([422, "validation_failed"]);
    expect(await err(pullParsed(t.services.sync, caller(u), { device_id: u.deviceId!, cursor: "x" }))).toEqual([400, "invalid_cursor"]);
    expect(await err(t.services.conflicts.get({ orgId: u.org.id }, crypto.randomUUID()))).toEqual([404, "not_found"]);
  });

  /**
   * `withdraw` commits (after a gate) in a transaction that started before the push, whose checks
   * therefore read the device and user as they were; the push must still be refused where it
   * commits. SQLite: the push's transaction runs after the held one; Postgres: the push waits for
   * the held row lock (its device was seen a moment ago, so no `last_seen_at` write waits first).
   */
  const pushRacing = async (withdraw: (tx: Tx, u: TestUser) => Promise<void>) => {
    const u = await t.createUser();
    const dev = u.deviceId!;
    const task = () => ({ change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create", data: { title: "T" }, vector_clock: { [dev]: 1 } });
    expect((await t.services.sync.push(caller(u), { device_id: dev, changes: [task()] })).results[0]!.status).toBe("applied");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const withdrawn = new Promise<void>((r) => (started = r));
    const holding = t.deps.db.transaction(async (tx) => {
      await withdraw(tx, u);
      started();
      await gate;
    });
    await withdrawn;
    const change = task();
    // Its outcome is taken at once: a refusal may come before the holding transaction ends.
    const pushing = t.services.sync.push(caller(u), { device_id: dev, changes: [change] }).then(
      (r) => r.results[0]!.status,
      (e) => (e instanceof DomainError ? [e.status, e.code] : e),
    );
    await Bun.sleep(150); // the push has passed its checks and waits for its turn
    release();
    await holding;
    const outcome = await pushing;
    expect(await t.deps.db.get("SELECT id FROM tasks WHERE id = ?", [change.entity_id])).toBeUndefined();
    return outcome;
  };

  test("a device revoked while its push waits for its transaction: the push is refused, nothing stored", async () => {
    const outcome = await pushRacing((tx, u) => new DeviceRepo(tx, u.org.id).revoke(u.deviceId!, t.clock).then(() => {}));
    expect(outcome).toEqual([403, "forbidden"]);
  });

  // Postgres only: on SQLite a transaction held open holds the one writer, which logins need too.
  test.skipIf(dialect === "sqlite")("a push in flight holds up neither its user's logins and refreshes nor, by a deadlock, a revocation of its device", async () => {
    const u = await t.createUser();
    const dev = u.deviceId!;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    // What a push holds from its first statement to its COMMIT.
    const pushing = t.deps.db.transaction(async (tx) => {
      expect(await new DeviceRepo(tx, u.org.id).findForWrite(dev, u.user.id)).toEqual({ userId: u.user.id, revoked: false, userActive: true, userRole: "member" });
      started();
      await gate;
    });
    await inFlight;
    // No timing bound (a flake on a busy machine): the push holds until release(), below, so a login or
    // refresh that waited for it could only end with the lock timeout's error (or the test's timeout).
    await t.services.auth.login({ email: u.email, password: u.password }, "127.0.0.1");
    await t.services.auth.refresh(u.refresh);
    // The revocation waits for the push (both succeed, in that order), without holding up logins
    // meanwhile, and is stamped when it takes effect, after the push.
    const revoking = t.services.devices.revoke({ userId: u.user.id, orgId: u.org.id, role: u.user.role, deviceId: null, email: u.email }, dev);
    await Bun.sleep(100);
    const login = t.services.auth.login({ email: u.email, password: u.password }, "127.0.0.1").then(() => "logged in");
    expect(await login).toBe("logged in"); // before release(): a login behind the revocation could not end but with an error
    const releasedAt = new Date().toISOString();
    release();
    await pushing;
    await revoking;
    expect((await new DeviceRepo(t.deps.db, u.org.id).find(dev))?.revokedAt! >= releasedAt).toBe(true);
  });

  // Postgres only, as above.
  test.skipIf(dialect === "sqlite")("a deactivation waits for its user's push in flight and is stamped when it takes effect", async () => {
    const u = await t.createUser();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    const pushing = t.deps.db.transaction(async (tx) => {
      expect((await new DeviceRepo(tx, u.org.id).findForWrite(u.deviceId!, u.user.id))?.userActive).toBe(true);
      started();
      await gate;
    });
    await inFlight;
    let done = false;
    const deactivating = t.services.users.deactivate(u.email).then((user) => ((done = true), user));
    await Bun.sleep(150);
    expect(done).toBe(false);
    const releasedAt = new Date().toISOString();
    release();
    await pushing;
    const user = await deactivating;
    expect(user.active).toBe(false);
    expect(user.updatedAt >= releasedAt).toBe(true);
    expect((await new UserRepo(t.deps.db, u.org.id).mustGet(u.user.id)).updatedAt).toBe(user.updatedAt);
  });

  test("a user deactivated while their push waits for its transaction: the push is refused, nothing stored", async () => {
    const outcome = await pushRacing((tx, u) => new UserRepo(tx, u.org.id).deactivate(u.user.id, t.clock).then(() => {}));
    expect(outcome).toEqual([401, "unauthenticated"]);
  });
});
