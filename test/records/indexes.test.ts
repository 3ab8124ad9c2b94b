/**
 * The live task lists are served by the indexes of migrations/0001 (reviewed with 1M tasks on both
 * dialects, docs/records.md): on SQLite, whose plans do not depend on table size, check that each
 * list query walks a `tasks_live_*` index and never scans the table or sorts the whole organization.
 */
import { expect, test } from "bun:test";
import type { Executor, SqlValue } from "../../src/db/types";
import { CommentService } from "../../src/comments/service";
import { TASK_ORDERING } from "../../src/tasks/model";
import { TaskService } from "../../src/tasks/service";
import { pageFrom } from "../../src/wire/pagination";
import { createTestDatabase } from "../support/db";
import { spyOn } from "../support/spy";

const PROJECT = "10000000-0000-4000-8000-000000000001";
const USER = "20000000-0000-4000-8000-000000000001";

const CASES: [string, Record<string, unknown>, string][] = [
  ["default ordering", {}, "tasks_live_updated"],
  ["created_at", { ordering: "-created_at" }, "tasks_live_created"],
  ["due_date", { ordering: "due_date" }, "tasks_live_due"],
  ["-due_date", { ordering: "-due_date" }, "tasks_live_due"],
  ["priority", { ordering: "-priority" }, "tasks_live_priority"],
  ["title", { ordering: "title" }, "tasks_live_title"],
  ["status filter", { status: "todo" }, "tasks_live_status"],
  ["project filter", { project_id: PROJECT }, "tasks_live_project"],
  ["assignee filter", { assignee_id: USER }, "tasks_live_assignee"],
  ["due range", { due_after: "2026-01-01", due_before: "2026-02-01", ordering: "due_date" }, "tasks_live_due"],
  // Several fields: the first one's index, its ties sorted (SQLite took tasks_live_priority, or a filter's index, and sorted everything).
  ["title,priority", { ordering: "title,priority" }, "tasks_live_title"],
  ["-due_date,title", { ordering: "-due_date,title" }, "tasks_live_due"],
  ["created_at,-title,priority", { ordering: "created_at,-title,priority" }, "tasks_live_created"],
  ["-updated_at,title", { ordering: "-updated_at,title" }, "tasks_live_updated"],
  ["status filter, title,priority", { status: "todo", ordering: "title,priority" }, "tasks_live_title"],
];

test("every ordering of the task list has its plan pinned above, on its own (a new ordering fails here until it has its case)", () => {
  const alone = CASES.map(([, q]) => String(q.ordering ?? TASK_ORDERING.fallback)).filter((o) => !o.includes(","));
  const pinned = new Set(alone.map((o) => o.replace(/^-/, "")));
  expect(TASK_ORDERING.fields.filter((f) => !pinned.has(f))).toEqual([]);
});

const planOf = async (db: Executor, q: { sql: string; params: SqlValue[] }) =>
  (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${q.sql}`, q.params)).map((r) => r.detail).join(" | ");

/** What the outer read of a list page by id must be: each id looked up by the primary key, the page's rows (at most page_size) sorted. */
const PAGE_BY_ID = "SEARCH tasks USING INDEX sqlite_autoindex_tasks_1 (id=?) | USE TEMP B-TREE FOR ORDER BY";

/**
 * The plan of a list page read in two steps (src/db/page.ts, `byKey`): `keys`, the plan of the
 * subquery that finds the page's ids in order (what walks an index, or sorts), and `rows`, the rest.
 */
async function pagePlanOf(db: Executor, q: { sql: string; params: SqlValue[] }): Promise<{ keys: string; rows: string }> {
  const steps = await db.all<{ id: number; parent: number; detail: string }>(`EXPLAIN QUERY PLAN ${q.sql}`, q.params);
  const subquery = steps.find((r) => r.detail.startsWith("LIST SUBQUERY"));
  if (!subquery) throw new Error(`not a page read by id: ${steps.map((r) => r.detail).join(" | ")}`);
  const inner = new Set([subquery.id]);
  for (const r of steps) if (inner.has(r.parent)) inner.add(r.id);
  const join = (rows: typeof steps) => rows.map((r) => r.detail).join(" | ");
  return { keys: join(steps.filter((r) => inner.has(r.parent))), rows: join(steps.filter((r) => !inner.has(r.id))) };
}

test("every live task list query walks an index (SQLite EXPLAIN QUERY PLAN)", async () => {
  const { db, drop } = await createTestDatabase("sqlite");
  try {
    const seen: { sql: string; params: SqlValue[] }[] = [];
    const spy = spyOn(db, seen);
    const tasks = new TaskService({ db: spy as never, clock: { now: () => new Date() } });
    for (const [name, query, index] of CASES) {
      seen.length = 0;
      await tasks.list({ userId: USER, orgId: "org" }, query, pageFrom(query));
      expect(seen.length).toBe(2); // count + page
      const { keys, rows } = await pagePlanOf(db, seen[1]!);
      expect(`${name}: ${keys}`).toContain(index);
      expect(`${name}: ${keys}`).not.toMatch(/SCAN tasks|TEMP B-TREE FOR ORDER BY/);
      expect(`${name}: ${rows}`).toBe(`${name}: ${PAGE_BY_ID}`);
      const count = seen[0];
      const countPlan = (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${count.sql}`, count.params)).map((r) => r.detail).join(" | ");
      expect(`${name} count: ${countPlan}`).toMatch(/USING (COVERING )?INDEX tasks_live_/);
    }
    // A tag is looked up in task_tags by its key (migration 0005), not matched against every task's JSON.
    seen.length = 0;
    await tasks.list({ userId: USER, orgId: "org" }, { tag: "home" }, pageFrom({}));
    const tagPlan = await pagePlanOf(db, seen.at(-1)!);
    expect(tagPlan.keys).toMatch(/SEARCH task_tags USING PRIMARY KEY \(org_id=\? AND tag=\?\)/);
  } finally {
    await drop();
  }
});

