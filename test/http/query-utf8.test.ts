/**
 * A query value whose percent-escapes are not UTF-8 (`?search=%FF`, `?cursor=%C3`) was taken as
 * written: a search for the three characters `%FF`, a cursor `%C3` (400 invalid_cursor). The client
 * meant bytes that are no text; the request is now refused with 422 naming the parameter, as a body
 * that is not UTF-8 is refused. A `%` that starts no escape stays a character (the URL standard's reading).
 */
import { expect, test } from "bun:test";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import { NOT_UTF8_REASON, undecodableParameter } from "../../src/wire/query";
import { createTestApp } from "../support/app";

test("over HTTP: 422 naming the parameter, in the contract's error body; valid escapes, a lone %, undeclared parameters and the token check as before", async () => {
  const db = openDatabase("sqlite::memory:");
  try {
    await migrate(db);
    const t = await createTestApp(db);
    const a = await t.createUser();
    const get = (path: string) => t.request("GET", path, { token: a.token });
    await t.request("POST", "/api/tasks", { token: a.token, body: { title: "café 100%zz" } });

    const refused: [string, string][] = [
      ["/api/tasks?search=%FF", "search"],
      ["/api/tasks?search=caf%C3", "search"],
      ["/api/tasks?tag=%ED%A0%80", "tag"], // an encoded surrogate
      ["/api/tasks?ordering=title&sea%72ch=%C0%AF", "search"], // an overlong "/", the key itself escaped
      ["/api/projects?search=%F4%90%80%80", "search"], // above U+10FFFF
      [`/api/sync/pull?device_id=${a.deviceId}&cursor=%C3`, "cursor"],
      ["/api/comments?page=1&task_id=%FF", "task_id"],
    ];
    for (const [path, name] of refused) {
      const r = await get(path);
      expect([path, r.status, r.body.error.code, Object.keys(r.body.error.details.fields)]).toEqual([path, 422, "validation_failed", [name]]);
      if (name !== "task_id") expect(r.body.error).toEqual({ code: "validation_failed", message: `invalid query: ${name}`, details: { fields: { [name]: NOT_UTF8_REASON } } });
    }
    expect((await t.request("GET", "/api/tasks?search=%FF")).status).toBe(401);

    const found = async (path: string) => ((await get(path)).body.results as { title: string }[]).map((r) => r.title);
    expect(await found("/api/tasks?search=caf%C3%A9")).toEqual(["café 100%zz"]);
    expect(await found("/api/tasks?search=100%")).toEqual(["café 100%zz"]);
    expect(await found("/api/tasks?search=%zz")).toEqual(["café 100%zz"]);
    expect(await found("/api/tasks?%FF=1&x=%FF")).toEqual(["café 100%zz"]);
  } finally {
    await db.close();
  }
});

test("undecodableParameter: the first declared parameter whose escapes are not UTF-8", () => {
  const declared = new Set(["search", "tag", "page"]);
  const at = (query: string) => undecodableParameter(`http://h/api/tasks${query}`, declared);
  expect(at("")).toBeNull();
  expect(at("?search=%C3%A9&tag=a+b&page=2")).toBeNull();
  expect(at("?search=100%&tag=%zz%2")).toBeNull();
  expect(at("?other=%FF")).toBeNull();
  expect(at("?search")).toBeNull();
  expect(at("?search=%FF")).toBe("search");
  expect(at("?search=ok&tag=%E2%82")).toBe("tag");
  expect(at("?ta%67=%80")).toBe("tag");
  expect(at("?search=%ED%BF%BF")).toBe("search");
});
