import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { type Clock, Device, taskData, twoDevices } from "./helpers";

/**
 * README, client notes: a device's own clock entry for a record must keep growing across pulls. A
 * pull brings the server's version, which does not hold the device's edits not yet pushed; a client
 * that takes its next counter from that pulled clock reuses one it already gave an unpushed edit, and
 * the later edit then reads as older than the server's record once the earlier one is in: `stale`,
 * not applied (found by the conflicts QA pass with a client that did so).
 */
forEachDialect("a device's own counter across a pull with edits not yet pushed", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  /** B edits a task offline (title), pulls A's edit, edits again (priority) with its counter from `second`, pushes both. */
  async function run(second: (pulled: Clock, first: Clock, b: Device) => Clock) {
    const { a, b } = await twoDevices(t);
    const created = a.create("task", taskData({ title: "plan", priority: "low" }));
    b.learn(created.entity_id, (await a.push1(created)).record);
    const id = created.entity_id;
    const first = b.update("task", id, { title: "plan it" });
    expect((await a.push1(a.update("task", id, { status: "done" }))).status).toBe("applied");
    await b.pullAll();
    const pulled = b.known.get(id)!;
    const later = { ...b.update("task", id, { priority: "high" }), base_version: pulled.version, vector_clock: second(pulled.clock, first.vector_clock, b) };
    const statuses = (await b.push(first, later)).map((r) => r.status);
    const record = (await t.request("GET", `/api/tasks/${id}`, { token: a.user.token })).body;
    return { statuses, fields: { title: record.title, priority: record.priority, status: record.status } };
  }

  test("a counter taken from the pulled clock is one already used: the later edit is stale, not applied", async () => {
    const r = await run((pulled, _first, b) => ({ ...pulled, [b.id]: (pulled[b.id] ?? 0) + 1 }));
    expect(r.statuses).toEqual(["merged", "stale"]);
    expect(r.fields).toEqual({ title: "plan it", priority: "low", status: "done" });
  });

  test("one more than the highest counter the device used: both edits are kept", async () => {
    const r = await run((pulled, first, b) => ({ ...pulled, [b.id]: Math.max(pulled[b.id] ?? 0, first[b.id]) + 1 }));
    expect(r.statuses).toEqual(["merged", "merged"]);
    expect(r.fields).toEqual({ title: "plan it", priority: "high", status: "done" });
  });
});
