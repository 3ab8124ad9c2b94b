/**
 * Conflicts (api-contract.md, "Conflicts"): list, show and resolve, for the HTTP API (scoped to
 * the caller's organization) and the CLI (any organization). A resolution writes a new version
 * through the records write core: history `conflict_resolved`, a clock newer than both sides
 * (`serverWrite` of the current clock, which already dominates both), feed origin none so that
 * every device pulls it.
 */
import { IDS_PER_QUERY } from "../db/bulk";
import type { PageRequest, PageResult } from "../db/page";
import type { Database, Tx } from "../db/types";
import { DomainError, invalid, notFound } from "../errors";
import { orgScope } from "../orgs/scope";
import { mustStillWrite } from "../auth/writer";
import { requireCommentAuthor, requireCommentDeleter, requireCommentRestorer } from "../records/authorship";
import { jsonEqual } from "../records/json";
import type { AnyRecord, Comment } from "../records/model";
import { RecordRepo } from "../records/repo";
import { keptChanging, MAX_WRITE_ATTEMPTS, WriteConflict, writeRecord } from "../records/write";
import { type Clock, notBefore } from "../time";
import { type Conflict, ConflictRepo, type ConflictSummary, findConflictAnyOrg, findConflictsAnyOrg, listConflictSummariesAnyOrg } from "./conflicts-repo";
import type { ConflictListQuery, ConflictView, ResolveBody } from "./model";

/** A stored conflict, as the service hands it out (the CLI prints it with its organization). */
export type { Conflict, ConflictSummary };

/** Who resolves: a member of the organization, or the CLI (`userId` null). */
export interface Resolver {
  orgId: string;
  /**
   * Null: the CLI's operator, not a user of the organization (no authorship rule applies). A user's
   * role (an admin may delete or bring back any comment; an author only one no other user deleted) is
   * read in the resolution's transaction.
   */
  userId: string | null;
}

/** The conflict queue: list, show and resolve, for the API (one organization) and the CLI (any). */
export class ConflictService {
  constructor(private readonly deps: { db: Database; clock: Clock }) {}

  /** One page of the organization's conflicts, oldest first: open ones, or all with `include_resolved`. */
  async list(caller: { orgId: string }, q: ConflictListQuery, page: PageRequest): Promise<PageResult<ConflictView>> {
    const r = await new ConflictRepo(this.deps.db, caller.orgId).list(q.include_resolved === true, page);
    return { count: r.count, results: r.results.map(conflictView) };
  }

  /** A conflict of the caller's organization (404 otherwise). */
  async get(caller: { orgId: string }, id: string): Promise<ConflictView> {
    return conflictView(await new ConflictRepo(this.deps.db, caller.orgId).mustGet(id));
  }

  /** CLI: summaries of the conflicts of every organization (or of the one with slug `orgSlug`: 404 when unknown), oldest first. */
  async listAcrossOrgs(opts: { orgSlug?: string; includeResolved: boolean }): Promise<ConflictSummary[]> {
    return listConflictSummariesAnyOrg(this.deps.db, { ...(await orgScope(this.deps.db, opts.orgSlug)), includeResolved: opts.includeResolved });
  }

