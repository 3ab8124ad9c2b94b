import type { Executor } from "../db/types";
import { UserRepo } from "../users/repo";
import type { FieldErrors } from "./validate";
import type { AnyRecord, EntityKind, RecordOf, WritableField } from "./model";
import { type LiveMatch, RecordRepo } from "./repo";

/**
 * A field of a record naming another record of the organization (`to` a kind) or one of its users.
 * `sameAs`: the record named must have the same value of that field as the one naming it (a reply's
 * parent is a comment on the reply's own task), and is never the record itself.
 */
export interface Reference<K extends EntityKind = EntityKind> {
  readonly field: WritableField<K>;
  readonly to: EntityKind | "user";
  readonly sameAs?: WritableField<K>;
}

/**
 * The references of each entity kind. A push reads them all before deciding (src/sync/push/state.ts);
 * {@link checkReferences} checks them on every write; a push that sets one to a deleted record keeps
 * it in a Conflict instead (`danglingRefs`, src/sync/push/decide.ts): a new reference field is
 * declared here, and its dangling rule written there.
 */
export const REFERENCES: { readonly [K in EntityKind]: readonly Reference<K>[] } = {
  project: [],
  task: [
    { field: "project_id", to: "project" },
    { field: "assignee_id", to: "user" },
  ],
  comment: [
    { field: "task_id", to: "task" },
    { field: "parent_id", to: "comment", sameAs: "task_id" },
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
 * Checks the references a write sets ({@link REFERENCES}: only those that changed, or all on create)
 * against the caller's organization: a record named must be live (a task's `project_id` a live
 * project, a comment's `task_id` a live task, its `parent_id` a live comment of the same task), a
 * user named one of the organization's. What `known` does not answer is asked of the organization's
 * repositories (one lookup each), so a record of another organization fails exactly like a missing one.
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
  const value = (r: unknown, f: string) => (r as Record<string, unknown>)[f];
  const changed = (f: string) => {
    const v = value(after, f);
    return v !== null && v !== undefined && (before === null || value(before, f) !== v) ? (v as string) : null;
  };
  /** A live record of the organization with `match`'s values, from `known` when it knows, else from its repository. */
  const live = async <R extends EntityKind>(refKind: R, id: string, match: LiveMatch<R>) => {
    const r = known?.record(refKind, id);
    if (r === undefined) return new RecordRepo(exec, orgId, refKind).isLive(id, match);
    return r !== null && r.deleted_at === null && Object.entries(match).every(([f, v]) => value(r, f) === v);
  };
  const isUser = async (id: string) => known?.user(id) ?? (await new UserRepo(exec, orgId).findIds([id])).has(id);

  const refs = REFERENCES[kind];
  for (const { field, to, sameAs } of refs) {
    const id = changed(field);
    if (id === null) continue;
    if (to === "user") {
      if (!(await isUser(id))) errors[field] = "no such user";
    } else if (sameAs === undefined) {
      if (!(await live(to, id, {}))) errors[field] = `no such ${to}`;
    } else if (to === kind && id === after.id) {
      errors[field] = `a ${kind} cannot answer itself`;
    } else if (!(await live(to, id, { [sameAs]: value(after, sameAs) } as LiveMatch<typeof to>))) {
      errors[field] = `no such ${to} on this ${refs.find((r) => r.field === sameAs)?.to ?? sameAs}`;
    }
  }
  return errors;
}
