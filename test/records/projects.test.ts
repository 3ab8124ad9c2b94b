import { describe, expect, test } from "bun:test";
import { forEachDialect } from "../support/db";
import { countRows, world } from "./fixture";

const uuid = () => crypto.randomUUID();

forEachDialect("projects API", ({ db }) => {
  const w = world(db);
  const A = () => w.as(w.a);
  const B = () => w.as(w.b);

  test("create 201 with Location and ETag; read; defaults", async () => {
    const r = await A()("POST", "/api/projects", { name: "Garden", color: "#00aa00" });
    expect(r.status).toBe(201);
    expect(r.headers.get("location")).toBe(`/api/projects/${r.body.id}`);
    expect(r.headers.get("etag")).toBe('"1"');
    expect(r.body).toMatchObject({
      name: "Garden",
      description: "",
      color: "#00aa00",
      archived: false,
      created_by: w.a.user.id,
      version: 1,
      vector_clock: { server: 1 },
      deleted_at: null,
    });
    const got = await A()("GET", `/api/projects/${r.body.id}/`);
    expect(got.status).toBe(200);
    expect(got.headers.get("etag")).toBe('"1"');
    expect(got.body).toEqual(r.body);
  });

  test("client-supplied id; a duplicate answers 409 already_exists", async () => {
    const id = uuid();
    expect((await A()("POST", "/api/projects", { id, name: "one" })).status).toBe(201);
    const again = await A()("POST", "/api/projects", { id, name: "two" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("already_exists");
  });

  test("bad input answers 422 naming the field and creates nothing", async () => {
    const before = await countRows(db(), "projects", w.a.org.id);
    for (const [body, field] of [
      [{ name: "" }, "name"],
      [{ name: "n".repeat(201) }, "name"],
      [{}, "name"],
      [{ name: "x", archived: "yes" }, "archived"],
      [{ name: "x", id: "nope" }, "id"],
      [{ name: "x", version: 1 }, "version"],
      [{ name: "x", created_by: uuid() }, "created_by"],
      [{ name: "x", vector_clock: {} }, "vector_clock"],
    ] as const) {
      const r = await A()("POST", "/api/projects", body);
      expect(r.status).toBe(422);
      expect(Object.keys(r.body.error.details.fields)).toContain(field);
    }
    expect(await countRows(db(), "projects", w.a.org.id)).toBe(before);
  });

  test("archive sets archived (idempotent), PATCH archived:false un-archives; locks apply", async () => {
    const p = (await A()("POST", "/api/projects", { name: "Arch" })).body;
    const a = await A()("POST", `/api/projects/${p.id}/archive`);
    expect(a.status).toBe(200);
    expect(a.headers.get("etag")).toBe('"2"');
    expect(a.body).toMatchObject({ archived: true, version: 2, vector_clock: { server: 2 } });
    const again = await A()("POST", `/api/projects/${p.id}/archive`);
    expect(again.status).toBe(200);
    expect(again.body.version).toBe(2);
    const stale = await A()("POST", `/api/projects/${p.id}/archive`, { version: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.error.details.current.version).toBe(2);
    expect((await A()("POST", `/api/projects/${p.id}/archive`, undefined, { "if-match": '"1"' })).status).toBe(412);
    const un = await A()("PATCH", `/api/projects/${p.id}`, { archived: false }, { "if-match": '"2"' });
    expect(un.status).toBe(200);
    expect(un.body).toMatchObject({ archived: false, version: 3 });
    expect((await A()("GET", "/api/projects?archived=true")).body.results.map((x: { id: string }) => x.id)).not.toContain(p.id);
    await A()("POST", `/api/projects/${p.id}/archive`);
    expect((await A()("GET", "/api/projects?archived=true")).body.results.map((x: { id: string }) => x.id)).toContain(p.id);
    expect((await A()("GET", "/api/projects?archived=false")).body.results.map((x: { id: string }) => x.id)).not.toContain(p.id);
  });

  test("PATCH with a stale version: 409 / 412 with details.current, nothing changed", async () => {
    const p = (await A()("POST", "/api/projects", { name: "Locked" })).body;
    const ok = await A()("PATCH", `/api/projects/${p.id}`, { name: "Locked 2", version: 1 });
    expect(ok.status).toBe(200);
    const c409 = await A()("PATCH", `/api/projects/${p.id}`, { name: "nope", version: 1 });
    expect(c409.status).toBe(409);
    expect(c409.body.error.details.current).toEqual(ok.body);
    const c412 = await A()("PATCH", `/api/projects/${p.id}`, { name: "nope" }, { "if-match": '"1"' });
    expect(c412.status).toBe(412);
    expect(c412.body.error.details.current).toEqual(ok.body);
    expect((await A()("GET", `/api/projects/${p.id}`)).body).toEqual(ok.body);
  });

  test("soft delete: 204, 404 afterwards, hidden from lists unless include_deleted; its tasks keep project_id", async () => {
    const p = (await A()("POST", "/api/projects", { name: "Doomed project" })).body;
    const task = (await A()("POST", "/api/tasks", { title: "in doomed", project_id: p.id })).body;
    expect((await A()("DELETE", `/api/projects/${p.id}`)).status).toBe(204);
    expect((await A()("GET", `/api/projects/${p.id}`)).status).toBe(404);
    expect((await A()("POST", `/api/projects/${p.id}/archive`)).status).toBe(404);
    expect((await A()("GET", "/api/projects?search=doomed")).body.count).toBe(0);
    const all = await A()("GET", "/api/projects?search=doomed&include_deleted=true");
    expect(all.body.results).toHaveLength(1);
    expect(all.body.results[0]).toMatchObject({ id: p.id, deleted_by: w.a.user.id, version: 2 });
    expect((await A()("GET", `/api/tasks/${task.id}`)).body.project_id).toBe(p.id);
  });

  test("list: search (literal, case-insensitive), ordering, invalid ordering and page size", async () => {
    for (const name of ["Zeta 50%", "alpha_1", "Beta"]) await B()("POST", "/api/projects", { name });
    const names = async (qs: string) => (await B()("GET", `/api/projects?${qs}`)).body.results.map((x: { name: string }) => x.name);
    expect(await names("")).toEqual(["Beta", "Zeta 50%", "alpha_1"]);
    expect(await names("ordering=-name")).toEqual(["alpha_1", "Zeta 50%", "Beta"]);
    expect(await names("ordering=created_at")).toEqual(["Zeta 50%", "alpha_1", "Beta"]);
    expect(await names("search=ZETA")).toEqual(["Zeta 50%"]);
    expect(await names("search=%25")).toEqual(["Zeta 50%"]);
    expect(await names("search=_")).toEqual(["alpha_1"]);
    // Letters beyond ASCII, in any case (SQLite's own LOWER changes ASCII letters only).
    await B()("POST", "/api/projects", { name: "Ärger Projekt" });
    for (const term of ["Ärger", "ärger", "ÄRGER"]) expect(await names(`search=${encodeURIComponent(term)}`)).toEqual(["Ärger Projekt"]);
    for (const [qs, field] of [
      ["ordering=nope", "ordering"],
      ["page_size=100000", "page_size"],
      ["archived=perhaps", "archived"],
    ]) {
      const r = await B()("GET", `/api/projects?${qs}`);
      expect(r.status).toBe(422);
      expect(Object.keys(r.body.error.details.fields)).toContain(field);
    }
  });

  describe("isolation", () => {
    test("another organization's project is 404 for read, update, archive, delete and absent from lists", async () => {
      const p = (await A()("POST", "/api/projects", { name: "A secret project" })).body;
      const answers = await Promise.all([
        B()("GET", `/api/projects/${p.id}`),
        B()("PATCH", `/api/projects/${p.id}`, { name: "x" }),
        B()("POST", `/api/projects/${p.id}/archive`),
        B()("DELETE", `/api/projects/${p.id}`),
      ]);
      expect(answers.map((r) => r.status)).toEqual([404, 404, 404, 404]);
      expect((await B()("GET", "/api/projects?search=secret&include_deleted=true")).body.count).toBe(0);
      expect((await A()("GET", `/api/projects/${p.id}`)).body).toEqual(p);
    });
  });
});
