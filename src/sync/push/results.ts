/** The answers of a push (one `ChangeResult` per change) and the Conflict rows it records (pure: no I/O). */
import type { AnyRecord, EntityKind } from "../../records/model";
import type { Conflict } from "../conflicts-repo";
import type { ChangeError, ChangeErrorCode, ChangeResult, ChangeStatus } from "../model";
import type { ConflictSpec, PushContext } from "./context";

/** The ids an answer echoes: the change's, or null where it carried none that can be echoed. */
export interface AnsweredIds {
  changeId: string | null;
  entity: string | null;
  entityId: string | null;
}

/** The `error` of a rejected change's result (`details` an empty object unless given). */
export function changeError(code: ChangeErrorCode, message: string, details?: Record<string, unknown>): ChangeError {
  return { code, message, details: details ?? {} };
}

/** A change that went through (applied, merged, conflict or stale): `record` is the record it left. */
export function decided(ids: AnsweredIds, status: ChangeStatus, record: AnyRecord): ChangeResult {
  return {
    change_id: ids.changeId,
    status,
    entity: ids.entity,
    entity_id: ids.entityId,
    version: record.version,
    vector_clock: record.vector_clock,
    record: record as unknown as Record<string, unknown>,
  };
}

/** A refused change: nothing of it written; `current` is the record the server holds, when it holds one. */
export function rejected(ids: AnsweredIds, error: ChangeError, current?: AnyRecord): ChangeResult {
  return {
    change_id: ids.changeId,
    status: "rejected",
    entity: ids.entity,
    entity_id: ids.entityId,
    version: current?.version ?? null,
    vector_clock: current?.vector_clock ?? null,
    record: (current as unknown as Record<string, unknown>) ?? null,
    error,
  };
}

/**
 * A change seen before with the same payload: the original answer, `record` put back (stored answers
 * leave it out). A rejection stored before `details` was always given gets an empty one.
 */
export function duplicate(original: ChangeResult, record: Record<string, unknown> | null): ChangeResult {
  const { error } = original;
  return { ...original, status: "duplicate", record, ...(error && { error: { ...error, details: error.details ?? {} } }) };
}

/** The Conflict a change recorded, open. */
export function conflictRow(id: string, push: PushContext, c: { entity: EntityKind; entityId: string }, spec: ConflictSpec): Conflict {
  return {
    id,
    orgId: push.orgId,
    entity: c.entity,
    entityId: c.entityId,
    fields: spec.fields,
    local: spec.local,
    remote: spec.remote,
    base: spec.base,
    deviceId: push.deviceId,
    userId: push.userId,
    createdAt: push.now.toISOString(),
    resolvedAt: null,
    resolution: null,
    resolvedBy: null,
  };
}
