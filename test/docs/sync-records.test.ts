import { beforeAll, expect, test } from "bun:test";
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { changeText } from "../../src/records/feed";
import { Comment, Project, Task } from "../../src/records/model";
import { ConflictSide, PushResponse } from "../../src/sync/model";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData, twoDevices } from "../sync/helpers";

/**
 * The OpenAPI document types the records inside sync answers (src/docs/records.ts) while the server
 * does not check them: these tests pin that the push and pull paths are unchanged — a pull page is
 * the database's JSON text, sent as it is; a push answer is checked against a model whose records
 * are any object — and that the document's types hold for what the server answers.
 */
forEachDialect("sync records: typed in the document only", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  const RECORDS: Record<string, TSchema> = { task: Task, project: Project, comment: Comment };
  /** The document's `SyncRecord` (oneOf Task, Project, Comment): exactly one of them, the one `entity` names. */
  const expectRecordOf = (entity: string, record: unknown) => {
    expect(Object.entries(RECORDS).filter(([, model]) => Value.Check(model, record)).map(([kind]) => kind)).toEqual([entity]);
  };
  const route = (method: string, path: string) => t.app.routes.find((r) => r.method === method && r.path === path)!;

  test("a pull page is sent as the database put it together: the answer is the service's bytes, no record checked", async () => {
    const { a, ua } = await twoDevices(t);
    const c = a.create("task", taskData());
    expect((await a.push1(c)).status).toBe("applied");
    // A feed row whose record is no task at all: checked against the document's types, the answer would fail.
    const change = changeText({ entity: "task", entityId: c.entity_id, op: "upsert", version: 1, record: '{"not":"a task"}', vectorClock: "{}" });
    await t.deps.db.run("UPDATE feed SET change = ? WHERE entity_id = ?", [change, c.entity_id]);
    const res = await t.app.handle(new Request(`http://localhost/api/sync/pull?device_id=${a.id}`, { headers: { authorization: `Bearer ${ua.token}` } }));
    expect(res.status).toBe(200);
    const sent = new Uint8Array(await res.arrayBuffer());
    const body = Buffer.concat(await t.services.sync.pullBody({ userId: ua.user.id, orgId: ua.org.id, deviceId: a.id }, { device_id: a.id }));
    expect(new TextDecoder().decode(sent)).toBe(new TextDecoder().decode(body));
    expect(JSON.parse(new TextDecoder().decode(sent)).changes[0].record).toEqual({ not: "a task" });
  });

  test("a push answer is checked against the model it was checked against before: its records may be any object", () => {
    expect((route("POST", "/api/sync/push").hooks.response as Record<number, unknown>)[200]).toBe(PushResponse);
    const result = { change_id: null, status: "rejected", entity: null, entity_id: null, version: null, vector_clock: null, record: { not: "a task" } };
    expect(Value.Check(PushResponse, { results: [result] })).toBe(true);
  });

  test("the document's types hold for the records the server answers: push results, pulled changes, conflicts, resolutions", async () => {
    const { a, b, ua } = await twoDevices(t);
    const p = a.create("project", { name: "P" });
    const task = a.create("task", taskData({ project_id: p.entity_id, due_date: "2026-03-01T08:00+01:00" }));
    const cm = a.create("comment", { task_id: task.entity_id, body: "hi" });
    const pushed = await a.push(p, task, cm);
    for (const r of pushed) expectRecordOf(r.entity!, r.record);
    // Answered as the date-time format says (UTC, seconds included), though sent without seconds.
    expect(pushed[1]!.record.due_date).toBe("2026-03-01T07:00:00.000Z");

    const third = Device.of(t, await t.createUser({ org: ua.org.slug }));
    const pulled = await b.pullAll();
    await third.pullAll();
    expect(pulled.map((c) => c.entity).sort()).toEqual(["comment", "project", "task"]);
    for (const c of pulled) expectRecordOf(c.entity, c.record);

    // Delete, then a concurrent update: a conflict whose sides hold fields and deleted_at, not whole records.
    expect((await a.push1(a.delete("task", task.entity_id))).status).toBe("applied");
    const r = await b.push1(b.update("task", task.entity_id, { title: "T edited" }));
    expect(r.status).toBe("conflict");
    expectRecordOf("task", r.record);
    const conflict = (await t.request("GET", `/api/sync/conflicts/${r.conflict_id}`, { token: ua.token })).body;
    for (const side of ["local", "remote", "base"]) expect(Value.Check(ConflictSide, conflict[side]), side).toBe(true);
    expect(Value.Check(Task, conflict.local)).toBe(false);
    // A third device pulls the tombstone (op delete): a whole task still, deleted_at set.
    const tombstones = (await third.pullAll()).filter((c) => c.op === "delete");
    expect(tombstones.map((c) => c.entity_id)).toEqual([task.entity_id]);
    expectRecordOf("task", tombstones[0]!.record);
    expect(tombstones[0]!.record.deleted_at).toEqual(expect.any(String));
    const resolved = await t.request("POST", `/api/sync/conflicts/${r.conflict_id}/resolve`, { token: ua.token, body: { resolution: "remote" } });
    expect(resolved.status).toBe(200);
    expectRecordOf("task", resolved.body);
  });

  test("an impossible due date is still refused by the server: 422 on a write, rejected in a push", async () => {
    const { a, ua } = await twoDevices(t);
    const rest = await t.request("POST", "/api/tasks", { token: ua.token, body: { title: "T", due_date: "2026-02-30" } });
    expect(rest.status).toBe(422);
    expect(rest.body.error.details.fields).toHaveProperty("due_date");
    const r = await a.push1(a.create("task", taskData({ due_date: "2026-02-30" })));
    expect(r).toMatchObject({ status: "rejected", error: { code: "validation_failed", details: { fields: { due_date: expect.any(String) } } } });
  });
});
