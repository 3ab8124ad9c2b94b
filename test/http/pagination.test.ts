import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { REPEATED_REASON } from "../../src/wire/query";
import { forEachDialect } from "../support/db";

/** Every list of the API goes through one pagination helper: same bounds, same 422 naming the field. */
forEachDialect("pagination of every list", ({ db }) => {
  let t: TestApp;
  let u: TestUser;
  let lists: string[];
  beforeAll(async () => {
    t = await createTestApp(db());
    u = await t.createUser({ role: "admin" });
    const task = await t.request("POST", "/api/tasks", { token: u.token, body: { title: "paged" } });
    expect(task.status).toBe(201);
    lists = [
      "/api/users",
      "/api/devices",
      "/api/projects",
      "/api/tasks",
      "/api/comments",
      `/api/tasks/${task.body.id}/comments`,
      `/api/tasks/${task.body.id}/history`,
      "/api/sync/conflicts",
      "/api/metrics/hourly",
    ];
  });

  const bad: [string, string][] = [
    ["page_size=100000", "page_size"],
    ["page_size=501", "page_size"],
    ["page_size=0", "page_size"],
    ["page_size=-1", "page_size"],
    ["page_size=abc", "page_size"],
    ["page=0", "page"],
    ["page=abc", "page"],
    ["page=1.5", "page"],
    ["page=99999999999999999999", "page"],
    // Number() would read these as integers; a query integer is decimal digits only.
    ["page=1e2", "page"],
    ["page_size=0x10", "page_size"],
    ["page=2.0", "page"],
    ["page=%207", "page"],
    ["page=", "page"],
    ["page_size=+5", "page_size"],
  ];

  test("out-of-range or non-integer page and page_size → 422 naming the field, on every list", async () => {
    for (const path of lists) {
      for (const [qs, field] of bad) {
        const r = await t.request("GET", `${path}?${qs}`, { token: u.token });
        expect({ path, qs, status: r.status, code: r.body?.error?.code }).toEqual({ path, qs, status: 422, code: "validation_failed" });
        expect({ path, qs, fields: Object.keys(r.body.error.details.fields) }).toEqual({ path, qs, fields: [field] });
        expect(r.body.error.message).toContain(field);
      }
    }
  });

  test("the reason says what a page parameter must be", async () => {
    const reason = async (qs: string) => (await t.request("GET", `/api/tasks?${qs}`, { token: u.token })).body.error.details.fields;
    expect(await reason("page=1e2")).toEqual({ page: "must be an integer" });
    for (const page of ["0", "9007199254740992"]) expect(await reason(`page=${page}`)).toEqual({ page: "must be an integer from 1 to 9007199254740991" });
    expect((await t.request("GET", "/api/tasks?page=9007199254740991", { token: u.token })).body).toMatchObject({ results: [], next: null });
    expect(await reason("page_size=0x10")).toEqual({ page_size: "must be an integer" });
    expect(await reason("page_size=501")).toEqual({ page_size: "must be an integer from 1 to 500" });
  });

  test("query parameters a list does not know are ignored, not refused (a cache-buster, tracing)", async () => {
    for (const path of [...lists, "/api/metrics", `/api/sync/pull?device_id=${u.deviceId}`]) {
      const r = await t.request("GET", `${path}${path.includes("?") ? "&" : "?"}_=1733400000000&trace=abc`, { token: u.token });
      expect(r.status, path).toBe(200);
    }
  });

  test("a parameter a route knows, given twice, is refused naming it (not its last value taken silently); an unknown one repeated is still ignored", async () => {
    const refused = async (url: string) => {
      const r = await t.request("GET", url, { token: u.token });
      expect(r.status, url).toBe(422);
      return r.body.error.details.fields;
    };
    for (const path of lists) expect(await refused(`${path}?page=1&page_size=5&page=2`)).toEqual({ page: REPEATED_REASON });
    expect(await refused("/api/tasks?status=todo&status=done")).toEqual({ status: REPEATED_REASON });
    expect(await refused("/api/tasks?ordering=title&search=a&ordering=-title")).toEqual({ ordering: REPEATED_REASON });
    expect(await refused(`/api/sync/pull?device_id=${u.deviceId}&limit=5&limit=6`)).toEqual({ limit: REPEATED_REASON });
    const head = await t.app.handle(new Request("http://localhost/api/tasks?status=todo&status=done", { method: "HEAD", headers: { authorization: `Bearer ${u.token}` } }));
    expect(head.status).toBe(422);
    // Authentication and the admin check come first, as for any invalid query.
    expect((await t.request("GET", "/api/tasks?status=todo&status=done")).status).toBe(401);
    const member = await t.createUser({ org: u.org.slug });
    expect((await t.request("GET", "/api/metrics/hourly?from=2026-01-01&from=2026-01-02", { token: member.token })).status).toBe(403);
    for (const url of ["/api/tasks?status=todo,done&_=1&_=2", "/api/tasks?tag=a&trace=x&trace=y", `/api/sync/pull?device_id=${u.deviceId}&x=1&x=2`]) {
      expect((await t.request("GET", url, { token: u.token })).status, url).toBe(200);
    }
  });

  test("the bounds themselves are accepted, and the envelope echoes the page size in its links", async () => {
    for (const path of lists) {
      const r = await t.request("GET", `${path}?page=1&page_size=500`, { token: u.token });
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
      expect(Object.keys(r.body).sort()).toEqual(["count", "next", "previous", "results"]);
      const second = await t.request("GET", `${path}?page=2&page_size=1`, { token: u.token });
      expect({ path, status: second.status }).toEqual({ path, status: 200 });
      expect(new URL(second.body.previous).searchParams.get("page_size")).toBe("1");
    }
  });

  test("next is null exactly from the last page on, also when the last page is full; without page_size a page is 50", async () => {
    const own = await t.createUser();
    for (let i = 0; i < 4; i++) expect((await t.request("POST", "/api/projects", { token: own.token, body: { name: `q${i}` } })).status).toBe(201);
    const page = async (qs: string) => (await t.request("GET", `/api/projects?${qs}`, { token: own.token })).body;
    const first = await page("page=1&page_size=2");
    expect([first.count, first.results.length, new URL(first.next).searchParams.get("page")]).toEqual([4, 2, "2"]);
    const second = await page("page=2&page_size=2");
    expect([second.results.length, second.next]).toEqual([2, null]);
    expect((await page("page=1&page_size=4")).next).toBeNull();
    expect((await page("page=1&page_size=3")).next).not.toBeNull();
    const defaulted = await page("page=2");
    expect(new URL(defaulted.previous).searchParams.get("page_size")).toBe("50");
  });

  test("a page past the end is empty; its previous link is the last page with results", async () => {
    for (let i = 0; i < 4; i++) await t.request("POST", "/api/projects", { token: u.token, body: { name: `p${i}` } });
    const count = (await t.request("GET", "/api/projects?page_size=2", { token: u.token })).body.count as number;
    const last = Math.ceil(count / 2);
    const past = await t.request("GET", `/api/projects?page=${last + 5}&page_size=2`, { token: u.token });
    expect(past.body.results).toEqual([]);
    expect(past.body.next).toBeNull();
    expect(new URL(past.body.previous).searchParams.get("page")).toBe(String(last));
    const lastPage = await t.request("GET", `/api/projects?page=${last}&page_size=2`, { token: u.token });
    expect(lastPage.body.results.length).toBeGreaterThan(0);
    expect(new URL(lastPage.body.previous).searchParams.get("page")).toBe(String(last - 1));
  });
});
