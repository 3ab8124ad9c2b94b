import { sqlOf } from "../db/dialect";
import type { Executor } from "../db/types";
import { limitOffset, type PageRequest, type PageResult, selectPage } from "../db/page";
import { type ListFilter, type OrderColumn, type OrderTerm, orderBy, Where, whereContains } from "../records/list";
import { PRIORITY_RANK, type Task, type TaskPriority } from "../records/model";
import { RecordRepo } from "../records/repo";
import type { TaskListQuery, TaskOrderingField } from "./model";

/** The task list's filter: its query's parameters, parsed (the service's `list`). */
export type TaskFilter = ListFilter<
  TaskListQuery,
  {
    status: string[] | undefined;
    priority: string[] | undefined;
    /** A project id, or null for tasks without a project. */
    project_id: string | null | undefined;
    /** A user id, or null for unassigned tasks. */
    assignee_id: string | null | undefined;
    tag: string | undefined;
    /** Instants in the stored date-time form (`dueBound`, src/records/validate.ts): due dates at or before due_before (the last millisecond before the query's bound), after due_after. */
    due_before: string | undefined;
    due_after: string | undefined;
    search: string | undefined;
    ordering: OrderTerm<TaskOrderingField>[];
    include_deleted: boolean;
  }
>;

/** Each ordering field's column, and the index of live tasks whose order starts with it (migrations 0001, 0011). */
const ORDER_COLUMNS: Record<TaskOrderingField, OrderColumn & { index: string }> = {
  created_at: { expr: "created_at", index: "tasks_live_created" },
  updated_at: { expr: "updated_at", index: "tasks_live_updated" },
  due_date: { expr: "due_date", nullable: true, index: "tasks_live_due" },
  // Tasks of one priority by creation (migration 0011): new tasks append to their priority's end of
  // the index instead of landing at random ids all over it at every push.
  priority: { expr: "priority_rank", ties: "created_at", index: "tasks_live_priority" },
  title: { expr: "title", index: "tasks_live_title" },
};

/** What a search materializes of each match: its id and every column an ordering sorts by ({@link ORDER_COLUMNS}, their ties). */
const SEARCH_KEYS = [...new Set(["id", ...Object.values(ORDER_COLUMNS).flatMap((c) => (c.ties ? [c.expr, c.ties] : [c.expr]))])].join(", ");

/** Matches of a project, assignee or tag filter that SQLite sorts rather than walk an ordering index for (see `sortsMatches`). */
const SORTED_MATCHES_MAX = 5_000;

/** Tasks of one organization: the generic record access plus the filtered list. */
export class TaskRepo extends RecordRepo<"task"> {
  constructor(exec: Executor, orgId: string) {
    super(exec, orgId, "task");
  }

  async list(f: TaskFilter, page: PageRequest): Promise<PageResult<Task>> {
    const order = orderBy(f.ordering, ORDER_COLUMNS);
    if (f.search) return this.filterFirst(this.where(f, "org_id = ?"), order, page);
    const sorted = orderBy(f.ordering, ORDER_COLUMNS, "", { sortMatches: true });
    const fromRow = (r: Record<string, unknown>) => this.def.fromRow(r);
    if (await this.byTagRows(f)) {
      // `+org_id` keeps every index of the organization's tasks out of the plan: the tag's rows lead.
      const w = this.where(f, "+org_id = ?");
      return selectPage(this.exec, { columns: this.cols, from: "tasks", ...w.query, orderBy: sorted, byKey: this.pageById }, page, fromRow);
    }
    const w = this.where(f, "org_id = ?");
    const orderFor = (count: number) => (this.sortsMatches(f, count) ? sorted : order);
    const keysFrom = (count: number) => (this.sortsMatches(f, count) ? "tasks" : this.walkedFrom(f));
    return selectPage(this.exec, { columns: this.cols, from: "tasks", ...w.query, orderBy: orderFor, byKey: { ...this.pageById, from: keysFrom } }, page, fromRow);
  }

  /**
   * Where a page's ids are found along the ordering's index: an ordering of several fields walks the
   * index of its first (sorting only the ties of that field), as an ordering of one does. SQLite's
   * planner, without statistics, otherwise took `tasks_live_priority` for any ordering of several
   * fields, or a filter's index, and sorted every match: `ordering=title,priority` over 180,000 tasks
   * 0.6–0.85 s, with `status=todo` 0.12 s; along `tasks_live_title` 0.1 ms. (With deleted tasks no
   * live index serves the list; Postgres chooses for itself: `indexedBy`, src/db/dialect.ts.)
   */
  private walkedFrom(f: TaskFilter): string {
    if (f.include_deleted || f.ordering.length < 2) return "tasks";
    return sqlOf(this.exec).indexedBy("tasks", ORDER_COLUMNS[f.ordering[0]!.field].index);
  }

