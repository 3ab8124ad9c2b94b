/**
 * Every filter parameter of the record lists is applied: each one, given alone, answers exactly the
 * records its rule selects from a set built so that no parameter selects all or none. The tables are
 * keyed by the lists' query types, so a parameter added to a query does not compile until it has a
 * case here (`ListFilter` makes it parsed; this makes sure the list's WHERE uses it).
 */
import { beforeAll, expect, test } from "bun:test";
import type { CommentListQuery } from "../../src/comments/model";
import type { ProjectListQuery } from "../../src/projects/model";
import type { TaskListQuery } from "../../src/tasks/model";
import { forEachDialect } from "../support/db";
import { world } from "./fixture";

/** Query parameters that page or order a list rather than filter it. */
type NotFilters = "page" | "page_size" | "ordering";

/** A filter's case: the query string's value, and whether a record (as answered, deleted ones included) is selected. */
interface Case<R> {
  value: string;
  selects: (r: R) => boolean;
}

type Rec = Record<string, any>;
const live = (r: Rec) => r.deleted_at === null;

forEachDialect("list filters", ({ db }) => {
  const w = world(db);
  const A = () => w.as(w.a);
  const tasks: Rec[] = [];
  const projects: Rec[] = [];
  const comments: Rec[] = [];
  let project: Rec;

  beforeAll(async () => {
    const post = async (path: string, body: Rec) => {
      const r = await A()("POST", path, body);
      expect(r.status).toBe(201);
      return r.body as Rec;
    };
    project = await post("/api/projects", { name: "Garden plans", description: "outdoor" });
    const archived = await post("/api/projects", { name: "Old kitchen", archived: true });
    const gone = await post("/api/projects", { name: "Dropped" });
    expect((await A()("DELETE", `/api/projects/${gone.id}`)).status).toBe(204);
    projects.push(project, archived, { ...gone, deleted_at: "deleted" });

    const specs: Rec[] = [
      { title: "Water the garden", status: "todo", priority: "low", project_id: project.id, tags: ["home"], due_date: "2026-01-10" },
      { title: "Write report", status: "done", priority: "urgent", assignee_id: w.a2.user.id, tags: ["work"], due_date: "2026-03-01" },
      { title: "Call plumber", description: "about the garden tap", status: "in_progress", priority: "high", tags: ["home", "work"] },
      { title: "Plan trip", status: "todo", priority: "medium", assignee_id: w.a.user.id, due_date: "2026-06-15" },
    ];
    for (const spec of specs) tasks.push(await post("/api/tasks", spec));
    const deleted = await post("/api/tasks", { title: "Deleted garden task", status: "todo", tags: ["home"] });
    expect((await A()("DELETE", `/api/tasks/${deleted.id}`)).status).toBe(204);
    tasks.push({ ...deleted, deleted_at: "deleted" });

    for (const [task, body] of [[tasks[0], "first"], [tasks[0], "second"], [tasks[1], "third"]] as const) comments.push(await post("/api/comments", { task_id: task.id, body }));
    const removed = await post("/api/comments", { task_id: tasks[2].id, body: "removed" });
    expect((await A()("DELETE", `/api/comments/${removed.id}`)).status).toBe(204);
    comments.push({ ...removed, deleted_at: "deleted" });
  });

  /** Lists `path` with `param=value` (every page of 500) and compares the ids with the records `selects` picks. */
  async function check<R extends Rec>(path: string, all: () => R[], cases: Record<string, Case<R>>) {
    for (const [param, c] of Object.entries(cases)) {
      const r = await A()("GET", `${path}?${param}=${encodeURIComponent(c.value)}&page_size=500`);
      expect(r.status, `${path}?${param}=${c.value}`).toBe(200);
      const expected = all().filter(c.selects).map((x) => x.id);
      // The case must tell a filter applied from one ignored: it selects some records, and not those listed without it.
      const unfiltered = all().filter(live).map((x) => x.id);
      expect(expected.length, `${param}: the case selects nothing`).toBeGreaterThan(0);
      expect([...expected].sort(), `${param}: the case selects what the list answers without it`).not.toEqual([...unfiltered].sort());
      expect((r.body.results as Rec[]).map((x) => x.id).sort(), `${path}?${param}=${c.value}`).toEqual(expected.sort());
    }
  }

  test("tasks: each filter parameter selects what its rule says", async () => {
    const cases: { [K in Exclude<keyof TaskListQuery, NotFilters>]-?: Case<Rec> } = {
      status: { value: "todo,done", selects: (t) => live(t) && ["todo", "done"].includes(t.status) },
      priority: { value: "high,urgent", selects: (t) => live(t) && ["high", "urgent"].includes(t.priority) },
      project_id: { value: "null", selects: (t) => live(t) && t.project_id === null },
      assignee_id: { value: w.a2.user.id, selects: (t) => live(t) && t.assignee_id === w.a2.user.id },
      tag: { value: "home", selects: (t) => live(t) && t.tags.includes("home") },
      due_before: { value: "2026-03-01", selects: (t) => live(t) && t.due_date !== null && t.due_date < "2026-03-01" },
      due_after: { value: "2026-02-01", selects: (t) => live(t) && t.due_date !== null && t.due_date > "2026-02-01" },
      search: { value: "GARDEN", selects: (t) => live(t) && `${t.title}\n${t.description}`.toLowerCase().includes("garden") },
      include_deleted: { value: "true", selects: () => true },
    };
    await check("/api/tasks", () => tasks, cases);
  });

  test("projects: each filter parameter selects what its rule says", async () => {
    const cases: { [K in Exclude<keyof ProjectListQuery, NotFilters>]-?: Case<Rec> } = {
      archived: { value: "true", selects: (p) => live(p) && p.archived === true },
      search: { value: "garden", selects: (p) => live(p) && `${p.name}\n${p.description}`.toLowerCase().includes("garden") },
      include_deleted: { value: "true", selects: () => true },
    };
    await check("/api/projects", () => projects, cases);
  });

  test("comments: each filter parameter selects what its rule says", async () => {
    const cases: { [K in Exclude<keyof CommentListQuery, NotFilters>]-?: Case<Rec> } = {
      task_id: { value: tasks[0]!.id, selects: (c) => live(c) && c.task_id === tasks[0]!.id },
      include_deleted: { value: "true", selects: () => true },
    };
    await check("/api/comments", () => comments, cases);
  });
});
