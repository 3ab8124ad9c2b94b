/**
 * The work a refused body costs is bounded by the schema, not by the body (README, "Limits"): an array
 * longer than its `maxItems` is refused as too long, its elements neither checked nor named nor counted,
 * and `details.more_fields` stops counting at MAX_MORE_FIELDS. A 5 MB body of 1.2 million empty tags
 * cost seconds of the one event loop (every element checked, named and counted), during which every
 * other request waited. REST and push still answer the same `details` for the same mistake.
 */
import { beforeAll, expect, test } from "bun:test";
import { TypeRegistry } from "@sinclair/typebox";
import { MAX_FIELD_ERRORS } from "../../src/records/validate";
import { MAX_MORE_FIELDS } from "../../src/records/value-errors";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

/** Counts the checks of `Text` values (each tag is one) made while `fn` runs: the seam the element checks go through. */
async function textChecks<T>(fn: () => Promise<T>): Promise<{ result: T; checks: number }> {
  const check = TypeRegistry.Get("Text")!;
  let checks = 0;
  TypeRegistry.Set("Text", (schema, value) => (checks++, check(schema, value)));
  try {
    return { result: await fn(), checks };
  } finally {
    TypeRegistry.Set("Text", check);
  }
}

const TOO_LONG = { fields: { tags: "must have at most 100 items" } };

forEachDialect("a refused body's cost is bounded", ({ db }) => {
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    user = await t.createUser();
  });

  const change = (data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    change_id: crypto.randomUUID(),
    entity: "task",
    entity_id: crypto.randomUUID(),
    op: "create",
    data,
    vector_clock: { [user.deviceId!]: 1 },
    ...extra,
  });

  /** The `error` of one pushed change. */
  async function pushed(c: Record<string, unknown>) {
    const r = await t.request("POST", "/api/sync/push", { token: user.token, body: { device_id: user.deviceId, changes: [c] } });
    expect([r.status, r.body.results[0].status]).toEqual([200, "rejected"]);
    return r.body.results[0].error;
  }

  const unknownKeys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

  test.each([
    ["1.2 million empty tags", 1_200_000, ""],
    ["1.2 million tags that are each valid", 1_200_000, "a"],
    ["101 empty tags (one over)", 101, ""],
  ])("%s: too long, its elements not checked — on REST and push alike", async (_, n, tag) => {
    const body = { title: "t", tags: Array.from({ length: n }, () => tag) };
    const rest = await textChecks(() => t.request("POST", "/api/tasks", { token: user.token, body }));
    expect(rest.result.status).toBe(422);
    expect(rest.result.body.error.details).toEqual(TOO_LONG);
    expect(rest.result.body.error.message).toBe("invalid body: tags");
    // Outside production (as tests run; the CLI sets NODE_ENV=production, cli/production.ts) Elysia
    // itself checks a refused body up to its first 64 errors, and every valid element between them:
    // bounded here only where those are the first elements. The 422's own work is bounded for every
    // body (test/records/value-errors.test.ts); before, it re-read all 1.2 million.
    if (tag === "") expect(rest.checks).toBeLessThan(100);

    const push = await textChecks(() => pushed(change(body)));
    expect(push.result.code).toBe("validation_failed");
    expect(push.result.details).toEqual(TOO_LONG);
    expect(push.checks).toBeLessThan(10);
  });

  test("100 tags (at the limit) are still each checked and named", async () => {
    const body = { title: "t", tags: Array.from({ length: 100 }, () => "") };
    const r = await t.request("POST", "/api/tasks", { token: user.token, body });
    expect(r.body.error.details.fields["tags.0"]).toBeDefined();
    expect(r.body.error.details.more_fields).toBe(100 - MAX_FIELD_ERRORS);
  });

  test(`more_fields stops counting at ${MAX_MORE_FIELDS}: REST and push answer the same`, async () => {
    const body = { title: "t", ...unknownKeys(50_000) };
    const r = await t.request("POST", "/api/tasks", { token: user.token, body });
    expect(r.status).toBe(422);
    expect(Object.keys(r.body.error.details.fields)).toHaveLength(MAX_FIELD_ERRORS);
    expect(r.body.error.details.more_fields).toBe(MAX_MORE_FIELDS);
    expect(r.body.error.message).toEndWith(` and ${MAX_MORE_FIELDS} more fields`);
    expect((await pushed(change(body))).details).toEqual(r.body.error.details);
  });

  test(`a change's own unknown keys are counted up to ${MAX_MORE_FIELDS} too`, async () => {
    const error = await pushed(change({ title: "t" }, unknownKeys(50_000)));
    expect(error.code).toBe("invalid_change");
    expect(Object.keys(error.details.fields)).toHaveLength(MAX_FIELD_ERRORS);
    expect(error.details.more_fields).toBe(MAX_MORE_FIELDS);
  });

  test("just under the cap, the count is exact", async () => {
    const body = { title: "t", ...unknownKeys(MAX_FIELD_ERRORS + MAX_MORE_FIELDS - 1) };
    const r = await t.request("POST", "/api/tasks", { token: user.token, body });
    expect(r.body.error.details.more_fields).toBe(MAX_MORE_FIELDS - 1);
    expect((await pushed(change(body))).details.more_fields).toBe(MAX_MORE_FIELDS - 1);
  });
});