test("migrations 0009 and 0010: a page with include_deleted is read in the index's order, and the organization's comment count walks the live comments by task", async () => {
  const { db, drop } = await createTestDatabase("sqlite");
  try {
    const seen: { sql: string; params: SqlValue[] }[] = [];
    const spy = spyOn(db, seen);
    const actor = { userId: USER, orgId: "org" };
    await new TaskService({ db: spy as never, clock: { now: () => new Date() } }).list(actor, { include_deleted: true }, pageFrom({ page: 400, page_size: 500 }));
    const page = await pagePlanOf(db, seen[1]!);
    expect(page.keys).toContain("tasks_org_updated_id");
    expect(page.keys).not.toMatch(/SCAN tasks|TEMP B-TREE FOR ORDER BY/);
    expect(page.rows).toBe(PAGE_BY_ID);
    seen.length = 0;
    await new CommentService({ db: spy as never, clock: { now: () => new Date() } }).list(actor, {}, pageFrom({}));
    // The count probes the live comments by task for each live task's id (listed from an index of the
    // organization's live tasks), never each comment's task row by id (870 → 205 ms at 342,000 comments).
    const count = await planOf(db, seen[0]!);
    expect(count).toMatch(/SEARCH c USING (COVERING )?INDEX comments_live_task \(org_id=\? AND task_id=\?\) \| LIST SUBQUERY \d+ \| SEARCH t USING (COVERING )?INDEX tasks_live_\w+ \(org_id=\?\)$/);
    // The page stops after a page of comments: their tasks are looked up one by one, not listed whole first.
    const page2 = await planOf(db, seen[1]!);
    expect(page2).toContain("SEARCH t USING INDEX sqlite_autoindex_tasks_1 (id=?)");
    expect(page2).not.toContain("LIST SUBQUERY");
  } finally {
    await drop();
  }
});

test("migration 0015: an organization's comments by their last edit walk comments_org_updated; a task's comments are found by task and sorted", async () => {
  const { db, drop } = await createTestDatabase("sqlite");
  try {
    const seen: { sql: string; params: SqlValue[] }[] = [];
    const comments = new CommentService({ db: spyOn(db, seen) as never, clock: { now: () => new Date() } });
    const pagePlan = async (query: Record<string, unknown>) => {
      seen.length = 0;
      await comments.list({ userId: USER, orgId: "org" }, query, pageFrom(query));
      return planOf(db, seen.at(-1)!);
    };
    for (const query of [{ ordering: "-updated_at" }, { ordering: "updated_at" }, { ordering: "-updated_at", include_deleted: true }]) {
      const plan = await pagePlan(query);
      expect(`${JSON.stringify(query)}: ${plan}`).toContain("SEARCH c USING INDEX comments_org_updated (org_id=?)");
      expect(`${JSON.stringify(query)}: ${plan}`).not.toContain("TEMP B-TREE");
    }
    const TASK = "40000000-0000-4000-8000-000000000001";
    for (const query of [{ task_id: TASK, ordering: "-updated_at" }, { task_id: TASK, ordering: "created_at" }, { task_id: TASK, ordering: "updated_at", include_deleted: true }]) {
      const plan = await pagePlan(query);
      expect(`${JSON.stringify(query)}: ${plan}`).toMatch(/SEARCH c USING INDEX comments_(org|live)_task \(org_id=\? AND task_id=\?\)/);
      expect(`${JSON.stringify(query)}: ${plan}`).not.toContain("comments_org_updated");
    }
  } finally {
    await drop();
  }
});

