/**
 * A resolution that writes a reference into a record that stays deleted (a field conflict on a task
 * deleted since, resolved `custom`) checks it as a PATCH would: a project or user the organization
 * does not have is 422 naming the field, the conflict stays open and nothing is written. The write
 * core checked references only of records that end live, so the tombstone took the other
 * organization's id, and a later resolution bringing the record back (which checks only the
 * references it changes) left a live task naming it. Both dialects.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { taskData, twoDevices } from "./helpers";

forEachDialect("a resolution's references on a deleted record", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  const resolve = (token: string, id: string, body: unknown) => t.request("POST", `/api/sync/conflicts/${id}/resolve`, { token, body });

  test("custom naming another organization's user or project, or none, is 422 and writes nothing", async () => {
    const { a, b, ua } = await twoDevices(t);
    const token = ua.token;
    const stranger = await t.createUser();
    const foreignProject = await t.request("POST", "/api/projects", { token: stranger.token, body: { name: "theirs" } });
    const ownProject = await t.request("POST", "/api/projects", { token, body: { name: "ours" } });
    const c = a.create("task", taskData({ title: "Buy milk" }));
    b.learn(c.entity_id, (await a.push1(c)).record);
    await a.push1(a.update("task", c.entity_id, { title: "Buy oat milk" }));
    const r = await b.push1(b.update("task", c.entity_id, { title: "Buy soy milk" }));
    expect(r.status).toBe("conflict");
    expect((await t.request("DELETE", `/api/tasks/${c.entity_id}`, { token })).status).toBe(204);
    const before = (await t.request("GET", `/api/tasks/${c.entity_id}/history`, { token })).body.count;

    for (const [field, value] of [
      ["assignee_id", stranger.user.id],
      ["project_id", foreignProject.body.id],
      ["project_id", crypto.randomUUID()],
    ] as const) {
      const refused = await resolve(token, r.conflict_id!, { resolution: "custom", data: { title: "Buy milk", [field]: value } });
      expect([refused.status, refused.body.error?.code, Object.keys(refused.body.error?.details?.fields ?? {})]).toEqual([422, "validation_failed", [field]]);
    }
    expect((await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token })).body.resolved_at).toBeNull();
    expect((await t.request("GET", `/api/tasks/${c.entity_id}/history`, { token })).body.count).toBe(before);

    // The organization's own references are written into the tombstone as into a live record.
    const ok = await resolve(token, r.conflict_id!, { resolution: "custom", data: { title: "Buy milk", project_id: ownProject.body.id, assignee_id: ua.user.id } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ title: "Buy milk", project_id: ownProject.body.id, assignee_id: ua.user.id });
    expect(ok.body.deleted_at).not.toBeNull();
  });
});
