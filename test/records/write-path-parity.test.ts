/**
 * One mistake, one answer, whichever way the write arrives: a REST create or PATCH (422), a pushed
 * create or update (`rejected` with the same `error`), a conflict resolution over HTTP (422) or
 * through the service the CLI calls. `details.fields` names the same keys with the same reasons.
 */
import { beforeAll, expect, test } from "bun:test";
import { DomainError } from "../../src/errors";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData } from "../sync/helpers";

forEachDialect("write paths answer one mistake alike", ({ db }) => {
  let t: TestApp;
  let me: TestUser;
  let other: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    me = await t.createUser();
    other = await t.createUser({ org: me.org.slug });
  });
  const req = (method: string, path: string, body?: unknown) => t.request(method, path, { token: me.token, body });

  /** A title conflict on a new task: its id and the conflict's. */
  async function titleConflict(): Promise<{ taskId: string; conflictId: string }> {
    const a = Device.of(t, me);
    const b = Device.of(t, other);
    const c = a.create("task", taskData({ title: "Buy milk" }));
    b.learn(c.entity_id, (await a.push1(c)).record);
    await a.push1(a.update("task", c.entity_id, { title: "Buy oat milk" }));
    const r = await b.push1(b.update("task", c.entity_id, { title: "Buy soy milk" }));
    expect(r.status).toBe("conflict");
    return { taskId: c.entity_id, conflictId: r.conflict_id! };
  }

  /** `details.fields` of every path's refusal of `data` on a task (a create adds a title when `data` has none). */
  async function fieldsOnEveryPath(data: Record<string, unknown>): Promise<Record<string, unknown>> {
    const d = Device.of(t, me);
    const task = (await req("POST", "/api/tasks", { title: "kept" })).body;
    d.learn(task.id, task);
    const { taskId, conflictId } = await titleConflict();
    const created = await req("POST", "/api/tasks", { title: "t", ...data });
    const patched = await req("PATCH", `/api/tasks/${task.id}`, data);
    const pushedCreate = await d.push1(d.create("task", taskData(data)));
    const pushedUpdate = await d.push1(d.update("task", task.id, data));
    const resolved = await t.request("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token: other.token, body: { resolution: "custom", data } });
    const cli = await t.services.conflicts.resolveAnyOrg(conflictId, { resolution: "custom", data }).then(
      () => null,
      (err: unknown) => (err instanceof DomainError ? { status: err.status, code: err.code, details: err.details } : err),
    );
    const out: Record<string, unknown> = {
      "REST create": [created.status, created.body.error?.code, created.body.error?.details?.fields],
      "REST PATCH": [patched.status, patched.body.error?.code, patched.body.error?.details?.fields],
      "push create": [pushedCreate.status, pushedCreate.error?.code, pushedCreate.error?.details?.fields],
      "push update": [pushedUpdate.status, pushedUpdate.error?.code, pushedUpdate.error?.details?.fields],
      "resolve (HTTP)": [resolved.status, resolved.body.error?.code, resolved.body.error?.details?.fields],
      "resolve (CLI service)": cli === null ? ["resolved"] : [(cli as DomainError).status, (cli as DomainError).code, ((cli as DomainError).details as { fields?: unknown }).fields],
    };
    // Nothing written by any refusal.
    expect((await req("GET", `/api/tasks/${task.id}`)).body).toMatchObject({ version: 1, tags: [] });
    expect((await req("GET", `/api/tasks/${taskId}`)).body.version).toBe(3);
    return out;
  }

  test("bad elements of tags are named tags.<index>, each with its reason, on every path", async () => {
    const fields = { "tags.1": "must not be empty", "tags.2": "must not be blank (only whitespace)", "tags.3": "must be a string", "tags.4": "must not contain the NUL character (U+0000)" };
    const got = await fieldsOnEveryPath({ tags: ["ok", "", " ", 1, "a\u0000"] });
    expect(got).toEqual({
      "REST create": [422, "validation_failed", fields],
      "REST PATCH": [422, "validation_failed", fields],
      "push create": ["rejected", "validation_failed", fields],
      "push update": ["rejected", "validation_failed", fields],
      "resolve (HTTP)": [422, "validation_failed", fields],
      "resolve (CLI service)": [422, "validation_failed", fields],
    });
  });

  test("a bad tag beside another bad field: both named alike on every path", async () => {
    const fields = { "tags.0": "must be at most 100 characters", due_date: "must be in the form: ISO date (YYYY-MM-DD) or date-time with zone (or null)" };
    const got = await fieldsOnEveryPath({ tags: ["x".repeat(101)], due_date: "tomorrow" });
    for (const [path, answer] of Object.entries(got)) expect([path, ...(answer as unknown[]).slice(1)]).toEqual([path, "validation_failed", fields]);
  });

  test("a required field left out is named `is required` by a REST create and a pushed create alike", async () => {
    const d = Device.of(t, me);
    const task = (await req("POST", "/api/tasks", { title: "t" })).body;
    const cases: [string, "task" | "comment" | "project", Record<string, unknown>, Record<string, string>][] = [
      ["/api/tasks", "task", { description: "no title" }, { title: "is required" }],
      ["/api/projects", "project", { color: "red" }, { name: "is required" }],
      ["/api/comments", "comment", { body: "no task" }, { task_id: "is required" }],
      ["/api/comments", "comment", { task_id: task.id }, { body: "is required" }],
    ];
    for (const [path, entity, data, fields] of cases) {
      const rest = await req("POST", path, data);
      expect([path, rest.status, rest.body.error.details.fields]).toEqual([path, 422, fields]);
      const pushed = await d.push1(d.create(entity, data));
      expect([entity, pushed.status, pushed.error?.code, pushed.error?.details?.fields]).toEqual([entity, "rejected", "validation_failed", fields]);
    }
  });
});