test("a project or assignee filter with another ordering, or a tag filter: up to 5,000 matches are found by the filter's index (a tag's rows) and sorted, not sought along the ordering's index through the whole organization; more are", async () => {
  const { db, drop } = await createTestDatabase("sqlite");
  try {
    const seen: { sql: string; params: SqlValue[] }[] = [];
    const tasks = new TaskService({ db: spyOn(db, seen) as never, clock: { now: () => new Date() } });
    const pagePlan = async (query: Record<string, unknown>) => {
      seen.length = 0;
      await tasks.list({ userId: USER, orgId: "org" }, query, pageFrom(query));
      expect(seen.length).toBe(query.tag === undefined ? 2 : 3); // (a tag's rows counted,) count, page
      const { keys, rows } = await pagePlanOf(db, seen.at(-1)!);
      expect(rows).toBe(PAGE_BY_ID);
      return keys;
    };
    const FEW: [Record<string, unknown>, string][] = [
      [{ project_id: PROJECT, ordering: "due_date" }, "tasks_live_project (org_id=? AND project_id=?)"],
      [{ project_id: PROJECT, ordering: "-title" }, "tasks_live_project (org_id=? AND project_id=?)"],
      [{ assignee_id: USER, ordering: "priority" }, "tasks_live_assignee (org_id=? AND assignee_id=?)"],
      [{ project_id: PROJECT, ordering: "created_at,title" }, "tasks_live_project (org_id=? AND project_id=?)"],
    ];
    for (const [query, index] of FEW) {
      const plan = await pagePlan(query);
      expect(`${JSON.stringify(query)}: ${plan}`).toContain(`SEARCH tasks USING INDEX ${index}`);
    }
    // The filter's own order needs no sort; nor does a page with deleted tasks, which no filter index holds.
    expect(await pagePlan({ project_id: PROJECT })).not.toContain("TEMP B-TREE");
    const withDeleted = await pagePlan({ project_id: PROJECT, include_deleted: true });
    expect(withDeleted).toContain("tasks_org_updated_id");
    expect(withDeleted).not.toContain("TEMP B-TREE");

    // A tag of few tasks: found by id from its rows, whatever the ordering, never along an index of the organization's tasks.
    for (const query of [{ tag: "home" }, { tag: "home", ordering: "due_date" }, { tag: "home", include_deleted: true }]) {
      const plan = await pagePlan(query);
      expect(`${JSON.stringify(query)}: ${plan}`).toMatch(/SEARCH task_tags USING PRIMARY KEY \(org_id=\? AND tag=\?\)/);
      expect(`${JSON.stringify(query)}: ${plan}`).toContain("SEARCH tasks USING INDEX sqlite_autoindex_tasks_1 (id=?)");
      expect(`${JSON.stringify(query)}: ${plan}`).not.toMatch(/tasks_live_|tasks_org_updated/);
    }

    // 5,001 tasks in the project: found soon enough along the ordering's index, which gives their order.
    const at = "2026-01-01T00:00:00.000Z";
    await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('org', 'Org', 'org', ?)", [at]);
    await db.run(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5001)
       INSERT INTO tasks (id, org_id, project_id, title, status, priority, priority_rank, created_by, version, vector_clock, created_at, updated_at)
       SELECT printf('30000000-0000-4000-8000-%012d', i), 'org', ?, 'task ' || i, 'todo', 'low', 1, ?, 1, '{}', ?, ?  FROM n`,
      [PROJECT, USER, at, at],
    );
    const many = await pagePlan({ project_id: PROJECT, ordering: "due_date" });
    expect(many).toContain("tasks_live_due");
    expect(many).not.toContain("TEMP B-TREE");
    // The same 5,001 tasks under one tag: found soon enough along the ordering's index too.
    await db.run("INSERT INTO task_tags (org_id, tag, created_at, task_id) SELECT org_id, 'many', created_at, id FROM tasks");
    const manyTagged = await pagePlan({ tag: "many" });
    expect(manyTagged).toContain("tasks_live_updated");
    expect(manyTagged).not.toContain("TEMP B-TREE");
  } finally {
    await drop();
  }
});
