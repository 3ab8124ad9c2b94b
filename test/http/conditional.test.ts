import { beforeAll, describe, expect, test } from "bun:test";
import { noneMatch } from "../../src/wire/conditional";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

describe("noneMatch", () => {
  test.each([
    [null, '"3"', false],
    ['"3"', '"3"', true],
    ['"2"', '"3"', false],
    ['"1", "3"', '"3"', true],
    ['W/"3"', '"3"', true],
    ["*", '"3"', true],
    ["3", '"3"', true],
    ["W/3", '"3"', true],
    ["2, 3", '"3"', true],
    ["33", '"3"', false],
    ['"3', '"3"', false],
  ])("If-None-Match %p against %p: %p", (header, etag, match) => {
    expect(noneMatch(header, etag)).toBe(match);
  });
});

forEachDialect("conditional GET of a record", ({ db }) => {
  let t: TestApp;
  let u: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    u = await t.createUser();
  });

  test("the ETag sent back in If-None-Match: 304 without a body while the record is unchanged, 200 with it once it changed", async () => {
    for (const [path, body, patch] of [
      ["/api/tasks", { title: "cached" }, { title: "changed" }],
      ["/api/projects", { name: "cached" }, { name: "changed" }],
    ] as const) {
      const created = await t.request("POST", path, { token: u.token, body });
      const url = `http://localhost${path}/${created.body.id}`;
      const get = (etag: string) => t.app.handle(new Request(url, { headers: { authorization: `Bearer ${u.token}`, "if-none-match": etag } }));
      const same = await get('"1"');
      expect([same.status, same.headers.get("etag"), await same.text()]).toEqual([304, '"1"', ""]);
      const head = await t.app.handle(new Request(url, { method: "HEAD", headers: { authorization: `Bearer ${u.token}`, "if-none-match": '"1"' } }));
      expect(head.status).toBe(304);
      expect((await get('"7"')).status).toBe(200);
      expect((await t.request("PATCH", `${path}/${created.body.id}`, { token: u.token, body: patch })).status).toBe(200);
      const changed = await get('"1"');
      expect([changed.status, changed.headers.get("etag")]).toEqual([200, '"2"']);
      expect(((await changed.json()) as { version: number }).version).toBe(2);
    }
  });

  test("lists and writes are never 304", async () => {
    const list = await t.app.handle(new Request("http://localhost/api/tasks", { headers: { authorization: `Bearer ${u.token}`, "if-none-match": "*" } }));
    expect(list.status).toBe(200);
    const created = await t.request("POST", "/api/tasks", { token: u.token, body: { title: "x" }, headers: { "if-none-match": "*" } });
    expect(created.status).toBe(201);
  });
});
