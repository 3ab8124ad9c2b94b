import type { Executor } from "../db/types";
import { UserRepo } from "../users/repo";
import type { FieldErrors } from "./validate";
import type { AnyRecord, EntityKind, RecordOf } from "./model";
import { type LiveMatch, RecordRepo } from "./repo";

/**
 * The references of each entity kind: which of its fields name another record of the organization
 * (`to` a kind) or one of its users. A push reads them all before deciding (src/sync/push/state.ts).
 * What a reference must satisfy is {@link checkReferences}'s; a push that sets one to a deleted
 * record keeps it in a Conflict instead (`danglingRefs`, src/sync/push/decide.ts): a new reference
 * field is declared here and its rules written in both.
 */
export const REFERENCES: { readonly [K in EntityKind]: readonly { field: string; to: EntityKind | "user" }[] } = {
  project: [],
  task: [
    { field: "project_id", to: "project" },
    { field: "assignee_id", to: "user" },
  ],
  comment: [
    { field: "task_id", to: "task" },
    { field: "parent_id", to: "comment" },
  ],
};

/**
 * Records the caller already holds in its transaction (a push batch: everything it loaded or wrote),
 * so that checking a reference needs no query. `record` answers the organization's record (a
 * tombstone included), null when it is known not to exist in the organization, undefined when
 * unknown (then the database is asked); `user` likewise for users of the organization.
 */
export interface KnownRecords {
  record(kind: EntityKind, id: string): AnyRecord | null | undefined;
  user(id: string): boolean | undefined;
}

/** A reply's parent must be a comment on the reply's own task: true when `parent` is one on `taskId`. */
export function isParentOnTask(parent: AnyRecord | null | undefined, taskId: unknown): boolean {
  return parent !== null && parent !== undefined && (parent as RecordOf["comment"]).task_id === taskId;
}

/**
 * Checks the references a write sets (only those that changed, or all on create) against the
 * caller's organization: a task's `project_id` must be a live project and `assignee_id` a user of
 * the organization; a comment's `task_id` a live task and `parent_id` a live comment of the same task.
 * What `known` does not answer is asked of the organization's repositories (one lookup each), so a
 * record of another organization fails exactly like a missing one.
 */
export async function checkReferences<K extends EntityKind>(
  exec: Executor,
  orgId: string,
  kind: K,
  before: RecordOf[K] | null,
  after: RecordOf[K],
  known?: KnownRecords,
): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  const changed = (f: string) => {
    const v = (after as unknown as Record<string, unknown>)[f];
    return v !== null && v !== undefined && (before === null || (before as unknown as Record<string, unknown>)[f] !== v) ? (v as string) : null;
  };
  /** A live record of the organization with `match`'s values (`also` checks them on a known one), from `known` when it knows, else from its repository. */
  const live = async <R extends EntityKind>(refKind: R, id: string, match?: LiveMatch<R>, also?: (r: AnyRecord) => boolean) => {
    const r = known?.record(refKind, id);
    if (r === undefined) return new RecordRepo(exec, orgId, refKind).isLive(id, match);
    return r !== null && r.deleted_at === null && (also === undefined || also(r));
  };
  const isUser = async (id: string) => known?.user(id) ?? (await new UserRepo(exec, orgId).findIds([id])).has(id);

  if (kind === "task") {
    const project = changed("project_id");
    if (project && !(await live("project", project))) errors.project_id = "no such project";
    const assignee = changed("assignee_id");
    if (assignee && !(await isUser(assignee))) errors.assignee_id = "no such user";
  } else if (kind === "comment") {
    const c = after as RecordOf["comment"];
    const task = changed("task_id");
    if (task && !(await live("task", task))) errors.task_id = "no such task";
    const parent = changed("parent_id");
    if (parent) {
      if (parent === c.id) errors.parent_id = "a comment cannot answer itself";
      else if (!(await live("comment", parent, { task_id: c.task_id }, (r) => isParentOnTask(r, c.task_id))))
        errors.parent_id = "no such comment on this task";
    }
  }
  return errors;
}
