/**
 * `search` over long texts with a long term, as a hostile member would send it: the match is a
 * substring search (`instr` / `strpos`), not `LIKE '%…%'`, whose backtracking on SQLite cost the
 * term's length times the text's per row — a 500-character term over 100 descriptions of 100,000
 * characters held the event loop (and so every request of every organization) for 5.6 s.
 */
import { beforeAll, expect, test } from "bun:test";
import { forEachDialect } from "../support/db";
import { world } from "./fixture";

/** The worst case of a backtracking match: the term is all the text's letter but its last character. */
const TEXT = "a".repeat(99_500); // with TERM after it: 100,000, the most a description holds
const TERM = `${"a".repeat(499)}b`;

forEachDialect("search cost", ({ db }) => {
  const w = world(db);
  const A = () => w.as(w.a);

  beforeAll(async () => {
    for (let i = 0; i < 40; i++) {
      expect((await A()("POST", "/api/tasks", { title: `long ${i}`, description: TEXT })).status).toBe(201);
      expect((await A()("POST", "/api/projects", { name: `long ${i}`, description: TEXT })).status).toBe(201);
    }
    expect((await A()("POST", "/api/tasks", { title: "the one", description: `${TEXT}${TERM}` })).status).toBe(201);
    expect((await A()("POST", "/api/projects", { name: "the one", description: `${TEXT}${TERM}` })).status).toBe(201);
  });

  for (const list of ["tasks", "projects"] as const) {
    test(`${list}: a 500-character search over 40 texts of 99,500 characters answers at once, and right`, async () => {
      const started = performance.now();
      const r = await A()("GET", `/api/${list}?search=${TERM.toUpperCase()}`);
      const took = performance.now() - started;
      expect(r.status).toBe(200);
      expect(r.body.results.map((x: { title?: string; name?: string }) => x.title ?? x.name)).toEqual(["the one"]);
      // LIKE took about 2.7 s here on SQLite (68 ms a row); the substring search takes about 1 ms a row.
      expect(took).toBeLessThan(1000);
    });
  }

  test("the search stays literal and case-insensitive: %, _ and \\ match only themselves", async () => {
    for (const title of ["100% done", "snake_case", "back\\slash", "plain"]) {
      expect((await A()("POST", "/api/tasks", { title: `lit ${title}` })).status).toBe(201);
    }
    const found = async (term: string) =>
      (await A()("GET", `/api/tasks?search=${encodeURIComponent(term)}&ordering=title`)).body.results.map((x: { title: string }) => x.title);
    expect(await found("lit %")).toEqual([]);
    expect(await found("0% D")).toEqual(["lit 100% done"]);
    expect(await found("E_C")).toEqual(["lit snake_case"]);
    expect(await found("k\\s")).toEqual(["lit back\\slash"]);
    expect(await found("lit _")).toEqual([]);
    expect(await found("LIT P")).toEqual(["lit plain"]);
  });
});
