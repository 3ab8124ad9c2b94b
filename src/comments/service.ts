import type { Database, Executor } from "../db/types";
import { notFound } from "../errors";
import type { PageRequest, PageResult } from "../db/page";
import { parseOrdering } from "../records/list";
import { requireCommentAuthor, requireCommentDeleter } from "../records/authorship";
import type { Comment } from "../records/model";
import { type Actor, type Precondition, restCreate, restDelete, restUpdate, writerRole } from "../records/rest";
import { RecordRepo } from "../records/repo";
import type { Clock } from "../time";
import { COMMENT_ORDERING, type CommentCreateBody, type CommentListQuery, type CommentPatchFields, type TaskCommentsQuery } from "./model";
import { type CommentFilter, CommentRepo } from "./repo";

/** A comment list's query as its repository's filter (a task's comments: its id as `task_id`). */
export function commentFilter(q: CommentListQuery): CommentFilter {
  return { task_id: q.task_id, include_deleted: q.include_deleted === true, ordering: parseOrdering(q.ordering, COMMENT_ORDERING) };
}

/**
 * Threaded comments of tasks. A comment of a soft-deleted task is hidden like a deleted one:
 * 404 on read and write, left out of lists unless include_deleted=true. Only its author edits a
 * comment; its author or an organization admin deletes it (403 `forbidden` for anyone else).
 */
export class CommentService {
  constructor(private readonly deps: { db: Database; clock: Clock }) {}

  /** One page of the organization's comments (of one task with `task_id`), in the query's ordering. */
  list(actor: Actor, q: CommentListQuery, page: PageRequest): Promise<PageResult<Comment>> {
    return new CommentRepo(this.deps.db, actor.orgId).list(commentFilter(q), page);
  }

  /** `GET /api/tasks/{id}/comments`: the task must exist (a soft-deleted one only with include_deleted). */
  async listForTask(actor: Actor, taskId: string, q: TaskCommentsQuery, page: PageRequest): Promise<PageResult<Comment>> {
    const filter = commentFilter({ ...q, task_id: taskId });
    const tasks = new RecordRepo(this.deps.db, actor.orgId, "task");
    await (filter.include_deleted ? tasks.mustGet(taskId) : tasks.mustGetLive(taskId));
    return new CommentRepo(this.deps.db, actor.orgId).list(filter, page);
  }

  /** A live comment of a live task (404 otherwise). */
  get(actor: Actor, id: string): Promise<Comment> {
    return this.liveComment(this.deps.db, actor, id);
  }

  create(actor: Actor, body: CommentCreateBody): Promise<Comment> {
    const { id, ...data } = body;
    return this.deps.db.transaction((tx) => restCreate(tx, "comment", actor, data, id, this.deps.clock.now()));
  }

  /** Edits the body: the author only (403 for anyone else, admins included). */
  update(actor: Actor, id: string, data: CommentPatchFields, pre: Precondition): Promise<Comment> {
    return this.deps.db.transaction(async (tx) => {
      requireCommentAuthor(await this.liveComment(tx, actor, id), actor.userId);
      return restUpdate(tx, "comment", actor, id, data, pre, this.deps.clock.now());
    });
  }

  /**
   * Soft delete, locked like an update: the author, or an admin of the organization (moderation); 403 for anyone else.
   * The role is the one read in the write's transaction: an admin demoted since the request's token check deletes as a member.
   */
  async delete(actor: Actor, id: string, pre: Precondition): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      const role = await writerRole(tx, actor);
      requireCommentDeleter(await this.liveComment(tx, actor, id), actor.userId, role === "admin");
      await restDelete(tx, "comment", actor, id, pre, this.deps.clock.now());
    });
  }

  /** The live comment `id` of a live task (404 otherwise). Its author never changes: checked once, it holds for the write. */
  private async liveComment(exec: Executor, actor: Actor, id: string): Promise<Comment> {
    const c = await new CommentRepo(exec, actor.orgId).mustGetLive(id);
    await this.taskMustBeLive(exec, actor, c.task_id);
    return c;
  }

  private async taskMustBeLive(exec: Executor, actor: Actor, taskId: string): Promise<void> {
    const task = await new RecordRepo(exec, actor.orgId, "task").find(taskId);
    if (!task || task.deleted_at !== null) throw notFound("comment");
  }
}
