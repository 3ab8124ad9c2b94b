import { beforeEach, expect, test } from "bun:test";
import { createTestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";
import { DAY, resetTables } from "../jobs/seed";
import { taskData, twoDevices } from "./helpers";

/** A device's long life offline (client QA): past the tombstone horizon, past its refresh token, restored from a backup of its own store. */
forEachDialect("a device offline for a long time", ({ db }) => {
  beforeEach(() => resetTables(db()));

  const setup = async () => {
    const clock = new ManualClock(new Date("2026-03-01T09:00:00.000Z"));
    const t = await createTestApp(db(), { clock, config: { tombstoneRetentionDays: 90 } });
    const { a, b, ua } = await twoDevices(t);
    const live = a.create("task", taskData({ title: "live", description: "l1\nl2\nl3" }));
    const gone = a.create("task", taskData({ title: "gone" }));
    const project = a.create("project", { name: "gone too" });
    await a.push(live, gone, project);
    await a.pullAll();
    await b.pullAll();
    return { t, clock, a, b, ua, live: live.entity_id, gone: gone.entity_id, project: project.entity_id };
  };

  for (const order of ["pushed before the re-snapshot", "pushed after the re-snapshot"] as const) {
    test(`past the tombstone horizon, queue ${order}: edits of live records survive, those of purged ones and children of purged ones are refused`, async () => {
      const { t, clock, a, b, ua, live, gone, project } = await setup();
      const queue = [
        a.update("task", live, { priority: "high", description: "L1\nl2\nl3" }),
        a.update("task", gone, { title: "edited offline" }),
        a.create("comment", { task_id: gone, body: "on a purged task" }),
        a.create("task", taskData({ title: "in a purged project", project_id: project })),
      ];
      await b.push(b.update("task", live, { description: "l1\nl2\nL3" }), b.delete("task", gone), b.delete("project", project));
      clock.advance(91 * DAY);
      expect((await t.services.jobs.run("cleanup-tombstones")).result).toMatchObject({ tasks: 1, projects: 1 });
      a.user.token = await t.tokenFor(ua.user, a.id);

      const resnapshot = async () => {
        const stale = await a.pullRaw();
        expect([stale.status, (stale.body as unknown as { error?: { code: string } }).error?.code]).toEqual([410, "reset_required"]);
        a.cursor = null;
        return a.pullAll();
      };
      if (order === "pushed after the re-snapshot") expect((await resnapshot()).map((c) => c.entity_id)).toEqual([live]);
      const results = await a.push(...queue);
      expect(results.map((r) => [r.status, r.error?.code ?? null, r.error?.details?.fields ?? null])).toEqual([
        ["merged", null, null],
        ["rejected", "not_found", null],
        ["rejected", "validation_failed", { task_id: "no such task" }],
        ["rejected", "validation_failed", { project_id: "no such project" }],
      ]);
      expect(results[0].record).toMatchObject({ priority: "high", description: "L1\nl2\nL3" });
      if (order === "pushed before the re-snapshot") expect((await resnapshot()).map((c) => c.record.description)).toEqual(["L1\nl2\nL3"]);
      // the retry of the whole queue answers the same, as duplicates
      expect((await a.push(...queue)).map((r) => [r.status, r.error?.code ?? null])).toEqual([
        ["duplicate", null],
        ["duplicate", "not_found"],
        ["duplicate", "validation_failed"],
        ["duplicate", "validation_failed"],
      ]);
    });
  }

  test("a refresh token that expired offline: logged in again with the same device_id, its queue is applied exactly once", async () => {
    const { t, clock, a, ua, live } = await setup();
    const queue = [a.update("task", live, { title: "renamed" }), a.create("task", taskData({ title: "new" }))];
    expect((await a.push(...queue)).map((r) => r.status)).toEqual(["applied", "applied"]); // its answer lost
    clock.advance(31 * DAY);
    expect((await a.pushRaw(queue)).status).toBe(401);
    expect((await t.request("POST", "/api/auth/refresh", { body: { refresh: ua.refresh } })).status).toBe(401);
    const login = await t.request("POST", "/api/auth/login", { body: { email: ua.email, password: ua.password, device_id: a.id } });
    expect(login.status).toBe(200);
    a.user.token = login.body.access;
    expect((await a.push(...queue)).map((r) => [r.status, r.version])).toEqual([
      ["duplicate", 2],
      ["duplicate", 1],
    ]);
    expect(await a.pullAll()).toEqual([]);
  });

  test("a store restored from an old backup: its cursor does not bring back its own later writes, a snapshot does; an edit reusing its counter is stale", async () => {
    const { a, live } = await setup();
    const backup = { known: new Map(a.known), cursor: a.cursor };
    const created = a.create("task", taskData({ title: "after the backup" }));
    await a.push(a.update("task", live, { priority: "high" }), created);

    a.known.clear();
    for (const [k, v] of backup.known) a.known.set(k, v);
    a.cursor = backup.cursor;
    expect(await a.pullAll()).toEqual([]); // its own writes are left out of an incremental pull
    const edit = await a.push1(a.update("task", live, { priority: "low" }));
    expect([edit.status, edit.record.priority, edit.version]).toEqual(["stale", "high", 2]);

    a.cursor = null;
    const snapshot = await a.pullAll();
    expect(snapshot.filter((c) => c.entity === "task").map((c) => [c.record.title, c.record.priority]).sort()).toEqual([
      ["after the backup", "medium"],
      ["gone", "medium"],
      ["live", "high"],
    ]);
    expect((await a.push1(a.update("task", live, { priority: "low" }))).status).toBe("applied");
  });
});