  /**
   * Whether a tag filter's tasks are better found from the tag's own rows, by id, and sorted: where the
   * planner cannot weigh selectivity (SQLite), it found them by reading the organization's tasks and
   * testing each one — 30 ms for a tag of 50 tasks among 100,000 (0.5 ms from its rows). Up to
   * {@link SORTED_MATCHES_MAX} rows of the tag (counted on its index first: microseconds for a small
   * tag); a larger tag is found soon enough along the ordering's index (14,000 among 100,000: 57 ms
   * that way, 85 ms from its rows).
   */
  private async byTagRows(f: TaskFilter): Promise<boolean> {
    if (f.tag === undefined || sqlOf(this.exec).plansBySelectivity) return false;
    const r = await this.exec.get<{ n: number }>("SELECT COUNT(*) AS n FROM task_tags WHERE org_id = ? AND tag = ?", [this.orgId, f.tag]);
    return Number(r?.n ?? 0) <= SORTED_MATCHES_MAX;
  }

  /** The conditions of `f`, the organization's first as `orgCondition` (`org_id = ?`, or `+org_id = ?` to keep its indexes out of the plan). */
  private where(f: TaskFilter, orgCondition: string): Where {
    const w = new Where().add(orgCondition, this.orgId);
    if (!f.include_deleted) w.add("deleted_at IS NULL");
    if (f.status?.length) w.in("status", f.status);
    if (f.priority?.length) w.in("priority_rank", f.priority.map((p) => PRIORITY_RANK[p as TaskPriority]));
    if (f.project_id !== undefined) f.project_id === null ? w.add("project_id IS NULL") : w.add("project_id = ?", f.project_id);
    if (f.assignee_id !== undefined) f.assignee_id === null ? w.add("assignee_id IS NULL") : w.add("assignee_id = ?", f.assignee_id);
    if (f.tag !== undefined) w.add("id IN (SELECT task_id FROM task_tags WHERE org_id = ? AND tag = ?)", this.orgId, f.tag);
    // Due dates are stored as dates (the start of their day, UTC) or date-times, compared as text: a
    // date sorts before every date-time of its day, so it is at or before a bound of its day and after
    // one of the day before, as its instant is. `due_before` is the last millisecond it allows (`dueBound`).
    if (f.due_before !== undefined) w.add("due_date <= ?", f.due_before);
    if (f.due_after !== undefined) w.add("due_date > ?", f.due_after);
    if (f.search) whereContains(w, sqlOf(this.exec), ["title", "description"], f.search);
    return w;
  }

  /**
   * Whether the page is better read from the filter's matches, sorted, than along the ordering's
   * index. A planner that weighs selectivity (Postgres) chooses for itself. SQLite's does not: given a
   * project or assignee filter and an ordering that the filter's own index does not give (it gives
   * live tasks by `updated_at`), it walked the ordering's index through the whole organization testing
   * every task — 0.2 s for a project of 100 tasks among 100,000 (0.4 s, 2.8 s cold, for 87 among
   * 200,000). Up to {@link SORTED_MATCHES_MAX} matches are found by the filter's index and sorted
   * instead (what they cost, whatever the organization's size: 0.5 ms); more are found soon enough
   * along the ordering's index (a project holding nearly every task: 17 ms that way, 270 ms sorted).
   * (A tag filter: {@link byTagRows}.)
   */
  private sortsMatches(f: TaskFilter, count: number): boolean {
    // The project and assignee indexes hold live tasks only: with deleted ones there is none to find the matches by.
    if (sqlOf(this.exec).plansBySelectivity || count > SORTED_MATCHES_MAX || f.include_deleted) return false;
    const filterIndexOrder = f.ordering.length === 1 && f.ordering[0]!.field === "updated_at";
    return (f.project_id !== undefined || f.assignee_id !== undefined) && !filterIndexOrder;
  }

  /**
   * A substring search cannot use an index: left to themselves both planners walk an ordering
   * index and test every row until the page is full (seconds with a million tasks). Materializing
   * the matches first turns it into one scan, then a sort of the matches only; the count comes
   * from the same scan. Only the matches' ids and sort keys are materialized ({@link SEARCH_KEYS}),
   * and the page's rows are read by id: materialized whole, every match's description (up to
   * 100,000 characters) was copied into the temporary table, however small the page — a search
   * matching 5,000 tasks of 100 KB held about 700 MB (SQLite's `temp_store = MEMORY`) and the event
   * loop for 6.5 s for a page of one task.
   */
  private async filterFirst(w: Where, order: string, page: PageRequest): Promise<PageResult<Task>> {
    const byId = this.pageById;
    // The statement starts with SELECT (its CTE inside): SQLite sends only such statements, outside
    // transactions, to the read connection; one starting with `WITH` went to the writer, waiting for
    // every write transaction and holding every write back for as long as it scanned.
    const rows = await this.exec.all<Record<string, unknown> & { total_count: number }>(
      `SELECT * FROM (
         WITH m AS MATERIALIZED (SELECT ${SEARCH_KEYS} FROM tasks ${w.sql})
         SELECT ${this.cols}, (SELECT COUNT(*) FROM m) AS total_count FROM tasks
         WHERE id IN (SELECT id FROM m ${order} LIMIT ? OFFSET ?) AND ${byId.scope}
       ) AS page ${order}`,
      [...w.params, ...limitOffset(page), ...byId.scopeParams],
    );
    let count = rows.length ? Number(rows[0].total_count) : 0;
    if (!rows.length && page.page > 1) count = Number((await this.exec.get<{ n: number }>(`SELECT COUNT(*) AS n FROM tasks ${w.sql}`, w.params))?.n ?? 0);
    return { count, results: rows.map((r) => this.def.fromRow(r)) };
  }
}
