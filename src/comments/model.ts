import { t, type Static } from "elysia";
import { Uuid } from "../wire/schema";
import { PageQuery, Paginated } from "../wire/pagination";
import { Query } from "../wire/query";
import { OrderingQuery, orderings } from "../wire/ordering";
import { Comment, CommentFieldProps, optionalProps, VersionLock } from "../records/model";

export { Comment } from "../records/model";

export const CommentPage = Paginated(Comment, "CommentPage");

/**
 * `POST /api/comments`: `task_id` and `body` required, `parent_id` (a comment of the same task)
 * optional, `id` optional (client-supplied UUID). `task_id` and `parent_id` are fixed once created.
 */
export const CommentCreateBody = t.Object(
  { id: t.Optional(Uuid), ...optionalProps(CommentFieldProps), task_id: CommentFieldProps.task_id, body: CommentFieldProps.body },
  { additionalProperties: false, title: "CommentCreate" },
);
export type CommentCreateBody = Static<typeof CommentCreateBody>;

/**
 * `PATCH /api/comments/{id}`: only `body` changes; `version` is the optimistic lock. `task_id` and
 * `parent_id` may be sent back as they are (a client that PATCHes the record it read); a different
 * value is refused (422): a comment never moves.
 */
export const CommentPatchBody = t.Object(
  { ...optionalProps(CommentFieldProps), version: VersionLock },
  { additionalProperties: false, title: "CommentUpdate" },
);
export type CommentPatchBody = Static<typeof CommentPatchBody>;
/** The fields a PATCH changes (its body without the lock). */
export type CommentPatchFields = Omit<CommentPatchBody, "version">;

export const COMMENT_ORDERING = orderings(["created_at", "updated_at"], "created_at");
export type CommentOrderingField = (typeof COMMENT_ORDERING.fields)[number];

const CommentOrdering = OrderingQuery(COMMENT_ORDERING);

/** `GET /api/tasks/{id}/comments` query. Unknown parameters are ignored. */
export const TaskCommentsQuery = Query({
  ...PageQuery,
  ordering: CommentOrdering,
  include_deleted: t.Optional(t.Boolean({ description: "also soft-deleted comments (and those of a soft-deleted task)" })),
});
export type TaskCommentsQuery = Static<typeof TaskCommentsQuery>;

/** `GET /api/comments` query. Unknown parameters are ignored. */
export const CommentListQuery = Query({
  ...PageQuery,
  task_id: t.Optional(Uuid),
  ordering: CommentOrdering,
  include_deleted: t.Optional(t.Boolean({ description: "also soft-deleted comments and those of soft-deleted tasks" })),
});
export type CommentListQuery = Static<typeof CommentListQuery>;
