import { t, type Static } from "elysia";
import { Uuid } from "../wire/schema";
import { PageQuery, Paginated } from "../wire/pagination";
import { PLUS_HINT, Query } from "../wire/query";
import { Text } from "../wire/text";
import { OrderingQuery, orderings } from "../wire/ordering";
import { UUID_PATTERN } from "../ids";
import { REASON } from "../wire/reasons";
import { DueDate, optionalProps, Task, TASK_PRIORITIES, TASK_STATUSES, TaskFieldProps, TaskHistoryEntry, VersionLock } from "../records/model";

export { Task, TaskHistoryEntry } from "../records/model";

export const TaskPage = Paginated(Task, "TaskPage");
export const HistoryPage = Paginated(TaskHistoryEntry, "HistoryPage");

/** `POST /api/tasks`: `title` required; `id` optional (client-supplied UUID); read-only fields refused. */
export const TaskCreateBody = t.Object(
  { id: t.Optional(Uuid), ...optionalProps(TaskFieldProps), title: TaskFieldProps.title },
  { additionalProperties: false, title: "TaskCreate" },
);
export type TaskCreateBody = Static<typeof TaskCreateBody>;

/** `PATCH /api/tasks/{id}`: any writable field; `version` is the optimistic lock (409 when stale). */
export const TaskPatchBody = t.Object(
  { ...optionalProps(TaskFieldProps), version: VersionLock },
  { additionalProperties: false, title: "TaskUpdate" },
);
export type TaskPatchBody = Static<typeof TaskPatchBody>;
/** The fields a PATCH changes (its body without the lock). */
export type TaskPatchFields = Omit<TaskPatchBody, "version">;

/** Fields `ordering` accepts (`-` prefix for descending, up to three comma-separated). */
export const TASK_ORDERING = orderings(["created_at", "updated_at", "due_date", "priority", "title"], "-updated_at");
export type TaskOrderingField = (typeof TASK_ORDERING.fields)[number];

/** A filter taking one of `values` or several, comma-separated. */
const oneOrMore = (values: readonly string[], description: string) =>
  t.String({ pattern: `^(${values.join("|")})(,(${values.join("|")}))*$`, description, [REASON]: `must be one or more of ${values.join(", ")}, comma-separated` });
/** A due-date bound. */
const DueBoundQuery = (description: string) =>
  t.String({ ...DueDate, description, [REASON]: `must be an ISO date (YYYY-MM-DD) or date-time with a zone (e.g. 2026-01-05T09:00:00Z)${PLUS_HINT}` });
/** A filter taking an id or `null`. */
const idOrNull = (description: string) => t.String({ pattern: `^(null|${UUID_PATTERN.slice(1, -1)})$`, description, [REASON]: "must be a UUID or null" });

/** `GET /api/tasks` query. Unknown parameters are ignored. */
export const TaskListQuery = Query({
  ...PageQuery,
  status: t.Optional(oneOrMore(TASK_STATUSES, "one status or several, comma-separated")),
  priority: t.Optional(oneOrMore(TASK_PRIORITIES, "one priority or several, comma-separated")),
  project_id: t.Optional(idOrNull("a project id, or null for tasks without a project")),
  assignee_id: t.Optional(idOrNull("a user id, or null for unassigned tasks")),
  tag: t.Optional(Text({ minLength: 1, maxLength: 100, description: "tasks carrying this exact tag" })),
  due_before: t.Optional(DueBoundQuery("due_date < this (ISO date or date-time)")),
  due_after: t.Optional(DueBoundQuery("due_date > this (ISO date or date-time)")),
  search: t.Optional(Text({ maxLength: 500, description: "case-insensitive substring of title or description (% and _ are literal)" })),
  ordering: OrderingQuery(TASK_ORDERING),
  include_deleted: t.Optional(t.Boolean({ description: "also list soft-deleted tasks" })),
});
export type TaskListQuery = Static<typeof TaskListQuery>;

/** `GET /api/tasks/{id}/history` query (the history of a soft-deleted task stays readable). */
export const HistoryQuery = Query({ ...PageQuery });
export type HistoryQuery = Static<typeof HistoryQuery>;
