import { expect, test } from "bun:test";
import { forEachDialect } from "../support/db";
import { countRows, world } from "./fixture";

const uuid = () => crypto.randomUUID();

forEachDialect("comments API", ({ db }) => {
  const w = world(db);
  const A = () => w.as(w.a);
  const B = () => w.as(w.b);
  const task = async (title = "t") => (await A()("POST", "/api/tasks", { title })).body as { id: string };
  const comment = async (body: Record<string, unknown>) => {
    const r = await A()("POST", "/api/comments", body);
    expect(r.status).toBe(201);
    return r.body;
  };

  test("create 201 with Location and ETag; author is the caller; threads with parent_id", async () => {
    const t = await task();
    const r = await A()("POST", "/api/comments", { task_id: t.id, body: "first" });
    expect(r.status).toBe(201);
    expect(r.headers.get("location")).toBe(`/api/comments/${r.body.id}`);
    expect(r.headers.get("etag")).toBe('"1"');
    expect(r.body).toMatchObject({ task_id: t.id, parent_id: null, body: "first", author_id: w.a.user.id, version: 1, vector_clock: { server: 1 } });
    const reply = await w.as(w.a2)("POST", "/api/comments", { task_id: t.id, parent_id: r.body.id, body: "reply" });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ parent_id: r.body.id, author_id: w.a2.user.id });
    const got = await A()("GET", `/api/comments/${reply.body.id}`);
    expect(got.body).toEqual(reply.body);
    expect(got.headers.get("etag")).toBe('"1"');
  });

  test("parent_id must be a live comment of the same task; task_id a live task of the organization", async () => {
    const t1 = await task();
    const t2 = await task();
    const onT2 = await comment({ task_id: t2.id, body: "on t2" });
    const deleted = await comment({ task_id: t1.id, body: "gone" });
    await A()("DELETE", `/api/comments/${deleted.id}`);
    const theirTask = (await B()("POST", "/api/tasks", { title: "B" })).body;
    const theirComment = (await B()("POST", "/api/comments", { task_id: theirTask.id, body: "B" })).body;
    const deletedTask = await task();
    await A()("DELETE", `/api/tasks/${deletedTask.id}`);
    const before = await countRows(db(), "comments", w.a.org.id);
    for (const [body, field] of [
      [{ task_id: t1.id, parent_id: onT2.id, body: "x" }, "parent_id"],
      [{ task_id: t1.id, parent_id: deleted.id, body: "x" }, "parent_id"],
      [{ task_id: t1.id, parent_id: uuid(), body: "x" }, "parent_id"],
      [{ task_id: theirTask.id, parent_id: theirComment.id, body: "x" }, "task_id"],
      [{ task_id: t1.id, parent_id: theirComment.id, body: "x" }, "parent_id"],
      [{ task_id: uuid(), body: "x" }, "task_id"],
      [{ task_id: deletedTask.id, body: "x" }, "task_id"],
      [{ task_id: t1.id, body: "" }, "body"],
      [{ task_id: "t1", body: "x" }, "task_id"],
      [{ body: "x" }, "task_id"],
      [{ task_id: t1.id, body: "x", author_id: w.a2.user.id }, "author_id"],
      [{ task_id: t1.id, body: "x", version: 2 }, "version"],
    ] as const) {
      const r = await A()("POST", "/api/comments", body);
      expect(`${JSON.stringify(body)} ${r.status}`).toBe(`${JSON.stringify(body)} 422`);
      expect(Object.keys(r.body.error.details.fields)).toContain(field);
    }
    expect(await countRows(db(), "comments", w.a.org.id)).toBe(before);
  });

  test("PATCH edits the body with optimistic locking; task_id and parent_id are fixed", async () => {
    const t = await task();
    const c = await comment({ task_id: t.id, body: "v1" });
    const ok = await A()("PATCH", `/api/comments/${c.id}`, { body: "v2" }, { "if-match": '"1"' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("etag")).toBe('"2"');
    expect(ok.body).toMatchObject({ body: "v2", version: 2, vector_clock: { server: 2 } });
    const stale = await A()("PATCH", `/api/comments/${c.id}`, { body: "v3" }, { "if-match": '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.body.error.details.current).toEqual(ok.body);
    const stale409 = await A()("PATCH", `/api/comments/${c.id}`, { body: "v3", version: 1 });
    expect(stale409.status).toBe(409);
    expect(stale409.body.error.details.current).toEqual(ok.body);
    const other = await comment({ task_id: t.id, body: "another thread" });
    for (const [body, field, reason] of [
      [{ task_id: (await task()).id }, "task_id", "a comment cannot move to another task"],
      [{ parent_id: other.id }, "parent_id", "a comment cannot move in its thread"],
      [{ author_id: w.a2.user.id }, "author_id", undefined],
    ] as const) {
      const r = await A()("PATCH", `/api/comments/${c.id}`, { ...body, body: "moved" });
      expect(r.status).toBe(422);
      expect(Object.keys(r.body.error.details.fields)).toContain(field);
      if (reason) expect(r.body.error.details.fields[field]).toBe(reason);
    }
    expect((await A()("GET", `/api/comments/${c.id}`)).body).toEqual(ok.body);
  });

  test("PATCH takes task_id and parent_id sent back unchanged (the record as read), even under a deleted parent", async () => {
    const t = await task();
    const parent = await comment({ task_id: t.id, body: "parent" });
    const reply = await comment({ task_id: t.id, parent_id: parent.id, body: "reply" });
    const top = await A()("PATCH", `/api/comments/${parent.id}`, { task_id: t.id, parent_id: null, body: "parent, edited", version: 1 });
    expect([top.status, top.body.body, top.body.version]).toEqual([200, "parent, edited", 2]);
    expect((await A()("DELETE", `/api/comments/${parent.id}`)).status).toBe(204);
    const r = await A()("PATCH", `/api/comments/${reply.id}`, { task_id: t.id, parent_id: parent.id, body: "reply, edited" });
    expect([r.status, r.body.body, r.body.parent_id, r.body.version]).toEqual([200, "reply, edited", parent.id, 2]);
    const unchanged = await A()("PATCH", `/api/comments/${reply.id}`, { task_id: t.id, parent_id: parent.id });
    expect([unchanged.status, unchanged.body.version]).toEqual([200, 2]);
  });

  test("authorship: the author edits and deletes their comment; an admin deletes (moderates) any but edits only their own; anyone else gets 403 forbidden", async () => {
    const admin = await w.t.createUser({ org: w.a.org.slug, role: "admin" });
    const Admin = () => w.as(admin);
    const A2 = () => w.as(w.a2);
    const t = await task();
    const mine = await comment({ task_id: t.id, body: "a's words" });
    const expect403 = (r: { status: number; body: any }, what: string) => {
      expect(`${what} ${r.status} ${r.body?.error?.code}`).toBe(`${what} 403 forbidden`);
    };
    expect403(await A2()("PATCH", `/api/comments/${mine.id}`, { body: "a2 rewrites" }), "member edits");
    expect403(await A2()("DELETE", `/api/comments/${mine.id}`), "member deletes");
    expect403(await A2()("DELETE", `/api/comments/${mine.id}`, undefined, { "if-match": '"9"' }), "member deletes with a stale If-Match");
    expect403(await Admin()("PATCH", `/api/comments/${mine.id}`, { body: "admin rewrites" }), "admin edits");
    expect((await A()("GET", `/api/comments/${mine.id}`)).body).toEqual(mine);

    const theirs = (await Admin()("POST", "/api/comments", { task_id: t.id, body: "admin's words" })).body;
    expect403(await A()("PATCH", `/api/comments/${theirs.id}`, { body: "a rewrites" }), "member edits the admin's");
    expect403(await A()("DELETE", `/api/comments/${theirs.id}`), "member deletes the admin's");
    expect((await Admin()("PATCH", `/api/comments/${theirs.id}`, { body: "admin edits their own" })).status).toBe(200);

    const edited = await A()("PATCH", `/api/comments/${mine.id}`, { body: "a edits their own" });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ body: "a edits their own", author_id: w.a.user.id, version: 2 });
    const moderated = await Admin()("DELETE", `/api/comments/${mine.id}`);
    expect(moderated.status).toBe(204);
    const tomb = (await A()("GET", `/api/comments?task_id=${t.id}&include_deleted=true`)).body.results.find((c: { id: string }) => c.id === mine.id);
    expect(tomb).toMatchObject({ body: "a edits their own", deleted_by: admin.user.id });
    const reply = await comment({ task_id: t.id, body: "again" });
    expect((await A()("DELETE", `/api/comments/${reply.id}`)).status).toBe(204);
  });

  test("lists: /api/comments?task_id= and /api/tasks/{id}/comments, oldest first unless ordered otherwise, deleted hidden unless include_deleted", async () => {
    const t = await task();
    const other = await task();
    const c1 = await comment({ task_id: t.id, body: "1" });
    const c2 = await comment({ task_id: t.id, body: "2", parent_id: c1.id });
    const c3 = await comment({ task_id: t.id, body: "3" });
    await comment({ task_id: other.id, body: "elsewhere" });
    expect((await A()("DELETE", `/api/comments/${c3.id}`)).status).toBe(204);
    expect((await A()("GET", `/api/comments/${c3.id}`)).status).toBe(404);
    const ids = (r: { body: { results: { id: string }[] } }) => r.body.results.map((c) => c.id);
    expect(ids(await A()("GET", `/api/comments?task_id=${t.id}`))).toEqual([c1.id, c2.id]);
    expect(ids(await A()("GET", `/api/tasks/${t.id}/comments`))).toEqual([c1.id, c2.id]);
    expect(ids(await A()("GET", `/api/tasks/${t.id}/comments?include_deleted=true`))).toEqual([c1.id, c2.id, c3.id]);
    expect(ids(await A()("GET", `/api/comments?task_id=${t.id}&ordering=-created_at`))).toEqual([c2.id, c1.id]);
    expect(ids(await A()("GET", `/api/tasks/${t.id}/comments?ordering=-created_at`))).toEqual([c2.id, c1.id]);
    expect((await A()("GET", `/api/tasks/${t.id}/comments?ordering=body`)).status).toBe(422);
    const tomb = (await A()("GET", `/api/comments?task_id=${t.id}&include_deleted=true`)).body.results[2];
    expect(tomb).toMatchObject({ id: c3.id, deleted_by: w.a.user.id, version: 2 });
    const bad = await A()("GET", "/api/comments?task_id=nope");
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.error.details.fields)).toContain("task_id");
    expect((await A()("GET", "/api/comments?ordering=body")).status).toBe(422);
    expect((await A()("GET", "/api/comments?page_size=100000")).status).toBe(422);
  });

  test("deleting a task hides its comments from every list and read; include_deleted shows them", async () => {
    const t = await task("with comments");
    const c = await comment({ task_id: t.id, body: "orphan" });
    expect((await A()("DELETE", `/api/tasks/${t.id}`)).status).toBe(204);
    const listed = (await A()("GET", "/api/comments?page_size=500")).body;
    const all = listed.results.map((x: { id: string }) => x.id);
    expect(all).not.toContain(c.id);
    expect(listed.count).toBe(all.length); // counted as listed (the count's own condition, src/comments/repo.ts)
    expect((await A()("GET", `/api/comments?task_id=${t.id}`)).body.count).toBe(0);
    expect((await A()("GET", `/api/tasks/${t.id}/comments`)).status).toBe(404);
    expect((await A()("GET", `/api/comments/${c.id}`)).status).toBe(404);
    expect((await A()("PATCH", `/api/comments/${c.id}`, { body: "x" })).status).toBe(404);
    expect((await A()("DELETE", `/api/comments/${c.id}`)).status).toBe(404);
    const shown = await A()("GET", `/api/tasks/${t.id}/comments?include_deleted=true`);
    expect(shown.body.results.map((x: { id: string }) => x.id)).toEqual([c.id]);
    expect(shown.body.results[0].deleted_at).toBeNull(); // hidden, not deleted
    expect((await A()("GET", `/api/comments?include_deleted=true&task_id=${t.id}`)).body.count).toBe(1);
  });

  test("isolation: another organization's comment is 404 and never listed", async () => {
    const t = await task();
    const c = await comment({ task_id: t.id, body: "private words" });
    const answers = await Promise.all([
      B()("GET", `/api/comments/${c.id}`),
      B()("PATCH", `/api/comments/${c.id}`, { body: "x" }),
      B()("DELETE", `/api/comments/${c.id}`),
    ]);
    expect(answers.map((r) => r.status)).toEqual([404, 404, 404]);
    expect((await B()("GET", `/api/comments?task_id=${t.id}&include_deleted=true`)).body.count).toBe(0);
    expect(JSON.stringify((await B()("GET", "/api/comments?page_size=500&include_deleted=true")).body)).not.toContain("private words");
    const other = (await B()("GET", "/api/comments?page_size=500")).body;
    expect(other.count).toBe(other.results.length);
    expect((await A()("GET", `/api/comments/${c.id}`)).body).toEqual(c);
  });
});
