import type { Database } from "../db/types";
import type { PageRequest, PageResult } from "../db/page";
import { parseOrdering } from "../records/list";
import type { Project } from "../records/model";
import { type Actor, type Precondition, restCreate, restDelete, restUpdate } from "../records/rest";
import type { Clock } from "../time";
import { PROJECT_ORDERING, type ProjectCreateBody, type ProjectListQuery, type ProjectPatchFields } from "./model";
import { type ProjectFilter, ProjectRepo } from "./repo";

/** Projects: CRUD with optimistic locking, archive, filtered lists. Writes go through the records write core. */
export class ProjectService {
  constructor(private readonly deps: { db: Database; clock: Clock }) {}

  /** One page of the organization's projects matching the query, in its ordering. */
  list(actor: Actor, q: ProjectListQuery, page: PageRequest): Promise<PageResult<Project>> {
    return new ProjectRepo(this.deps.db, actor.orgId).list(projectFilter(q), page);
  }

  get(actor: Actor, id: string): Promise<Project> {
    return new ProjectRepo(this.deps.db, actor.orgId).mustGetLive(id);
  }

  create(actor: Actor, body: ProjectCreateBody): Promise<Project> {
    const { id, ...data } = body;
    return this.deps.db.transaction((tx) => restCreate(tx, "project", actor, data, id, this.deps.clock.now()));
  }

  /** Changes the fields given under the lock `pre` (412/409 with the current record when it does not hold). */
  update(actor: Actor, id: string, data: ProjectPatchFields, pre: Precondition): Promise<Project> {
    return this.deps.db.transaction((tx) => restUpdate(tx, "project", actor, id, data, pre, this.deps.clock.now()));
  }

  /** Sets `archived` (a no-op answering the record when it already is). */
  archive(actor: Actor, id: string, pre: Precondition): Promise<Project> {
    return this.deps.db.transaction((tx) => restUpdate(tx, "project", actor, id, { archived: true }, pre, this.deps.clock.now()));
  }

  /** Soft delete, locked like an update (`If-Match` → 412, body `version` → 409). The project's tasks keep their project_id (the tombstone still resolves it). */
  async delete(actor: Actor, id: string, pre: Precondition): Promise<void> {
    await this.deps.db.transaction((tx) => restDelete(tx, "project", actor, id, pre, this.deps.clock.now()));
  }
}

/** The project list's query as its repository's filter. */
export function projectFilter(q: ProjectListQuery): ProjectFilter {
  return { archived: q.archived, search: q.search || undefined, include_deleted: q.include_deleted === true, ordering: parseOrdering(q.ordering, PROJECT_ORDERING) };
}
