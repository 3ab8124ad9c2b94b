import type { Database, Executor } from "../db/types";
import { notFound } from "../errors";
import { pageFrom } from "../http/pagination";
import { type Page, parseOrdering } from "../records/list";
import type { Comment } from "../records/model";
import { type Actor, restCreate, restDelete, restUpdate } from "../records/rest";
import { RecordRepo } from "../records/repo";
import type { Clock } from "../time";
import { COMMENT_ORDERING, type CommentCreateBody, type CommentListQuery, type CommentPatchBody, type TaskCommentsQuery } from "./model";
import { CommentRepo } from "./repo";

/**
 * Threaded comments of tasks. A comment of a soft-deleted task is hidden like a deleted one:
 * 404 on read and write, left out of lists unless include_deleted=true.
 */
export class CommentService {
  constructor(private readonly deps: { db: Database; clock: Clock }) {}

  async list(actor: Actor, q: CommentListQuery): Promise<Page<Comment>> {
    const page = pageFrom(q);
    const result = await new CommentRepo(this.deps.db, actor.orgId).list(
      { taskId: q.task_id, includeDeleted: q.include_deleted === true, ordering: parseOrdering(q.ordering, COMMENT_ORDERING, "created_at") },
      page,
    );
    return { page, result };
  }

  /** `GET /api/tasks/{id}/comments`: the task must exist (a soft-deleted one only with include_deleted). */
  async listForTask(actor: Actor, taskId: string, q: TaskCommentsQuery): Promise<Page<Comment>> {
    const page = pageFrom(q);
    const includeDeleted = q.include_deleted === true;
    const tasks = new RecordRepo(this.deps.db, actor.orgId, "task");
    await (includeDeleted ? tasks.mustGet(taskId) : tasks.mustGetLive(taskId));
    const result = await new CommentRepo(this.deps.db, actor.orgId).list(
      { taskId, includeDeleted, ordering: parseOrdering(q.ordering, COMMENT_ORDERING, "created_at") },
      page,
    );
    return { page, result };
  }

  async get(actor: Actor, id: string): Promise<Comment> {
    const c = await new CommentRepo(this.deps.db, actor.orgId).mustGetLive(id);
    await this.taskMustBeLive(this.deps.db, actor, c.task_id);
    return c;
  }

  create(actor: Actor, body: CommentCreateBody): Promise<Comment> {
    const { id, ...data } = body;
    return this.deps.db.transaction((tx) => restCreate(tx, "comment", actor, data, id, this.deps.clock.now()));
  }

  update(actor: Actor, id: string, body: CommentPatchBody, ifMatch: string | null): Promise<Comment> {
    const { version, ...data } = body;
    return this.deps.db.transaction(async (tx) => {
      await this.taskOfLiveComment(tx, actor, id);
      return restUpdate(tx, "comment", actor, id, data, { ifMatch, version }, this.deps.clock.now());
    });
  }

  async delete(actor: Actor, id: string, ifMatch: string | null): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      await this.taskOfLiveComment(tx, actor, id);
      await restDelete(tx, "comment", actor, id, { ifMatch }, this.deps.clock.now());
    });
  }

  private async taskOfLiveComment(exec: Executor, actor: Actor, id: string): Promise<void> {
    const c = await new CommentRepo(exec, actor.orgId).mustGetLive(id);
    await this.taskMustBeLive(exec, actor, c.task_id);
  }

  private async taskMustBeLive(exec: Executor, actor: Actor, taskId: string): Promise<void> {
    const task = await new RecordRepo(exec, actor.orgId, "task").find(taskId);
    if (!task || task.deleted_at !== null) throw notFound("comment");
  }
}
