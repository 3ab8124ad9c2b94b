import { Elysia, t } from "elysia";
import { authGuard } from "../auth/guard";
import { envelope, pageFrom } from "../wire/pagination";
import { type HttpConfig, publicUrlOf } from "../http/public-url";
import { CREATE_ERRORS, IdParams, IfMatchHeaders, LIST_ERRORS, LOCKED_WRITE_ERRORS, preconditionOf, READ_ERRORS, RECORD_ERRORS, withEtag } from "../records/http";
import { LockBody } from "../records/model";
import type { Services } from "../services";
import { CommentPage, TaskCommentsQuery } from "../comments/model";
import { HistoryPage, HistoryQuery, Task, TaskCreateBody, TaskListQuery, TaskPage, TaskPatchBody } from "./model";

const detail = (summary: string, description?: string) => ({ tags: ["tasks"], summary, description });

/** Tasks: list/create, read/update/soft-delete, comments and history of a task. */
export const taskRoutes = (s: Services, http: HttpConfig) =>
  new Elysia()
    .use(authGuard(s))
    .use(publicUrlOf(http))
    .get(
      "/api/tasks",
      async ({ auth, query, publicUrl }) => {
        const page = pageFrom(query);
        return envelope(publicUrl(), page, await s.tasks.list(auth, query, page));
      },
      {
        query: TaskListQuery,
        response: { 200: TaskPage, ...LIST_ERRORS },
        detail: detail("List tasks", "Filters combine with AND. Soft-deleted tasks only with include_deleted=true."),
      },
    )
    .post(
      "/api/tasks",
      async ({ auth, body, set }) => {
        const task = await s.tasks.create(auth, body);
        set.status = 201;
        set.headers.location = `/api/tasks/${task.id}`;
        return withEtag(set, task);
      },
      {
        body: TaskCreateBody,
        response: { 201: Task, ...CREATE_ERRORS },
        detail: detail("Create a task", "A client may supply the id (UUID); an id already in use answers 409 already_exists."),
      },
    )
    .get("/api/tasks/:id", async ({ auth, params, set }) => withEtag(set, await s.tasks.get(auth, params.id)), {
      params: IdParams,
      response: { 200: Task, ...READ_ERRORS },
      detail: detail("One task (404 once soft-deleted)"),
    })
    .patch(
      "/api/tasks/:id",
      async ({ auth, params, body: { version, ...data }, headers, set }) => withEtag(set, await s.tasks.update(auth, params.id, data, preconditionOf(headers, version))),
      {
        params: IdParams,
        headers: IfMatchHeaders,
        body: TaskPatchBody,
        response: { 200: Task, ...LOCKED_WRITE_ERRORS },
        detail: detail(
          "Update a task",
          'Optimistic lock: If-Match: "<version>" (412) or body version (409); both answer the current record at error.details.current.',
        ),
      },
    )
    .delete(
      "/api/tasks/:id",
      async ({ auth, params, body, headers, set }) => {
        await s.tasks.delete(auth, params.id, preconditionOf(headers, body?.version));
        set.status = 204;
      },
      {
        params: IdParams,
        headers: IfMatchHeaders,
        body: LockBody,
        response: { 204: t.Void(), ...LOCKED_WRITE_ERRORS },
        detail: detail("Soft-delete a task", 'The task and its comments leave lists; its history stays readable. Optimistic lock: If-Match: "<version>" (412) or body {"version": N} (409), as for a PATCH.'),
      },
    )
    .get(
      "/api/tasks/:id/comments",
      async ({ auth, params, query, publicUrl }) => {
        const page = pageFrom(query);
        return envelope(publicUrl(), page, await s.comments.listForTask(auth, params.id, query, page));
      },
      { params: IdParams, query: TaskCommentsQuery, response: { 200: CommentPage, ...RECORD_ERRORS }, detail: detail("Comments of a task, oldest first unless `ordering` says otherwise") },
    )
    .get(
      "/api/tasks/:id/history",
      async ({ auth, params, query, publicUrl }) => {
        const page = pageFrom(query);
        return envelope(publicUrl(), page, await s.tasks.history(auth, params.id, page));
      },
      {
        params: IdParams,
        query: HistoryQuery,
        response: { 200: HistoryPage, ...RECORD_ERRORS },
        detail: detail("History of a task, oldest first (also for soft-deleted tasks)"),
      },
    );
