/**
 * A REST 422 names at most MAX_FIELD_ERRORS failing fields and counts the others in
 * `details.more_fields`, as a pushed change's rejection does: the same mistake, the same `details`
 * (README, "One answer on every path"). Elysia stops at its first 64 errors; the count goes beyond them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_FIELD_ERRORS } from "../../src/records/validate";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { createTestDatabase } from "../support/db";

describe("how many failing fields a 422 names", () => {
  let drop: () => Promise<void>;
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    const d = await createTestDatabase("sqlite");
    drop = d.drop;
    t = await createTestApp(d.db);
    user = await t.createUser();
  });
  afterAll(() => drop());

  const unknownKeys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
  const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  /** The `error` of a pushed create of a task with `data`. */
  async function pushed(data: Record<string, unknown>) {
    const change = { change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create", data, vector_clock: { [user.deviceId!]: 1 } };
    const r = await t.request("POST", "/api/sync/push", { token: user.token, body: { device_id: user.deviceId, changes: [change] } });
    expect([r.status, r.body.results[0].status]).toEqual([200, "rejected"]);
    return r.body.results[0].error;
  }

  test.each([
    ["30 unknown keys", { title: "t", ...unknownKeys(30) }, names("k", MAX_FIELD_ERRORS), 30 - MAX_FIELD_ERRORS],
    ["100 empty tags (beyond Elysia's 64 errors)", { title: "t", tags: Array.from({ length: 100 }, () => "") }, names("tags.", MAX_FIELD_ERRORS), 100 - MAX_FIELD_ERRORS],
    ["500 unknown keys", { title: "t", ...unknownKeys(500) }, names("k", MAX_FIELD_ERRORS), 500 - MAX_FIELD_ERRORS],
  ])("a create with %s: the first named, the others counted in more_fields, as a push says", async (_, body, named, more) => {
    const r = await t.request("POST", "/api/tasks", { token: user.token, body });
    expect(r.status).toBe(422);
    expect(Object.keys(r.body.error.details.fields)).toEqual(named);
    expect(r.body.error.details.more_fields).toBe(more);
    expect(r.body.error.message).toBe(`invalid body: ${named.join(", ")} and ${more} more fields`);
    expect(r.body.error.details).toEqual((await pushed(body)).details);
  });

  test("a required field left out and 70 unknown keys: each counted once (TypeBox names a missing field twice)", async () => {
    const body = unknownKeys(70);
    const r = await t.request("POST", "/api/tasks", { token: user.token, body });
    expect(r.status).toBe(422);
    expect(Object.keys(r.body.error.details.fields)).toEqual(["title", ...names("k", MAX_FIELD_ERRORS - 1)]);
    expect(r.body.error.details.fields.title).toBe("is required");
    expect(r.body.error.details.more_fields).toBe(71 - MAX_FIELD_ERRORS);
  });

  test("exactly the limit: every field named, no more_fields", async () => {
    const r = await t.request("POST", "/api/tasks", { token: user.token, body: { title: "t", ...unknownKeys(MAX_FIELD_ERRORS) } });
    expect([r.status, Object.keys(r.body.error.details)]).toEqual([422, ["fields"]]);
    expect(Object.keys(r.body.error.details.fields)).toEqual(names("k", MAX_FIELD_ERRORS));
    expect(r.body.error.message).toBe(`invalid body: ${names("k", MAX_FIELD_ERRORS).join(", ")}`);
  });
});
