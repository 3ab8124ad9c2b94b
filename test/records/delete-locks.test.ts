/**
 * A DELETE is locked like a PATCH (contract: "Optimistic locking"): `If-Match: "<version>"` → 412
 * `precondition_failed`, a body `{"version": N}` → 409 `version_conflict`, both with the current record at
 * `error.details.current` and its `ETag`; the record is not deleted. Projects, tasks and comments alike.
 */
import { expect, test } from "bun:test";
import { forEachDialect } from "../support/db";
import { world } from "./fixture";

forEachDialect("DELETE with a version", ({ db }) => {
  const w = world(db);
  const A = () => w.as(w.a);

  const RESOURCES: { name: string; path: string; create: () => Promise<{ id: string }>; edit: Record<string, unknown> }[] = [
    { name: "projects", path: "/api/projects", create: async () => (await A()("POST", "/api/projects", { name: "P" })).body, edit: { name: "P2" } },
    { name: "tasks", path: "/api/tasks", create: async () => (await A()("POST", "/api/tasks", { title: "T" })).body, edit: { title: "T2" } },
    {
      name: "comments",
      path: "/api/comments",
      create: async () => {
        const task = (await A()("POST", "/api/tasks", { title: "T" })).body;
        return (await A()("POST", "/api/comments", { task_id: task.id, body: "C" })).body;
      },
      edit: { body: "C2" },
    },
  ];

  for (const { name, path, create, edit } of RESOURCES) {
    /** A record at version 2 (created, then edited): version 1 is stale. */
    const atVersion2 = async () => {
      const created = await create();
      const edited = await A()("PATCH", `${path}/${created.id}`, edit);
      expect(edited.body.version).toBe(2);
      return { url: `${path}/${created.id}`, current: edited.body };
    };

    test(`${name}: a stale body version answers 409 version_conflict with details.current and its ETag, and deletes nothing`, async () => {
      const { url, current } = await atVersion2();
      const stale = await A()("DELETE", url, { version: 1 });
      expect(stale.status).toBe(409);
      expect(stale.body.error.code).toBe("version_conflict");
      expect(stale.body.error.details.current).toEqual(current);
      expect(stale.headers.get("etag")).toBe('"2"');
      // A matching If-Match does not excuse a stale body version.
      expect((await A()("DELETE", url, { version: 1 }, { "if-match": '"2"' })).status).toBe(409);
      expect((await A()("GET", url)).body).toEqual(current);
      expect((await A()("DELETE", url, { version: 2 })).status).toBe(204);
      expect((await A()("GET", url)).status).toBe(404);
    });

    test(`${name}: a stale If-Match answers 412 precondition_failed with details.current, and deletes nothing`, async () => {
      const { url, current } = await atVersion2();
      const stale = await A()("DELETE", url, undefined, { "if-match": '"1"' });
      expect(stale.status).toBe(412);
      expect(stale.body.error.code).toBe("precondition_failed");
      expect(stale.body.error.details.current).toEqual(current);
      expect((await A()("GET", url)).body).toEqual(current);
      expect((await A()("DELETE", url, undefined, { "if-match": '"2"' })).status).toBe(204);
    });

    test(`${name}: a DELETE body holds only version (422 naming anything else); no body deletes unlocked`, async () => {
      const { url, current } = await atVersion2();
      for (const [body, field] of [
        [{ versoin: 2 }, "versoin"],
        [{ version: 0 }, "version"],
        [{ version: "2" }, "version"],
        [{ version: 2, deleted_at: null }, "deleted_at"],
      ] as const) {
        const r = await A()("DELETE", url, body);
        expect(`${JSON.stringify(body)} ${r.status}`).toBe(`${JSON.stringify(body)} 422`);
        expect(Object.keys(r.body.error.details.fields)).toContain(field);
      }
      expect((await A()("GET", url)).body).toEqual(current);
      expect((await A()("DELETE", url)).status).toBe(204);
    });

    // Found by fuzzing the API: Elysia validates an optional body only when it is a non-empty object,
    // so these passed as "no body" and the record was deleted without the lock the client sent.
    test(`${name}: a DELETE body that is JSON but not an object (2, "2", [], true, null) answers 422 naming body, and deletes nothing`, async () => {
      const { url, current } = await atVersion2();
      for (const body of ["1", '"1"', "[]", "true", "false", "null", "0"]) {
        const r = await A()("DELETE", url, body);
        expect(`${body} ${r.status} ${r.body?.error?.code}`).toBe(`${body} 422 validation_failed`);
        expect(r.body.error.details.fields).toEqual({ body: "must be a JSON object" });
      }
      expect((await A()("GET", url)).body).toEqual(current);
      expect((await A()("DELETE", url, {})).status).toBe(204);
    });
  }

  test("archive: a body that is JSON but not an object answers 422 naming body, and archives nothing", async () => {
    const p = (await A()("POST", "/api/projects", { name: "P" })).body;
    for (const body of ["1", '"1"', "[]", "true", "null"]) {
      const r = await A()("POST", `/api/projects/${p.id}/archive`, body);
      expect(`${body} ${r.status} ${r.body?.error?.code}`).toBe(`${body} 422 validation_failed`);
      expect(r.body.error.details.fields).toEqual({ body: "must be a JSON object" });
    }
    expect((await A()("GET", `/api/projects/${p.id}`)).body).toEqual(p);
    expect((await A()("POST", `/api/projects/${p.id}/archive`, {})).body.archived).toBe(true);
  });

  test("a body that is not an object is still 401 without a token (authentication first)", async () => {
    const p = (await A()("POST", "/api/projects", { name: "P" })).body;
    const r = await w.t.request("DELETE", `/api/projects/${p.id}`, { body: "2" });
    expect(r.status).toBe(401);
  });
});
