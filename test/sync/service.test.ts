import { beforeAll, expect, test } from "bun:test";
import { DomainError } from "../../src/errors";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { pullParsed } from "./helpers";

/** The sync services driven directly (no HTTP), as the CLI and the simulations do. */
forEachDialect("sync services", ({ db }) => {
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
});
