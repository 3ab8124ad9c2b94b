/**
 * The ids the server chooses are UUIDv7 (src/ids.ts): time first, so that each table's id index
 * grows at its end and the retention jobs delete whole pages at its start. Checked on what a client
 * sees (a task, a project, a device, a conflict, a history entry) and on what it does not (sync log rows).
 */
import { beforeAll, expect, test } from "bun:test";
import { isUuid } from "../../src/ids";
import { forEachDialect } from "../support/db";
import { world } from "./fixture";

/** The milliseconds a UUIDv7 carries in its first 48 bits; null for another version. */
const v7Time = (id: string): number | null => (isUuid(id) && id[14] === "7" ? parseInt(id.slice(0, 8) + id.slice(9, 13), 16) : null);

forEachDialect("ids chosen by the server", ({ db }) => {
  const w = world(db);
  const A = () => w.as(w.a);
  let started = 0;
  beforeAll(() => {
    started = Date.now();
  });

  test("a record created over REST gets a UUIDv7 of its creation time; one created later sorts later", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await A()("POST", "/api/tasks", { title: `task ${i}` });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
      await Bun.sleep(2);
    }
    for (const id of ids) {
      expect(id).toBe(id.toLowerCase());
      expect(v7Time(id)).toBeGreaterThanOrEqual(started);
      expect(v7Time(id)).toBeLessThanOrEqual(Date.now());
    }
    expect([...ids].sort()).toEqual(ids);
    const project = await A()("POST", "/api/projects", { name: "p" });
    expect(v7Time(project.body.id)).not.toBeNull();
    expect(project.body.id > ids[2]!).toBe(true);
  });

  test("devices, history entries, sync log rows and conflicts too", async () => {
    const device = await A()("POST", "/api/devices", { name: "laptop" });
    expect(device.status).toBe(201);
    expect(v7Time(device.body.id)).not.toBeNull();

    const task = (await A()("POST", "/api/tasks", { title: "shared words here" })).body;
    const history = await A()("GET", `/api/tasks/${task.id}/history`);
    expect(history.status).toBe(200);
    expect(history.body.results.length).toBeGreaterThan(0);
    for (const entry of history.body.results) expect(v7Time(entry.id)).not.toBeNull();

    // A concurrent edit of the same words from a device that never saw the REST edit: a conflict.
    await A()("PATCH", `/api/tasks/${task.id}`, { title: "shared words there" }, { "if-match": '"1"' });
    const push = await w.t.request("POST", "/api/sync/push", {
      token: await w.t.tokenFor(w.a.user, device.body.id),
      body: {
        device_id: device.body.id,
        changes: [{ change_id: crypto.randomUUID(), entity: "task", entity_id: task.id, op: "update", base_version: 1, vector_clock: { ...task.vector_clock, [device.body.id]: 1 }, data: { title: "shared words elsewhere" } }],
      },
    });
    expect(push.status).toBe(200);
    expect(push.body.results[0].status).toBe("conflict");
    expect(v7Time(push.body.results[0].conflict_id)).not.toBeNull();

    await w.t.services.sync.flushLog();
    const rows = await db().all<{ id: string }>("SELECT id FROM sync_log WHERE org_id = ?", [w.a.org.id]);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(v7Time(r.id)).not.toBeNull();
  });
});
