/**
 * 422 reasons in words, whatever the parameter (src/wire/reasons.ts): never a regular expression
 * or the validation library's own phrasing.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

forEachDialect("422 reasons", ({ db }) => {
  let t: TestApp;
  let u: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    u = await t.createUser();
  });

  test.each([
    ["GET", "/api/comments?task_id=bad", undefined, { task_id: "must be a UUID" }],
    ["GET", "/api/comments?task_id=", undefined, { task_id: "must be a UUID" }],
    ["POST", "/api/comments", { task_id: "bad", body: "x" }, { task_id: "must be a UUID" }],
    ["POST", "/api/comments", { body: "x" }, { task_id: "is required" }],
    ["POST", "/api/devices", { name: "x", id: "bad" }, { id: "must be a UUID" }],
    ["GET", "/api/sync/pull", undefined, { device_id: "is required" }],
    ["POST", "/api/tasks", { title: "x", project_id: "bad" }, { project_id: "must be a UUID or null" }],
    ["GET", "/api/tasks?status=doing", undefined, { status: "must be one or more of todo, in_progress, blocked, done, cancelled, comma-separated" }],
    ["GET", "/api/projects?ordering=zz", undefined, { ordering: "must be up to three of name, created_at, updated_at, comma-separated, each optionally prefixed with - (descending)" }],
    // Found by REST QA: TypeBox's own phrasing ("Expected array", "Property 'x' should not be provided").
    ["POST", "/api/tasks", { title: "x", tags: "a" }, { tags: "must be an array" }],
    ["POST", "/api/projects", { name: "x", archived: "yes" }, { archived: "must be a boolean" }],
    ["POST", "/api/tasks", { title: "x", foo: 1, version: 3 }, { foo: "unknown or read-only field", version: "unknown or read-only field" }],
    ["POST", "/api/sync/push", { device_id: "b8e0c0de-0000-4000-8000-000000000001", changes: "x" }, { changes: "must be an array" }],
    ["POST", "/api/sync/conflicts/b8e0c0de-0000-4000-8000-000000000001/resolve", { resolution: "custom", data: 5 }, { data: "must be an object" }],
    // Found by the conflicts QA pass (a custom resolution with 101 tags): TypeBox's "Expected array length to be less or equal to 100".
    ["POST", "/api/tasks", { title: "x", tags: Array.from({ length: 101 }, (_, i) => `t${i}`) }, { tags: "must have at most 100 items" }],
    // Found walking the README: a lock `version` out of range got TypeBox's "Expected integer to be greater or equal to 1".
    ["PATCH", "/api/tasks/b8e0c0de-0000-4000-8000-000000000001", { version: 0 }, { version: "must be an integer from 1 to 9007199254740991" }],
    ["DELETE", "/api/projects/b8e0c0de-0000-4000-8000-000000000001", { version: 2 ** 53 }, { version: "must be an integer from 1 to 9007199254740991" }],
    ["POST", "/api/projects/b8e0c0de-0000-4000-8000-000000000001/archive", { version: -1 }, { version: "must be an integer from 1 to 9007199254740991" }],
    // And a push's device_id of another type: "Expected property 'device_id' to be string but found: 5".
    ["POST", "/api/sync/push", { device_id: 5, changes: [] }, { device_id: "must be a string" }],
    // An enumerated string of another type still names its values.
    ["POST", "/api/tasks", { title: "x", status: 5 }, { status: 'must be one of "todo", "in_progress", "blocked", "done", "cancelled"' }],
  ] as const)("%s %s → 422 in words", async (method, path, body, fields) => {
    const r = await t.request(method, path, { token: u.token, body });
    expect(r.status).toBe(422);
    expect(r.body.error.details.fields).toEqual(fields);
  });
});
