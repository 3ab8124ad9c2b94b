/**
 * The API uses no cookies, so no route may parse them. Elysia decides what each route's handler
 * prepares by reading the source of the hooks: one hook that passes its whole context on
 * (`(ctx) => f(ctx)`) made every route parse the cookies of every request and rebuild every
 * `Response` it returned around the body's stream (CONTRIBUTING.md).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { createTestDatabase } from "../support/db";

let t: TestApp;
let drop: () => Promise<void>;
beforeAll(async () => {
  const created = await createTestDatabase("sqlite");
  drop = created.drop;
  t = await createTestApp(created.db);
});
afterAll(() => drop());

test("no route's compiled handler parses cookies", () => {
  const parsing = t.app.routes
    .filter((r) => String((r as unknown as { compile(): unknown }).compile()).includes("parseCookie"))
    .map((r) => `${r.method} ${r.path}`);
  expect(t.app.routes.length).toBeGreaterThan(30);
  expect(parsing).toEqual([]);
});
