/**
 * sync-notes.md, "Exactly once": the (device, change_id) row must commit with the change's effects
 * or not at all — a row committed while the effects roll back turns the client's retry into a
 * `duplicate` of a change that was never applied (lost forever). The crash test (test/cli/crash.test.ts)
 * finds that only when a kill happens to fall in the gap; here the push's transaction is made to
 * fail after everything of the batch was written, every time, on the bulk path and on the careful
 * (savepoint) path, and the retry must apply the changes as new.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { count, forEachDialect } from "../support/db";
import { wrapTransactions } from "../support/wrap-transactions";
import { Device, taskData } from "./helpers";

forEachDialect("a push whose transaction fails after the batch ran", ({ db }) => {
  let t: TestApp;
  /** Set: the next transaction runs its function (the whole batch), then fails before COMMIT. */
  let failNext = false;
  beforeAll(async () => {
    const real = db();
    const flaky = wrapTransactions(real, async (fn, tx) => {
      const result = await fn(tx);
      if (failNext) {
        failNext = false;
        throw new Error("injected failure after the batch, before COMMIT");
      }
      return result;
    });
    t = await createTestApp(flaky);
  });

  /** A device with a task it created (answered), ready for a batch of a create and an update. */
  async function batchOf(): Promise<{ d: Device; changes: ReturnType<Device["create"]>[] }> {
    const d = Device.of(t, await t.createUser());
    const existing = d.create("task", taskData({ title: "before" }));
    expect((await d.push1(existing)).status).toBe("applied");
    const changes = [d.create("task", taskData({ title: "new" })), d.update("task", existing.entity_id, { title: "edited" })];
    return { d, changes };
  }

  async function expectNothingRemembered(d: Device, changes: { change_id: string; entity_id: string }[]): Promise<void> {
    const ids = changes.map((c) => c.change_id);
    expect(await count(t.deps.db, `SELECT COUNT(*) AS n FROM sync_changes WHERE device_id = ? AND change_id IN (${ids.map(() => "?").join(", ")})`, [d.id, ...ids])).toBe(0);
  }

  async function expectRetryApplies(d: Device, changes: ReturnType<Device["create"]>[]): Promise<void> {
    const retry = await d.push(...changes);
    expect(retry.map((r) => r.status)).toEqual(changes.map(() => "applied"));
    expect(retry.map((r) => r.record?.title)).toEqual(["new", "edited"]);
    // Applied once: the created task has one history entry, the edited one two.
    const history = await Promise.all(changes.map((c) => t.request("GET", `/api/tasks/${c.entity_id}/history`, { token: d.user.token })));
    expect(history.map((h) => h.body.results.length)).toEqual([1, 2]);
    const again = await d.push(...changes);
    expect(again.map((r) => r.status)).toEqual(["duplicate", "duplicate"]);
  }

  test("bulk path: 500, nothing of the batch stored (no sync_changes row), and the retry is applied, not a duplicate", async () => {
    const { d, changes } = await batchOf();
    failNext = true;
    const r = await d.pushRaw(changes);
    expect(failNext).toBe(false); // the push's own transaction took the failure
    expect(r.status).toBe(500);
    await expectNothingRemembered(d, changes);
    expect((await t.request("GET", `/api/tasks/${changes[0]!.entity_id}`, { token: d.user.token })).status).toBe(404);
    await expectRetryApplies(d, changes);
  });

  test("careful path (a change refused in the bulk store sends the batch through savepoints): the same", async () => {
    const { d, changes } = await batchOf();
    // The id of another organization's task: the bulk store's insert fails, the batch is redone change by change.
    const other = Device.of(t, await t.createUser());
    const taken = other.create("task", taskData({ title: "theirs" }));
    expect((await other.push1(taken)).status).toBe("applied");
    const clash = d.create("task", taskData({ title: "mine" }), taken.entity_id);
    failNext = true;
    const r = await d.pushRaw([...changes, clash]);
    expect(failNext).toBe(false);
    expect(r.status).toBe(500);
    await expectNothingRemembered(d, [...changes, clash]);
    await expectRetryApplies(d, changes);
    const refused = await d.push1(clash);
    expect(refused.status).toBe("rejected");
    expect(refused.error?.code).toBe("already_exists");
  });
});
