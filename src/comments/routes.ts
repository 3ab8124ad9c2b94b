import { Elysia, t } from "elysia";
import { authGuard } from "../auth/guard";
import { ErrorBody } from "../http/errors";
import { envelope, pageFrom } from "../wire/pagination";
import { type HttpConfig, publicUrlOf } from "../http/public-url";
import { CREATE_ERRORS, IdParams, IfMatchHeaders, LIST_ERRORS, LOCKED_WRITE_ERRORS, preconditionOf, READ_ERRORS, withEtag } from "../records/http";
import { LockBody } from "../records/model";
import type { Services } from "../services";
import { Comment, CommentCreateBody, CommentListQuery, CommentPage, CommentPatchBody } from "./model";

const detail = (summary: string, description?: string) => ({ tags: ["comments"], summary, description });

/** Threaded comments: list (filter task_id)/create, read/update/soft-delete. */
export const commentRoutes = (s: Services, http: HttpConfig) =>
  new Elysia()
    .use(authGuard(s))
    .use(publicUrlOf(http))
    .get(
      "/api/comments",
      async ({ auth, query, publicUrl }) => {
        const page = pageFrom(query);
        return envelope(publicUrl(), page, await s.comments.list(auth, query, page));
      },
      {
        query: CommentListQuery,
        response: { 200: CommentPage, ...LIST_ERRORS },
        detail: detail("List comments", "Comments of soft-deleted tasks are left out unless include_deleted=true."),
      },
    )
    .post(
      "/api/comments",
      async ({ auth, body, set }) => {
        const comment = await s.comments.create(auth, body);
        set.status = 201;
        set.headers.location = `/api/comments/${comment.id}`;
        return withEtag(set, comment);
      },
      {
        body: CommentCreateBody,
        response: { 201: Comment, ...CREATE_ERRORS },
        detail: detail("Create a comment", "parent_id must be a comment of the same task; a client may supply the id (UUID)."),
      },
    )
    .get("/api/comments/:id", async ({ auth, params, set }) => withEtag(set, await s.comments.get(auth, params.id)), {
      params: IdParams,
      response: { 200: Comment, ...READ_ERRORS },
      detail: detail("One comment (404 once it or its task is soft-deleted)"),
    })
    .patch(
      "/api/comments/:id",
      async ({ auth, params, body: { version, ...data }, headers, set }) => withEtag(set, await s.comments.update(auth, params.id, data, preconditionOf(headers, version))),
      {
        params: IdParams,
        headers: IfMatchHeaders,
        body: CommentPatchBody,
        response: { 200: Comment, ...LOCKED_WRITE_ERRORS, 403: ErrorBody },
        detail: detail("Edit a comment's body", 'Its author only (403 forbidden for anyone else). Optimistic lock: If-Match: "<version>" (412) or body version (409).'),
      },
    )
    .delete(
      "/api/comments/:id",
      async ({ auth, params, body, headers, set }) => {
        await s.comments.delete(auth, params.id, preconditionOf(headers, body?.version));
        set.status = 204;
      },
      {
        params: IdParams,
        headers: IfMatchHeaders,
        body: LockBody,
        response: { 204: t.Void(), ...LOCKED_WRITE_ERRORS, 403: ErrorBody },
        detail: detail("Soft-delete a comment", 'Its author, or an organization admin (moderation); 403 forbidden for anyone else. Optimistic lock: If-Match: "<version>" (412) or body {"version": N} (409), as for a PATCH.'),
      },
    );
