/**
 * Tasks of one priority are listed by creation time, then id (migration 0011: the order of
 * `tasks_live_priority`, so that a push's new tasks append to the index instead of landing all over
 * it), in the direction of the ordering; a priority followed by another field is ordered by that field.
 */
import { expect, test } from "bun:test";
import { createTestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";

forEachDialect("tasks of one priority", ({ db }) => {
  test("ordering=priority lists ties by creation, -priority by creation descending; ids do not decide before created_at", async () => {
    const clock = new ManualClock();
    const t = await createTestApp(db(), { clock });
    const u = await t.createUser({ role: "admin" });
    // Ids chosen against creation order: by id the ties would come c, b, a.
    const specs = [
      ["a", "ffffffff-0000-4000-8000-000000000001", "high"],
      ["b", "88888888-0000-4000-8000-000000000001", "high"],
      ["low", "00000000-0000-4000-8000-000000000002", "low"],
      ["c", "00000000-0000-4000-8000-000000000001", "high"],
    ] as const;
    for (const [title, id, priority] of specs) {
      clock.advance(1000);
      expect((await t.request("POST", "/api/tasks", { token: u.token, body: { id, title, priority } })).status).toBe(201);
    }
    const titles = async (ordering: string) => {
      const r = await t.request("GET", `/api/tasks?ordering=${ordering}`, { token: u.token });
      expect(r.status).toBe(200);
      return r.body.results.map((x: { title: string }) => x.title);
    };
    expect(await titles("priority")).toEqual(["low", "a", "b", "c"]);
    expect(await titles("-priority")).toEqual(["c", "b", "a", "low"]);
    // Another field after priority decides the ties, not creation.
    expect(await titles("-priority,-title")).toEqual(["c", "b", "a", "low"]);
    expect(await titles("-priority,title")).toEqual(["a", "b", "c", "low"]);
  });
});
