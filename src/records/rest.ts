/**
 * The REST side of the write core, shared by the projects, tasks and comments services:
 * preconditions (If-Match → 412, body `version` → 409, both with `details.current`), no-op
 * detection and the retry of a lost compare-and-set when the client asked for no lock. Each write
 * checks its writer again in its transaction, as a push does (`mustStillWrite`: 401 once the
 * account is deactivated).
 */
import { mustStillWrite, type Writer } from "../auth/writer";
import type { Tx } from "../db/types";
import { DomainError } from "../errors";
import type { Role } from "../users/model";
import type { EntityKind, RecordOf } from "./model";
import { RecordRepo } from "./repo";
import { changedFields, keptChanging, MAX_WRITE_ATTEMPTS, WriteConflict, writeRecord } from "./write";

/** Who writes: the authenticated user of the caller's organization. */
export interface Actor {
  userId: string;
  orgId: string;
}

/**
 * The optimistic lock of a locked write (PATCH, DELETE, archive), as the HTTP layer read it
 * (`preconditionOf`, src/records/http.ts): the versions `If-Match` accepts and/or the body's `version`.
 */
export interface Precondition {
  /** `If-Match` was sent: `any` for `*`, else the versions its entity tags name (none when no tag is a version). */
  ifMatch?: "any" | readonly number[];
  /** The body's `version` field, when present. */
  version?: number;
}

/** The strong entity tag of a record: `"<version>"`. */
export const etagOf = (r: { version: number }): string => `"${r.version}"`;

const hasLock = (p: Precondition) => p.ifMatch !== undefined || p.version !== undefined;

/**
 * Throws 412 (If-Match) or 409 (body version) when `current` does not satisfy `p`, with the current
 * record at `details.current` and its `ETag` (a client can retry with it at once).
 */
function checkPrecondition(current: { version: number } & object, p: Precondition): void {
  if (p.ifMatch !== undefined && p.ifMatch !== "any" && !p.ifMatch.includes(current.version))
    throw new DomainError("precondition_failed", `If-Match does not match the current version ${current.version}`, { current }, { etag: etagOf(current) });
  if (p.version !== undefined && p.version !== current.version)
    throw new DomainError("version_conflict", `version ${p.version} is not the current version ${current.version}`, { current }, { etag: etagOf(current) });
}

/** A REST write's writer: its user, whatever device its token names (only pushes write as a device). */
const restWriter = (actor: Actor): Writer => ({ orgId: actor.orgId, userId: actor.userId, deviceId: null });

/**
 * The REST writer's role as of `tx` (401 once the account is no longer active): what an admin-only
 * write (a moderation) checks, rather than the role the request was authenticated with.
 */
export const writerRole = (tx: Tx, actor: Actor): Promise<Role> => mustStillWrite(tx, restWriter(actor));

/** Creates a record for a REST caller (clock `{server: 1}`, history device_id null). */
export async function restCreate<K extends EntityKind>(tx: Tx, kind: K, actor: Actor, data: Record<string, unknown>, id?: string, now?: Date): Promise<RecordOf[K]> {
  await mustStillWrite(tx, restWriter(actor));
  return writeRecord(tx, { entity: kind, orgId: actor.orgId, before: null, data, id, action: "created", userId: actor.userId, deviceId: null, now });
}

/**
 * Applies `data` to the live record `id` for a REST caller. A request whose fields change nothing
 * answers the record as it is (no new version). With a precondition, a concurrent write that wins
 * the compare-and-set turns into 412/409 with the then-current record; without one the update is
 * re-applied on top of the winner (each field: last write wins).
 */
export async function restUpdate<K extends EntityKind>(
  tx: Tx,
  kind: K,
  actor: Actor,
  id: string,
  data: Record<string, unknown>,
  pre: Precondition,
  now?: Date,
): Promise<RecordOf[K]> {
  await mustStillWrite(tx, restWriter(actor));
  return withRetry(tx, kind, actor, id, pre, async (before) => {
    if (changedFields(kind, before, data).length === 0) return before;
    return writeRecord(tx, { entity: kind, orgId: actor.orgId, before, data, action: "updated", userId: actor.userId, deviceId: null, now });
  });
}

/** Soft-deletes the live record `id` for a REST caller (tombstone: deleted_at, deleted_by, new clock; feed op delete). */
export async function restDelete<K extends EntityKind>(tx: Tx, kind: K, actor: Actor, id: string, pre: Precondition, now?: Date): Promise<RecordOf[K]> {
  await mustStillWrite(tx, restWriter(actor));
  return withRetry(tx, kind, actor, id, pre, (before) =>
    writeRecord(tx, { entity: kind, orgId: actor.orgId, before, action: "deleted", userId: actor.userId, deviceId: null, now }),
  );
}

async function withRetry<K extends EntityKind>(
  tx: Tx,
  kind: K,
  actor: Actor,
  id: string,
  pre: Precondition,
  write: (before: RecordOf[K]) => Promise<RecordOf[K]>,
): Promise<RecordOf[K]> {
  const repo = new RecordRepo(tx, actor.orgId, kind);
  for (let attempt = 1; ; attempt++) {
    const before = await repo.mustGetLive(id);
    checkPrecondition(before, pre);
    try {
      return await write(before);
    } catch (err) {
      if (!(err instanceof WriteConflict)) throw err;
      const current = err.current as RecordOf[K] | undefined;
      // Deleted meanwhile: the next attempt's read answers 404 — or, the record brought back since (a
      // conflict's resolution), checks and writes again. Answering that read's record as it was
      // answered 200 (204 for a DELETE) for a write that was never made.
      if (current && current.deleted_at === null && hasLock(pre)) checkPrecondition(current, pre);
      if (attempt >= MAX_WRITE_ATTEMPTS) throw keptChanging();
    }
  }
}
