import { expect, test } from "bun:test";
import { createTestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";

const HOUR = 3_600_000;
const uuid = () => crypto.randomUUID();

// Two instances on one database whose clocks differ (an instance an hour ahead, or an NTP correction):
// a write by the one behind stamped the record with an updated_at before its created_at and before
// the previous write's, and its history went back in time (found by the dates QA pass).
forEachDialect("a record's timestamps under clocks that differ between instances", ({ db }) => {
  test("a write never stamps a record earlier than its last write: updated_at, deleted_at and the history only move forward", async () => {
    const ahead = new ManualClock(new Date("2026-06-01T11:00:00.000Z"));
    const behind = new ManualClock(new Date("2026-06-01T10:00:00.000Z"));
    const A = await createTestApp(db(), { clock: ahead });
    const B = await createTestApp(db(), { clock: behind });
    const u = await A.createUser();
    const onB = await B.tokenFor(u.user, u.deviceId);

    const created = (await A.request("POST", "/api/tasks", { token: u.token, body: { title: "t" } })).body;
    expect(created.created_at).toBe("2026-06-01T11:00:00.000Z");
    const patched = await B.request("PATCH", `/api/tasks/${created.id}`, { token: onB, body: { title: "by B" } });
    expect([patched.status, patched.body.created_at, patched.body.updated_at]).toEqual([200, created.created_at, created.created_at]);

    const pushed = await B.request("POST", "/api/sync/push", {
      token: onB,
      body: {
        device_id: u.deviceId,
        changes: [{ change_id: uuid(), entity: "task", entity_id: created.id, op: "update", data: { title: "pushed via B" }, base_version: 2, vector_clock: { ...patched.body.vector_clock, [u.deviceId!]: 1 } }],
      },
    });
    expect([pushed.body.results[0].status, pushed.body.results[0].record.updated_at]).toEqual(["applied", created.created_at]);

    expect((await B.request("DELETE", `/api/tasks/${created.id}`, { token: onB })).status).toBe(204);
    const history = (await B.request("GET", `/api/tasks/${created.id}/history`, { token: onB })).body.results as { version: number; created_at: string }[];
    expect(history.map((e) => [e.version, e.created_at])).toEqual([1, 2, 3, 4].map((v) => [v, created.created_at]));
    const deleted = (await B.request("GET", `/api/tasks?include_deleted=true`, { token: onB })).body.results[0];
    expect([deleted.updated_at, deleted.deleted_at]).toEqual([created.created_at, created.created_at]);

    // Once its clock has passed the record's, the instance behind stamps its own time again.
    behind.advance(2 * HOUR);
    const later = await B.request("POST", "/api/tasks", { token: await B.tokenFor(u.user, u.deviceId), body: { title: "later" } });
    const again = await A.request("PATCH", `/api/tasks/${later.body.id}`, { token: u.token, body: { title: "by A" } });
    expect([later.body.created_at, again.body.updated_at]).toEqual(["2026-06-01T12:00:00.000Z", "2026-06-01T12:00:00.000Z"]);
  });

  test("a conflict is never resolved before it arose: resolved_at is at least its created_at", async () => {
    const ahead = new ManualClock(new Date("2026-06-01T11:00:00.000Z"));
    const behind = new ManualClock(new Date("2026-06-01T10:00:00.000Z"));
    const A = await createTestApp(db(), { clock: ahead });
    const B = await createTestApp(db(), { clock: behind });
    const u = await A.createUser();
    const task = (await A.request("POST", "/api/tasks", { token: u.token, body: { title: "t" } })).body;
    await A.request("PATCH", `/api/tasks/${task.id}`, { token: u.token, body: { title: "server" } });
    const pushed = await A.request("POST", "/api/sync/push", {
      token: u.token,
      body: {
        device_id: u.deviceId,
        changes: [{ change_id: uuid(), entity: "task", entity_id: task.id, op: "update", data: { title: "device" }, base_version: 1, vector_clock: { ...task.vector_clock, [u.deviceId!]: 1 } }],
      },
    });
    const conflictId = pushed.body.results[0].conflict_id;
    const onB = await B.tokenFor(u.user, u.deviceId);
    expect((await B.request("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: onB, body: { resolution: "remote" } })).status).toBe(200);
    const c = (await B.request("GET", `/api/sync/conflicts/${conflictId}`, { token: onB })).body;
    expect([c.created_at, c.resolved_at]).toEqual(["2026-06-01T11:00:00.000Z", "2026-06-01T11:00:00.000Z"]);
  });
});
