import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { taskData, twoDevices } from "./helpers";

/**
 * Device B edits a task twice while offline (B1 then B2, both from the version it last pulled, its
 * own counter 1 then 2, as an honest client sends them) and pushes both at once; device A edits
 * the task concurrently. Whether A's edit reaches the server before or after B's push, B's later
 * edit is B's state: B1's value must not count against it as another device's, and A's value stands
 * against B's later edit as it would had A come last (found by reviews).
 */
forEachDialect("a device's own offline edits pushed together, and a concurrent edit", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  async function run(aFirst: boolean, b1: Record<string, unknown>, b2: Record<string, unknown>, a1: Record<string, unknown>) {
    const { a, b } = await twoDevices(t);
    const created = a.create("task", taskData({ title: "plan", priority: "medium" }));
    const base = (await a.push1(created)).record!;
    const id = created.entity_id;
    const change = (device: string, counter: number, data: Record<string, unknown>) => ({
      change_id: crypto.randomUUID(), entity: "task", entity_id: id, op: "update", data,
      base_version: base.version, vector_clock: { ...base.vector_clock, [device]: counter },
    });
    const B1 = change(b.id, 1, b1);
    const B2 = change(b.id, 2, b2);
    const A1 = change(a.id, (base.vector_clock[a.id] ?? 0) + 1, a1);
    const statuses: string[] = [];
    if (aFirst) statuses.push((await a.push1(A1)).status);
    statuses.push(...(await b.push(B1, B2)).map((r) => r.status));
    if (!aFirst) statuses.push((await a.push1(A1)).status);
    const record = (await t.request("GET", `/api/tasks/${id}`, { token: a.user.token })).body;
    return { statuses, fields: { title: record.title, priority: record.priority, status: record.status, tags: record.tags } };
  }

  const cases: [string, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>][] = [
    ["a priority lowered again (the earlier, higher value does not win)", { priority: "urgent" }, { priority: "low" }, { status: "done" }, { priority: "low", status: "done" }],
    ["a title edited twice (no conflict with itself)", { title: "plan v2" }, { title: "plan v3" }, { status: "done" }, { title: "plan v3", status: "done" }],
    ["a tag added then removed while A adds another (the removal holds)", { tags: ["x"] }, { tags: [] }, { tags: ["y"] }, { tags: ["y"] }],
    ["different fields", { priority: "high" }, { status: "blocked" }, { title: "plan it" }, { title: "plan it", priority: "high", status: "blocked" }],
    // A made the device's earlier change too: A's value then stands against the device's later one.
    ["a tag both add, which the device removes again", { tags: ["x"] }, { tags: [] }, { tags: ["x"] }, { tags: ["x"] }],
    ["a priority both raise, which the device lowers again", { priority: "high" }, { priority: "low" }, { priority: "high" }, { priority: "high" }],
    ["a status both set, which the device sets back", { status: "done" }, { status: "todo" }, { status: "done" }, { status: "done" }],
  ];
  test("a title both change alike, which the device changes again: a conflict in either order, as any two edits of the same words", async () => {
    for (const aFirst of [false, true]) {
      const r = await run(aFirst, { title: "plan v2" }, { title: "plan v3" }, { title: "plan v2" });
      expect(r.statuses).toContain("conflict");
    }
  });

  test("a later own edit in conflict with another device's leaves the field as the server held it (the Conflict's remote)", async () => {
    const { a, b } = await twoDevices(t);
    const created = a.create("task", taskData({ title: "alpha beta gamma delta" }));
    const base = (await a.push1(created)).record!;
    const change = (device: string, counter: number, data: Record<string, unknown>) => ({
      change_id: crypto.randomUUID(), entity: "task", entity_id: created.entity_id, op: "update", data,
      base_version: base.version, vector_clock: { ...base.vector_clock, [device]: counter },
    });
    expect((await a.push1(change(a.id, (base.vector_clock[a.id] ?? 0) + 1, { title: "ALPHA beta gamma delta" }))).status).toBe("applied");
    const [r1, r2] = await b.push(change(b.id, 1, { title: "alpha beta gamma DELTA" }), change(b.id, 2, { title: "Alpha beta gamma DELTA" }));
    expect([r1.status, r1.record?.title]).toEqual(["merged", "ALPHA beta gamma DELTA"]);
    expect(r2.status).toBe("conflict");
    const conflict = (await t.request("GET", `/api/sync/conflicts/${r2.conflict_id}`, { token: b.user.token })).body;
    expect([conflict.remote.title, r2.record?.title]).toEqual(["ALPHA beta gamma DELTA", "ALPHA beta gamma DELTA"]);
  });

  test("three own edits of one field: the third merges against the other device's value, not the device's own first edit", async () => {
    // Base medium; A raises it to high; B, offline, sets urgent, then low, then medium again (as it found it).
    for (const aFirst of [false, true]) {
      const { a, b } = await twoDevices(t);
      const created = a.create("task", taskData({ title: "plan", priority: "medium" }));
      const base = (await a.push1(created)).record!;
      const change = (device: string, counter: number, data: Record<string, unknown>) => ({
        change_id: crypto.randomUUID(), entity: "task", entity_id: created.entity_id, op: "update", data,
        base_version: base.version, vector_clock: { ...base.vector_clock, [device]: counter },
      });
      const A1 = change(a.id, (base.vector_clock[a.id] ?? 0) + 1, { priority: "high" });
      const bs = [change(b.id, 1, { priority: "urgent" }), change(b.id, 2, { priority: "low" }), change(b.id, 3, { priority: "medium" })];
      if (aFirst) await a.push1(A1);
      await b.push(...bs);
      if (!aFirst) await a.push1(A1);
      const record = (await t.request("GET", `/api/tasks/${created.entity_id}`, { token: a.user.token })).body;
      expect({ aFirst, priority: record.priority }).toEqual({ aFirst, priority: "high" });
    }
  });

  for (const [name, b1, b2, a1, expected] of cases) {
    test(`${name}: the same record whichever arrives first`, async () => {
      const bFirst = await run(false, b1, b2, a1);
      const aFirst = await run(true, b1, b2, a1);
      expect(bFirst.fields).toMatchObject(expected);
      expect(aFirst.fields).toEqual(bFirst.fields);
    });
  }
});