  /**
   * CLI: `visit`s the conflicts of {@link listAcrossOrgs} whole, oldest first, reading
   * {@link IDS_PER_QUERY} at a time: memory holds one such chunk, however many conflicts there are.
   * A conflict deleted meanwhile (its task purged), or resolved meanwhile when only open ones are
   * listed, is skipped.
   */
  async eachAcrossOrgs(opts: { orgSlug?: string; includeResolved: boolean }, visit: (c: Conflict) => Promise<void>): Promise<void> {
    const ids = (await this.listAcrossOrgs(opts)).map((c) => c.id);
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
      const chunk = ids.slice(i, i + IDS_PER_QUERY);
      const byId = new Map((await findConflictsAnyOrg(this.deps.db, chunk)).map((c) => [c.id, c]));
      for (const id of chunk) {
        const c = byId.get(id);
        if (c && (opts.includeResolved || c.resolvedAt === null)) await visit(c);
      }
    }
  }

  /** CLI: a conflict by id, whatever its organization. */
  async getAnyOrg(id: string): Promise<Conflict> {
    const c = await findConflictAnyOrg(this.deps.db, id);
    if (!c) throw notFound("conflict");
    return c;
  }

  /** CLI: resolves a conflict by id, whatever its organization (history user_id null). */
  async resolveAnyOrg(id: string, input: ResolveBody): Promise<AnyRecord> {
    const c = await this.getAnyOrg(id);
    return this.resolve({ orgId: c.orgId, userId: null }, c.id, input);
  }

  /** Resolves an open conflict of the resolver's organization; answers the resulting record. 409 `already_resolved` the second time. */
  async resolve(resolver: Resolver, id: string, input: ResolveBody): Promise<AnyRecord> {
    if (input.resolution === "custom" && (input.data === undefined || Object.keys(input.data).length === 0))
      throw invalid({ data: "required for a custom resolution: at least one field (for the server's values, resolve remote)" });
    if (input.resolution !== "custom" && input.data !== undefined) throw invalid({ data: "only a custom resolution carries data" });
    const now = this.deps.clock.now();
    return this.deps.db.transaction(async (tx) => {
      // A user's resolution is a write like a REST one: their account (and role) is read again where it commits.
      const role = resolver.userId === null ? null : await mustStillWrite(tx, { orgId: resolver.orgId, userId: resolver.userId, deviceId: null });
      const conflicts = new ConflictRepo(tx, resolver.orgId);
      const conflict = await conflicts.mustGet(id);
      await lockRecordOf(tx, resolver.orgId, conflict);
      // Never before the conflict arose: an instance whose clock is behind the one that recorded it.
      if (!(await conflicts.markResolved(conflict.id, input.resolution, resolver.userId, notBefore(now, conflict.createdAt)))) {
        throw new DomainError("already_resolved", "this conflict is already resolved");
      }
      return this.writeResolution(tx, { ...resolver, admin: role === "admin" }, conflict, input, now);
    });
  }

  /**
   * Writes the resolution on the record as it is now. `local` is refused (409 `version_conflict`,
   * the conflict stays open) when a later write changed one of the conflict's fields: the choice
   * was made between values that are no longer the record's, and writing `local` would undo that
   * write unseen. `remote` keeps such a field as it is now (the later write is newer than both sides).
   */
  private async writeResolution(tx: Tx, resolver: Resolver & { admin: boolean }, c: Conflict, input: ResolveBody, now: Date): Promise<AnyRecord> {
    const repo = new RecordRepo(tx, resolver.orgId, c.entity);
    for (let attempt = 1; ; attempt++) {
      const before = await repo.mustGet(c.entityId);
      const changed = changedSinceConflict(c, before);
      // A later write that already set local's value undoes nothing: only the others stop `local`.
      const overwritten = changed.filter((f) => !holdsLocal(c, before, f));
      if (input.resolution === "local" && overwritten.length > 0) {
        throw new DomainError(
          "version_conflict",
          `the record changed after the conflict (${overwritten.join(", ")}): resolve with custom, or remote to keep it as it is now`,
          { current: before, fields: overwritten },
        );
      }
      const plan = resolutionPlan(c, input, changed);
      // `local`/`remote` write only the values that change (and so are checked): a side's value the
      // record already holds (e.g. a title stored blank before blanks were refused) never stops its
      // resolution. `custom` data is checked whole, like a PATCH.
      const current = before as unknown as Record<string, unknown>;
      const data = input.resolution === "custom" ? plan.data : Object.fromEntries(Object.entries(plan.data).filter(([f, v]) => !jsonEqual(current[f], v)));
      if (c.entity === "comment" && resolver.userId !== null) requireCommentResolver(before as Comment, current, data, plan.deleted, resolver.userId, resolver.admin);
      try {
        return await writeRecord(tx, {
          entity: c.entity,
          orgId: resolver.orgId,
          before: before as never,
          data,
          action: "conflict_resolved",
          userId: resolver.userId,
          deviceId: null,
          originDevice: null,
          now,
          deleted: plan.deleted,
          reattachTo: c.entity === "comment" && c.fields.includes("parent_id") ? pushedParent(c) : undefined,
        });
      } catch (err) {
        if (!(err instanceof WriteConflict)) throw err;
        if (attempt >= MAX_WRITE_ATTEMPTS) throw keptChanging();
      }
    }
  }
}

/**
 * Locks the conflict's record (Postgres; SQLite has one writer) before the conflict's row is
 * marked resolved: the order in which the tombstone purge takes them (the record, then its
 * conflicts), so that a resolution and the purge of its record wait for each other instead of
 * deadlocking (test/sync/resolve-purge-race.test.ts). A record purged meanwhile took the conflict
 * with it: 404.
 */
async function lockRecordOf(tx: Tx, orgId: string, c: Conflict): Promise<void> {
  const locked = await new RecordRepo(tx, orgId, c.entity).findMany([c.entityId], { forUpdate: true });
  if (!locked.has(c.entityId)) throw notFound("conflict");
}

