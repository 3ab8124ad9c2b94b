import { beforeAll, expect, test } from "bun:test";
import { earlierPayloadHash, payloadHash } from "../../src/sync/change";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData } from "./helpers";

/**
 * A key beside a change's own is part of its payload: the same change_id re-sent without it (or with
 * it added) is another payload, `rejected` `change_id_reused` (contract, exactly once), not a
 * `duplicate` of the first answer. The payload hash had covered the change's own keys only, so the
 * corrected change was answered the rejection again, and a retry with a stray key the original's
 * `applied` (found by review).
 */
forEachDialect("the payload hash and keys beside a change's own", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  const code = (r: { status: string; error?: { code: string } }) => [r.status, r.error?.code ?? null];

  test("a change rejected for an unknown key, re-sent with the same change_id without it: change_id_reused, nothing applied", async () => {
    const d = Device.of(t, await t.createUser());
    const c = d.create("task", taskData());
    expect(code(await d.push1({ ...c, foo: 1 }))).toEqual(["rejected", "invalid_change"]);
    expect(code(await d.push1({ ...c, foo: 1 }))).toEqual(["duplicate", "invalid_change"]);
    expect(code(await d.push1({ ...c, foo: 2 }))).toEqual(["rejected", "change_id_reused"]);
    expect(code(await d.push1(c))).toEqual(["rejected", "change_id_reused"]);
    expect((await t.request("GET", `/api/tasks/${c.entity_id}`, { token: d.user.token })).status).toBe(404);
  });

  test("an applied change re-sent with a key added: change_id_reused, not a duplicate of the applied answer", async () => {
    const d = Device.of(t, await t.createUser());
    const c = d.create("task", taskData());
    expect(code(await d.push1(c))).toEqual(["applied", null]);
    expect(code(await d.push1({ ...c, foo: 1 }))).toEqual(["rejected", "change_id_reused"]);
    expect(code(await d.push1(c))).toEqual(["duplicate", null]);
  });

  test("a rejection for an unknown key remembered before the hash covered it: its exact retry is still its duplicate", async () => {
    const d = Device.of(t, await t.createUser());
    for (const hashOf of [payloadHash, earlierPayloadHash]) {
      const c = { ...d.create("task", taskData()), foo: 1 };
      expect(code(await d.push1(c))).toEqual(["rejected", "invalid_change"]);
      const { foo: _foo, ...known } = c;
      await t.deps.db.run("UPDATE sync_changes SET payload_hash = ? WHERE device_id = ? AND change_id = ?", [hashOf(known), d.id, c.change_id]);
      expect(code(await d.push1(c))).toEqual(["duplicate", "invalid_change"]);
    }
  });
});
