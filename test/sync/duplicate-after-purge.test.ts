import { beforeEach, expect, test } from "bun:test";
import { createTestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";
import { DAY, resetTables } from "../jobs/seed";
import { taskData, twoDevices } from "./helpers";

/**
 * A change answered against a tombstone (`stale`, or `rejected` with the record), re-sent after the
 * tombstone was purged while the change's exactly-once row is still kept (the row is younger than the
 * tombstone, and both expire a retention after they were written): the `duplicate` answers the original
 * result — status, version, clock, error — with `record: null`, the server holding no record any more
 * (its history went with it). Documented, not a defect (README, client notes; found by review).
 */
forEachDialect("a duplicate of a change whose record was purged since", ({ db }) => {
  beforeEach(() => resetTables(db()));

  async function setup() {
    const clock = new ManualClock(new Date("2026-03-01T09:00:00.000Z"));
    const t = await createTestApp(db(), { clock, config: { tombstoneRetentionDays: 90 } });
    const { a, b, ua } = await twoDevices(t);
    const created = a.create("task", taskData({ title: "gone" }));
    b.learn(created.entity_id, (await a.push1(created)).record);
    expect((await b.push1(b.delete("task", created.entity_id))).status).toBe("applied");
    /** Days later (a new token for the device: the old one expired). */
    const later = async (days: number) => {
      clock.advance(days * DAY);
      a.user.token = await t.tokenFor(ua.user, a.id);
    };
    await later(10);
    return { t, later, a, id: created.entity_id, createClock: created.vector_clock };
  }

  test("a change answered stale (the tombstone) and re-sent after the purge: duplicate of the original answer, record null", async () => {
    const { t, later, a, id, createClock } = await setup();
    // The device's own create clock again: BEFORE the tombstone's.
    const change = { change_id: crypto.randomUUID(), entity: "task", entity_id: id, op: "update", data: { title: "late" }, base_version: 1, vector_clock: createClock };
    const first = await a.push1(change);
    expect([first.status, first.version, first.record?.deleted_at !== null]).toEqual(["stale", 2, true]);
    await later(85); // the tombstone is 95 days old, the change's row 85
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ tasks: 1, sync_change_rows: 2 });
    const again = await a.push1(change);
    expect([again.status, again.version, again.vector_clock, again.record]).toEqual(["duplicate", first.version, first.vector_clock, null]);
  });

  test("a change rejected with the record (forged_clock) and re-sent after the purge: duplicate of the rejection, record null", async () => {
    const { t, later, a, id } = await setup();
    const change = { change_id: crypto.randomUUID(), entity: "task", entity_id: id, op: "update", data: { title: "late" }, base_version: 2, vector_clock: { [a.id]: 2, server: 9 } };
    const first = await a.push1(change);
    expect([first.status, first.error?.code, first.version]).toEqual(["rejected", "forged_clock", 2]);
    await later(85);
    expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ tasks: 1 });
    const again = await a.push1(change);
    expect([again.status, again.error?.code, again.version, again.record]).toEqual(["duplicate", "forged_clock", 2, null]);
    // Processed anew it would be not_found; the record is gone either way.
    expect((await t.request("GET", `/api/tasks/${id}`, { token: a.user.token })).status).toBe(404);
  });
});