/**
 * The comment authorship rule (src/records/authorship.ts) for a resolution, whichever side it takes:
 * changing any field of the comment (its text, its place in the thread) is its author's alone, and
 * deleting it its author's or an admin's, bringing it back an admin's or, when no other user deleted it, its
 * author's (`requireCommentRestorer`) — a resolution is a write like any other.
 */
function requireCommentResolver(comment: Comment, current: Record<string, unknown>, data: Record<string, unknown>, deleted: boolean | undefined, userId: string, admin: boolean): void {
  if (Object.entries(data).some(([f, v]) => !jsonEqual(current[f], v))) requireCommentAuthor(comment, userId);
  if (deleted === true && comment.deleted_at === null) requireCommentDeleter(comment, userId, admin);
  if (deleted === false && comment.deleted_at !== null) requireCommentRestorer(comment, userId, admin);
}

/** What a resolution writes: fields, and the record's deletion when the conflict was about it. */
export interface ResolutionPlan {
  data: Record<string, unknown>;
  /** true: deleted, false: live again, undefined: unchanged. */
  deleted?: boolean;
}

/**
 * The write a resolution makes (pure): `local`/`remote` take that side's values of the
 * conflict's `fields` (and its deletion when `deleted_at` is one of them), except the fields
 * `changedSince` the conflict, which stay as they are; `custom` writes the given data (checked by
 * the write core like a PATCH) and, when the conflict was about the deletion, brings the record back.
 */
export function resolutionPlan(c: Pick<Conflict, "fields" | "local" | "remote">, input: ResolveBody, changedSince: readonly string[] = []): ResolutionPlan {
  const aboutDeletion = c.fields.includes("deleted_at");
  if (input.resolution === "custom") return { data: input.data ?? {}, deleted: aboutDeletion ? false : undefined };
  const side = input.resolution === "local" ? c.local : c.remote;
  const data: Record<string, unknown> = {};
  for (const f of c.fields) if (f !== "deleted_at" && !changedSince.includes(f) && Object.prototype.hasOwnProperty.call(side, f)) data[f] = side[f];
  const deletion = aboutDeletion && !changedSince.includes("deleted_at");
  return { data, deleted: deletion ? (side.deleted_at ?? null) !== null : undefined };
}

/** Whether the record already holds the conflict's `local` value of `field` (its deletion state for `deleted_at`). */
function holdsLocal(c: Pick<Conflict, "local">, current: AnyRecord, field: string): boolean {
  if (field === "deleted_at") return (current.deleted_at === null) === ((c.local.deleted_at ?? null) === null);
  return Object.prototype.hasOwnProperty.call(c.local, field) && jsonEqual((current as unknown as Record<string, unknown>)[field], c.local[field]);
}

/**
 * The conflict's fields that a write changed after the conflict was recorded (pure). Right after
 * it each field held its `remote` value (the server kept its own), and a conflict about the
 * deletion left the record deleted, whichever side deleted it, at {@link deletionAtConflict}: a
 * record live since, or deleted again later (brought back by another resolution, then deleted by
 * a user who saw it live), changed it.
 */
export function changedSinceConflict(c: Pick<Conflict, "fields" | "local" | "remote">, current: AnyRecord): string[] {
  const now = current as unknown as Record<string, unknown>;
  const deletedThen = deletionAtConflict(c);
  const deletionChanged = current.deleted_at === null || (deletedThen !== undefined && current.deleted_at !== deletedThen);
  return c.fields.filter((f) => (f === "deleted_at" ? deletionChanged : !jsonEqual(now[f], c.remote[f])));
}

/**
 * The record's `deleted_at` right after a conflict about its deletion: the tombstone's that an update
 * (or a create on a deleted task) met, `remote`'s; else the delete's that won over an update, `local`'s.
 */
function deletionAtConflict(c: Pick<Conflict, "local" | "remote">): string | undefined {
  const at = c.remote.deleted_at ?? c.local.deleted_at;
  return typeof at === "string" ? at : undefined;
}

/** The contract's Conflict. */
export function conflictView(c: Conflict): ConflictView {
  return {
    id: c.id,
    entity: c.entity,
    entity_id: c.entityId,
    fields: c.fields,
    local: c.local,
    remote: c.remote,
    base: c.base ?? {},
    device_id: c.deviceId,
    user_id: c.userId,
    created_at: c.createdAt,
    resolved_at: c.resolvedAt,
    resolution: c.resolution,
    resolved_by: c.resolvedBy,
  };
}

/** The parent a comment was created with (its create's `local` side: a create's Conflict has no base), if any. */
function pushedParent(c: Conflict): string | undefined {
  if (c.base !== null) return undefined;
  const parent = c.local.parent_id;
  return typeof parent === "string" ? parent.toLowerCase() : undefined;
}
