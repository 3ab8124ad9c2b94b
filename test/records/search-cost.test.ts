/**
 * `search` over long texts with a long term, as a hostile member would send it: the match is a
 * substring test (`instr` / `strpos`), not `LIKE '%…%'`, whose backtracking cost the term's length
 * times the text's per row — a 500-character term over 100 descriptions of 100,000 characters held
 * SQLite's event loop (and so every request of every organization) for 5.6 s. Postgres keeps `LIKE`
 * for terms of up to LIKE_MAX_TERM characters (bounded cost, better plans). Speed itself is the
 * bench's; here: which test each term gets, and that both find the same, literally.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { LIKE_MAX_TERM, sqlOf } from "../../src/db/dialect";
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
    test(`${list}: a 500-character search over 40 texts of 99,500 characters finds the one that holds it`, async () => {
      const r = await A()("GET", `/api/${list}?search=${TERM.toUpperCase()}`);
      expect(r.status).toBe(200);
      expect(r.body.results.map((x: { title?: string; name?: string }) => x.title ?? x.name)).toEqual(["the one"]);
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

describe("the substring test each term gets", () => {
  const of = (dialect: "sqlite" | "postgres", term: string) => {
    const { test: condition, param } = sqlOf({ dialect }).contains(term);
    return { sql: condition("h", "n"), param };
  };
  test.each([
    ["sqlite", "a short term", "milk", "instr(h, n) > 0", "milk"],
    ["sqlite", "a 500-character term", TERM, "instr(h, n) > 0", TERM],
    ["postgres", "a short term (its %, _ and \\ escaped)", "100%_\\", "h LIKE n ESCAPE '\\'", "%100\\%\\_\\\\%"],
    ["postgres", "a term of LIKE_MAX_TERM characters", "x".repeat(LIKE_MAX_TERM), "h LIKE n ESCAPE '\\'", `%${"x".repeat(LIKE_MAX_TERM)}%`],
    ["postgres", "a term of one more", "x".repeat(LIKE_MAX_TERM + 1), "strpos(h, n) > 0", "x".repeat(LIKE_MAX_TERM + 1)],
    ["postgres", "a 500-character term", TERM, "strpos(h, n) > 0", TERM],
  ] as const)("%s, %s", (dialect, _label, term, sql, param) => {
    expect(of(dialect, term)).toEqual({ sql, param });
  });
});
