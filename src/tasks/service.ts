import type { Database } from "../db/types";
import { invalid } from "../errors";
import { HistoryRepo, type ListedHistoryEntry } from "../records/history";
import type { PageRequest, PageResult } from "../db/page";
import { listValues, parseOrdering } from "../records/list";
import type { Task, TaskHistoryEntry } from "../records/model";
import { type Actor, type Precondition, restCreate, restDelete, restUpdate } from "../records/rest";
import { dueBound } from "../records/validate";
import type { Clock } from "../time";
import { TASK_ORDERING, type TaskCreateBody, type TaskListQuery, type TaskPatchFields } from "./model";
import { type TaskFilter, TaskRepo } from "./repo";

/** Tasks: CRUD with optimistic locking, filtered lists, history. Every write goes through the records write core. */
export class TaskService {
  constructor(private readonly deps: { db: Database; clock: Clock }) {}

  /** One page of the organization's tasks matching the query's filters, in its ordering (422 naming a bad filter). */
  async list(actor: Actor, q: TaskListQuery, page: PageRequest): Promise<PageResult<Task>> {
    return new TaskRepo(this.deps.db, actor.orgId).list(taskFilter(q), page);
  }

  /** A live task of the caller's organization (404 otherwise, also for soft-deleted ones). */
  get(actor: Actor, id: string): Promise<Task> {
    return new TaskRepo(this.deps.db, actor.orgId).mustGetLive(id);
  }

  create(actor: Actor, body: TaskCreateBody): Promise<Task> {
    const { id, ...data } = body;
    return this.deps.db.transaction((tx) => restCreate(tx, "task", actor, data, id, this.deps.clock.now()));
  }

  /** Changes the fields given under the lock `pre` (412/409 with the current record when it does not hold). */
  update(actor: Actor, id: string, data: TaskPatchFields, pre: Precondition): Promise<Task> {
    return this.deps.db.transaction((tx) => restUpdate(tx, "task", actor, id, data, pre, this.deps.clock.now()));
  }

  /** Soft delete, locked like an update: the task leaves lists (and so do its comments); its history stays readable. */
  async delete(actor: Actor, id: string, pre: Precondition): Promise<void> {
    await this.deps.db.transaction((tx) => restDelete(tx, "task", actor, id, pre, this.deps.clock.now()));
  }

  /** The task's history, oldest first; readable for soft-deleted tasks too. */
  async history(actor: Actor, id: string, page: PageRequest): Promise<PageResult<TaskHistoryEntry>> {
    await new TaskRepo(this.deps.db, actor.orgId).mustGet(id);
    const r = await new HistoryRepo(this.deps.db, actor.orgId).list("task", id, page);
    return { count: r.count, results: r.results.map(historyView) };
  }
}

/** The task list's query as its repository's filter (422 naming a bad filter). */
export function taskFilter(q: TaskListQuery): TaskFilter {
  const errors: Record<string, string> = {};
  const due = (field: "due_before" | "due_after") => {
    const raw = q[field];
    if (raw === undefined) return undefined;
    const bound = dueBound(raw, field === "due_before" ? "before" : "after");
    if (bound === null) errors[field] = "not a real date or date-time";
    return bound ?? undefined;
  };
  const filter: TaskFilter = {
    status: q.status === undefined ? undefined : listValues(q.status),
    priority: q.priority === undefined ? undefined : listValues(q.priority),
    project_id: q.project_id === undefined ? undefined : q.project_id === "null" ? null : q.project_id,
    assignee_id: q.assignee_id === undefined ? undefined : q.assignee_id === "null" ? null : q.assignee_id,
    tag: q.tag,
    due_before: due("due_before"),
    due_after: due("due_after"),
    search: q.search || undefined,
    ordering: parseOrdering(q.ordering, TASK_ORDERING),
    include_deleted: q.include_deleted === true,
  };
  if (Object.keys(errors).length) throw invalid(errors);
  return filter;
}

/** The contract's history entry. */
function historyView(e: ListedHistoryEntry): TaskHistoryEntry {
  return {
    id: e.id,
    task_id: e.entityId,
    version: e.version,
    action: e.action,
    changes: e.changes,
    user_id: e.userId,
    device_id: e.deviceId,
    vector_clock: e.vectorClock,
    created_at: e.createdAt,
  };
}
