/**
 * Task and project list pages are read in two steps (src/db/page.ts, `byKey`): the page's ids in the
 * list's order (`LIMIT`/`OFFSET`), then those rows by id, sorted again. A sort, and the rows an
 * offset passes over, then carry ids and sort keys only: read in one step, `ordering=title,priority`
 * far into 5,000 tasks of 100 KB held every row up to the offset in SQLite's sorter (about 600 MB).
 * Memory and time are the bench's (`bench/search-ab.ts --set lists`); here: that the statement's
 * sort and offset select ids only, scoped to the organization, and that every page of every
 * ordering, filter and size is exactly its slice of the whole list (ties included).
 */
import { beforeAll, expect, test } from "bun:test";
import { ProjectRepo } from "../../src/projects/repo";
import { TaskRepo } from "../../src/tasks/repo";
import { taskFilter } from "../../src/tasks/service";
import { projectFilter } from "../../src/projects/service";
import { forEachDialect } from "../support/db";
import { type SeenStatement, spyOn } from "../support/spy";
import { prng } from "../support/prng";
import { world } from "./fixture";

forEachDialect("list pages read by id", ({ db }) => {
  const w = world(db);
  const A = () => w.as(w.a);
  const B = () => w.as(w.b);
  const LONG = "x".repeat(100_000);
  let project = "";

  beforeAll(async () => {
    const r = prng(7);
    project = (await A()("POST", "/api/projects", { name: "p" })).body.id;
    for (let i = 0; i < 40; i++) {
      const body = {
        // Few distinct titles, priorities and dates: many ties, which only the id breaks.
        title: r.pick(["alpha", "Beta", "beta", "gamma", "ä"]),
        description: i % 10 === 0 ? LONG : "short",
        priority: r.pick(["low", "medium", "high", "urgent"]),
        status: r.pick(["todo", "in_progress", "done"]),
        tags: r.chance(0.5) ? ["t"] : [],
        ...(r.chance(0.3) ? {} : { due_date: r.pick(["2030-01-01", "2030-01-02", "2030-01-02T12:00:00Z"]) }),
        ...(r.chance(0.5) ? { project_id: project } : {}),
      };
      const created = await A()("POST", "/api/tasks", body);
      expect(created.status).toBe(201);
      if (i % 7 === 3) expect((await A()("DELETE", `/api/tasks/${created.body.id}`)).status).toBe(204);
      if (i % 4 === 0) expect((await A()("POST", "/api/projects", { name: body.title, description: body.description })).status).toBe(201);
    }
    // Another organization's records, which no page may show.
    for (let i = 0; i < 5; i++) {
      expect((await B()("POST", "/api/tasks", { title: "alpha", priority: "urgent" })).status).toBe(201);
      expect((await B()("POST", "/api/projects", { name: "Beta" })).status).toBe(201);
    }
  });

  /** Every page of `query` at `size`, concatenated; and the whole list in one page. */
  async function pagesAndWhole(list: "tasks" | "projects", query: string, size: number): Promise<{ paged: string[]; whole: string[]; count: number }> {
    const whole = await A()("GET", `/api/${list}?${query}&page_size=500`);
    expect(whole.status).toBe(200);
    const paged: string[] = [];
    for (let page = 1; ; page++) {
      const r = await A()("GET", `/api/${list}?${query}&page_size=${size}&page=${page}`);
      expect(r.status).toBe(200);
      expect(r.body.count).toBe(whole.body.count);
      if (r.body.results.length === 0) break;
      paged.push(...r.body.results.map((x: { id: string }) => x.id));
    }
    return { paged, whole: whole.body.results.map((x: { id: string }) => x.id), count: whole.body.count };
  }

  test("every page of a task list is its slice of the whole list, in every ordering and filter", async () => {
    const orderings = ["", "ordering=title", "ordering=-title", "ordering=priority", "ordering=-priority", "ordering=due_date", "ordering=-due_date", "ordering=title,priority", "ordering=-priority,due_date,title", "ordering=created_at"];
    const filters = ["", "&include_deleted=true", "&status=todo,done", `&project_id=${project}`, "&tag=t", "&search=BETA"];
    for (const ordering of orderings) {
      for (const filter of filters) {
        for (const size of [1, 3, 7]) {
          const { paged, whole, count } = await pagesAndWhole("tasks", `${ordering}${filter}`, size);
          expect({ ordering, filter, size, paged }).toEqual({ ordering, filter, size, paged: whole });
          expect(whole.length).toBe(count);
        }
      }
    }
  });

  test("every page of a project list is its slice of the whole list", async () => {
    for (const ordering of ["", "ordering=name", "ordering=-name", "ordering=name,-created_at", "ordering=updated_at"]) {
      for (const filter of ["", "&include_deleted=true", "&search=a"]) {
        const { paged, whole } = await pagesAndWhole("projects", `${ordering}${filter}`, 3);
        expect({ ordering, filter, paged }).toEqual({ ordering, filter, paged: whole });
      }
    }
  });

  test("the page statement sorts and skips ids only, and reads the page's rows by id within the organization", async () => {
    const seen: SeenStatement[] = [];
    const recording = spyOn(db(), seen);
    const tasks = await new TaskRepo(recording, w.a.org.id).list(
      taskFilter({ ordering: "title,priority" }),
      { page: 5, pageSize: 1 },
    );
    expect(tasks.results).toHaveLength(1);
    const projects = await new ProjectRepo(recording, w.a.org.id).list(projectFilter({ ordering: "-name", include_deleted: true }), { page: 2, pageSize: 1 });
    expect(projects.results).toHaveLength(1);
    for (const table of ["tasks", "projects"]) {
      const page = seen.map((x) => x.sql).find((s) => s.includes("OFFSET") && s.includes(`FROM ${table}`));
      expect(page).toMatch(new RegExp(`WHERE id IN \\(SELECT id FROM ${table}( INDEXED BY \\w+)? WHERE .* LIMIT \\? OFFSET \\?\\) AND CAST\\(org_id AS TEXT\\) = \\?`));
    }
    // An ordering of several fields walks the index of the first (SQLite; Postgres' planner chooses).
    expect(seen.map((x) => x.sql).find((s) => s.includes("OFFSET") && s.includes("FROM tasks"))).toContain(db().dialect === "sqlite" ? "FROM tasks INDEXED BY tasks_live_title WHERE" : "SELECT id FROM tasks WHERE");
  });
});
