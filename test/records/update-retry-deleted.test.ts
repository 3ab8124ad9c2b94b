/**
 * An unlocked REST write whose compare-and-set lost to a delete, the record brought back (a
 * conflict's resolution) before the write read it again: the write must either answer 404 or be
 * applied — never answer 200/204 with the record as it is, its own change not written. The
 * interleaving is constructed inside the write's transaction (a wrapper that, at the write's
 * compare-and-set, first deletes the task as a concurrent delete would, and brings it back before
 * the write's next read of it), the same on both dialects.
 */
import { beforeAll, expect, test } from "bun:test";
import type { Database, Tx } from "../../src/db/types";
import { TaskService } from "../../src/tasks/service";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";

/** `inner` whose transactions delete task `id` just before the first compare-and-set of it, and (`revive`) bring it back before the read after that one's answer. */
function deletedThenRevived(inner: Database, id: string, revive = true): { db: Database; injected: () => boolean } {
  let step: "before-cas" | "read-after-cas" | "revive" | "done" = "before-cas";
  const wrap = (tx: Tx): Tx =>
    new Proxy(tx, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== "get" && prop !== "run") return typeof value === "function" ? value.bind(target) : value;
        return async (sql: string, params?: unknown[]) => {
          if (step === "before-cas" && /^UPDATE tasks SET .* AND version = \?$/.test(sql)) {
            step = "read-after-cas";
            await target.run("UPDATE tasks SET deleted_at = updated_at, version = version + 1 WHERE id = ?", [id]);
          } else if (step === "revive" && /FROM tasks WHERE id = \?/.test(sql)) {
            step = "done";
            if (revive) await target.run("UPDATE tasks SET deleted_at = NULL, version = version + 1 WHERE id = ?", [id]);
          } else if (step === "read-after-cas" && /FROM tasks WHERE id = \?/.test(sql)) {
            step = "revive";
          }
          return value.call(target, sql, params);
        };
      },
    });
  const db = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "transaction") return <T>(fn: (tx: Tx) => Promise<T>) => target.transaction((tx) => fn(wrap(tx)));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, injected: () => step === "done" };
}

forEachDialect("an unlocked REST write after a delete that was undone", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("PATCH without a lock: its change is in the record it answers and in the stored one", async () => {
    const u = await t.createUser();
    const task = await t.request("POST", "/api/tasks", { token: u.token, body: { title: "before" } });
    const race = deletedThenRevived(t.deps.db, task.body.id);
    const tasks = new TaskService({ db: race.db, clock: t.deps.clock });
    const answered = await tasks.update({ userId: u.user.id, orgId: u.org.id }, task.body.id, { title: "patched" }, {});
    expect(race.injected()).toBe(true);
    const stored = await t.request("GET", `/api/tasks/${task.body.id}`, { token: u.token });
    expect([answered.title, stored.body.title]).toEqual(["patched", "patched"]);
  });

  test("DELETE without a lock: the record it answered deleted is deleted", async () => {
    const u = await t.createUser();
    const task = await t.request("POST", "/api/tasks", { token: u.token, body: { title: "doomed" } });
    const race = deletedThenRevived(t.deps.db, task.body.id);
    const tasks = new TaskService({ db: race.db, clock: t.deps.clock });
    await tasks.delete({ userId: u.user.id, orgId: u.org.id }, task.body.id, {});
    expect(race.injected()).toBe(true);
    expect((await t.request("GET", `/api/tasks/${task.body.id}`, { token: u.token })).status).toBe(404);
  });

  test("PATCH without a lock, the task left deleted: 404 not_found", async () => {
    const u = await t.createUser();
    const task = await t.request("POST", "/api/tasks", { token: u.token, body: { title: "before" } });
    const race = deletedThenRevived(t.deps.db, task.body.id, false);
    const tasks = new TaskService({ db: race.db, clock: t.deps.clock });
    const refused = await tasks.update({ userId: u.user.id, orgId: u.org.id }, task.body.id, { title: "patched" }, {}).catch((e: unknown) => e);
    expect(race.injected()).toBe(true);
    expect((refused as { code?: string }).code).toBe("not_found");
  });
});
