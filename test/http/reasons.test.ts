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
  ] as const)("%s %s → 422 in words", async (method, path, body, fields) => {
    const r = await t.request(method, path, { token: u.token, body });
    expect(r.status).toBe(422);
    expect(r.body.error.details.fields).toEqual(fields);
  });
});
