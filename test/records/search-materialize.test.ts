/**
 * A `search` materializes its matches before sorting them (src/tasks/repo.ts, `filterFirst`): only
 * their ids and sort keys, never whole rows. Materialized whole, every match's description (up to
 * 100,000 characters) was copied into the temporary table however small the page: a member with
 * 5,000 tasks of 100 KB made `GET /api/tasks?search=e&page_size=1` hold about 700 MB (SQLite's
 * `temp_store = MEMORY`) and SQLite's event loop, so every organization's requests, for 6.5 s.
 * Memory and time are the bench's to measure; here: what the statement materializes, and that the
 * pages it answers are exactly the ordinary list's, in every ordering.
 */
import { beforeAll, expect, test } from "bun:test";
import { TaskRepo } from "../../src/tasks/repo";
import { taskFilter } from "../../src/tasks/service";
import { forEachDialect } from "../support/db";
import { type SeenStatement, spyOn } from "../support/spy";
import { world } from "./fixture";

forEachDialect("search materializes ids and sort keys only", ({ db }) => {
  const w = world(db);
  const A = () => w.as(w.a);
  const mark = `srch${crypto.randomUUID().slice(0, 8)}`;
  const LONG = "x".repeat(100_000);

  beforeAll(async () => {
    const priorities = ["low", "urgent", "medium", "high", "medium", "low", "urgent"];
    for (let i = 0; i < priorities.length; i++) {
      const body = {
        title: `${mark} ${"gcaefbd"[i]}`,
        description: LONG,
        priority: priorities[i],
        tags: [mark],
        ...(i % 3 === 0 ? {} : { due_date: `2030-01-0${(i % 4) + 1}` }),
      };
      expect((await A()("POST", "/api/tasks", body)).status).toBe(201);
    }
    const doomed = await A()("POST", "/api/tasks", { title: `${mark} deleted`, description: LONG, tags: [mark] });
    expect((await A()("DELETE", `/api/tasks/${doomed.body.id}`)).status).toBe(204);
  });

  test("the statement of a search materializes no description (nor any whole row)", async () => {
    const seen: SeenStatement[] = [];
    const recording = spyOn(db(), seen);
    const r = await new TaskRepo(recording, w.a.org.id).list(taskFilter({ search: mark, ordering: "title" }), { page: 1, pageSize: 1 });
    expect([r.count, r.results.map((x) => x.title)]).toEqual([7, [`${mark} a`]]);
    expect(r.results[0]!.description).toBe(LONG);
    const materialized = seen.map((x) => x.sql).map((s) => /MATERIALIZED\s*\(\s*SELECT\s+([\s\S]*?)\s+FROM\s/i.exec(s)?.[1]).filter((x) => x !== undefined);
    expect(materialized).toHaveLength(1);
    const columns = materialized[0]!.split(",").map((c) => c.trim());
    expect(columns).toContain("id");
    expect(columns).not.toContain("description");
    expect(columns).not.toContain("*");
  });

  test("a search's pages are the list's pages, in every ordering, with deleted tasks or not", async () => {
    const orderings = ["title", "-title", "priority", "-priority", "due_date", "-due_date", "created_at", "-updated_at", "priority,-title", "-due_date,priority,title"];
    const page = async (qs: string) => {
      const r = await A()("GET", `/api/tasks?${qs}`);
      expect(r.status).toBe(200);
      return { count: r.body.count, titles: r.body.results.map((x: { title: string }) => x.title) };
    };
    for (const ordering of orderings) {
      for (const deleted of ["", "&include_deleted=true"]) {
        for (const p of [1, 2, 3, 4]) {
          const common = `ordering=${ordering}&page_size=2&page=${p}${deleted}`;
          const searched = await page(`search=${mark.toUpperCase()}&${common}`);
          expect({ ordering, deleted, p, ...searched }).toEqual({ ordering, deleted, p, ...(await page(`tag=${mark}&${common}`)) });
        }
      }
    }
  });
});
