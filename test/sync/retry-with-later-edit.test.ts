/**
 * A push whose answer was lost, re-sent with the device's later edit of the same record queued
 * behind it (the queue sent whole, as the README asks), after another device's concurrent edit
 * came in between. The retried change is a `duplicate`; the later edit must merge as the device's
 * own later value over its earlier one — exactly as when both arrive in one push for the first
 * time — not against its earlier value as if another device had written it (which made a lower
 * priority lose to the device's own higher one, and a retitle conflict with the device's own).
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { type Change, taskData, twoDevices } from "./helpers";

forEachDialect("a lost answer re-sent with a later edit of the same record", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  type Data = Record<string, unknown>;

  /**
   * `a`'s edits `first` then `later` (both from version 1, its counter 2 then 3), `b`'s concurrent
   * edit `other` in between. `lost`: `first` is pushed alone and its answer lost, then the queue
   * `[first, later]` is sent; otherwise the queue is sent once, after `other`. Answers `later`'s result.
   */
  async function scenario(initial: Data, first: Data, other: Data, later: Data, lost: boolean) {
    const { a, b } = await twoDevices(t);
    const made = a.create("task", taskData(initial));
    const v1 = (await a.push1(made)).record;
    b.learn(made.entity_id, v1);
    const id = made.entity_id;
    const u1 = a.update("task", id, first);
    const u2: Change = { ...a.update("task", id, later), vector_clock: { [a.id]: 3 } };
    if (lost) expect((await a.push1(u1)).status).toBe("applied");
    expect((await b.push1(b.update("task", id, other))).status).toBe(lost ? "merged" : "applied");
    const results = await a.push(u1, u2);
    expect(results[0].status).toBe(lost ? "duplicate" : "merged");
    return results[1];
  }

  const cases: [string, Data, Data, Data, Data, Data][] = [
    ["a priority raised then lowered", { priority: "medium" }, { priority: "urgent" }, { tags: ["x"] }, { priority: "low" }, { priority: "low", tags: ["x"] }],
    ["a title changed twice", { title: "Buy milk" }, { title: "Buy oat milk" }, { priority: "high" }, { title: "Buy soy milk" }, { title: "Buy soy milk", priority: "high" }],
    ["a tag added then removed", { tags: ["a"] }, { tags: ["a", "b"] }, { tags: ["a", "x"] }, { tags: ["a"] }, { tags: ["a", "x"] }],
  ];

  for (const [name, initial, first, other, later, expected] of cases) {
    test(`${name}: the later edit wins over the earlier one, with the other device's edit kept — as when the queue arrives once`, async () => {
      const once = await scenario(initial, first, other, later, false);
      expect(once.status).toBe("merged");
      expect(once.record).toMatchObject(expected);
      const retried = await scenario(initial, first, other, later, true);
      expect([retried.status, retried.conflict_id]).toEqual(["merged", undefined]);
      expect(retried.record).toMatchObject(expected);
    });
  }

  /** `first` pushed (answer lost), seen by `b` whose `other` is applied over it, then `a`'s queue `[first, later]`: `later`'s result. */
  async function editedSince(initial: Data, first: Data, other: Data, later: Data) {
    const { a, b } = await twoDevices(t);
    const made = a.create("task", taskData(initial));
    await a.push1(made);
    const id = made.entity_id;
    const u1 = a.update("task", id, first);
    const u2: Change = { ...a.update("task", id, later), vector_clock: { [a.id]: 3 } };
    b.learn(id, (await a.push1(u1)).record);
    expect((await b.push1(b.update("task", id, other))).status).toBe("applied");
    const [dup, r] = await a.push(u1, u2);
    expect(dup.status).toBe("duplicate");
    return r;
  }

  test("another device's edit of the same field after the lost answer is still a concurrent edit: merged by its rule", async () => {
    const r = await editedSince({ priority: "medium" }, { priority: "low" }, { priority: "urgent" }, { priority: "high" });
    expect([r.status, r.record.priority]).toEqual(["merged", "urgent"]);
  });

  test("tags another device changed after the lost answer: its additions and removals stay, and so does the device's later removal", async () => {
    const r = await editedSince({ tags: ["a"] }, { tags: ["a", "b"] }, { tags: ["b", "c"] }, { tags: ["a"] });
    expect([r.status, r.record.tags]).toEqual(["merged", ["c"]]);
  });

  test("a text another device changed after the lost answer: the later edit is a conflict, kept, never dropped", async () => {
    const r = await editedSince({ title: "Buy milk" }, { title: "Buy oat milk" }, { title: "Buy oat milk today" }, { title: "Buy soy milk" });
    expect([r.status, r.record.title]).toEqual(["conflict", "Buy oat milk today"]);
  });
});
