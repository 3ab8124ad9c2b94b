/**
 * The API uses no cookies, so no route may parse them. Elysia decides what each route's handler
 * prepares by reading the source of the hooks: one hook that passes its whole context on
 * (`(ctx) => f(ctx)`) made every route parse the cookies of every request and rebuild every
 * `Response` it returned around the body's stream (CONTRIBUTING.md).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { openDatabase } from "../../src/db/open";
import type { Database } from "../../src/db/types";
import { createTestApp, type TestApp } from "../support/app";

let db: Database;
let t: TestApp;
beforeAll(async () => {
  // The routes are compiled without a database call: an unmigrated in-memory one will do.
  db = openDatabase("sqlite::memory:");
  t = await createTestApp(db);
});
afterAll(() => db.close());

test("no route's compiled handler parses cookies", () => {
  const parsing = t.app.routes
    .filter((r) => String((r as unknown as { compile(): unknown }).compile()).includes("parseCookie"))
    .map((r) => `${r.method} ${r.path}`);
  expect(t.app.routes.length).toBeGreaterThan(30);
  expect(parsing).toEqual([]);
});
