/**
 * The one write path of synced records, shared by REST and sync: every create, update, merge,
 * resolution and soft delete of a project, task or comment goes through {@link writeRecord}, which
 * in the caller's transaction checks the values and references, bumps the version, stores the row
 * with an atomic version check, appends history and queues the change-feed touch.
 */
import type { Executor, Tx } from "../db/types";
import { alreadyExists, DomainError, invalid } from "../errors";
import { isUuid, newId } from "../ids";
import { serverWrite, type VectorClock } from "./clock";
import { entityDef } from "./entities";
import { flushFeed } from "./feed";
import { fieldChanges, flushHistory, type HistoryEntry } from "./history";
import { changedKeys } from "./json";
import { ENTITY_KINDS, type EntityKind, type HistoryAction, type RecordOf } from "./model";
import { checkReferences, type KnownRecords } from "./refs";
import { RecordRepo } from "./repo";
import { checkFields, failureDetails, failureMessage } from "./validate";
import { REQUIRED_REASON } from "../wire/reasons";
import { notBefore } from "../time";

export interface WriteInput<K extends EntityKind> {
  entity: K;
  orgId: string;
  /**
   * The record as read in this transaction, or null to create. Its `version` is the expected
   * version: if the stored row moved on meanwhile, nothing is written and {@link WriteConflict} is thrown.
   */
  before: RecordOf[K] | null;
  /**
   * Writable fields to set (a partial set; the rest is kept from `before`, or defaulted on create).
   * Any other key (id, version, created_by, …) is refused with 422. Ignored for `deleted`.
   */
  data?: Record<string, unknown>;
  /** Create only: the new record's id (client-supplied UUID); a new UUID when absent. */
  id?: string;
  /** History action; `created` requires `before: null`, `deleted` soft-deletes. */
  action: HistoryAction;
  /** Acting user: history user_id, owner (`created_by`/`author_id`) on create, `deleted_by` on delete. */
  userId: string | null;
  /** History device_id: the pushing device for sync writes, null for REST writes. */
  deviceId: string | null;
  /** The record's clock after the write; default: `serverWrite(before.vector_clock)` (REST writes). */
  clock?: VectorClock;
  /** Feed pushed_by_device: the device whose pushed state this write is exactly (left out of its pulls). Default null. */
  originDevice?: string | null;
  /** The time of the write (updated_at, created_at, deleted_at, history created_at). Default: now. */
  now?: Date;
  /**
   * Sync merges and conflict resolutions only: the record's deletion after a write whose action does
   * not imply it. `true` keeps (or makes, even on create) a tombstone, `false` brings a tombstone back
   * to life. Default: deleted for action `deleted`, otherwise unchanged. References a write sets are
   * checked whether the record ends live or stays a tombstone, except on a create stored as a tombstone
   * (a comment pushed on a task deleted concurrently: the push checks its parent itself).
   */
  deleted?: boolean;
  /**
   * Conflict resolutions of a `parent_id` conflict only: the parent the comment was pushed with. A
   * comment stored without it (it was deleted concurrently) may take that one — and no other — again.
   * Otherwise a comment never moves in its thread.
   */
  reattachTo?: string;
}

/**
 * Attempts of one write whose compare-and-set keeps losing to concurrent writes ({@link WriteConflict},
 * Postgres): an unlocked REST update, a conflict resolution, a pushed change. Each attempt starts
 * again from the record as it now is; past the last, the caller fails with {@link keptChanging}.
 */
export const MAX_WRITE_ATTEMPTS = 5;

/** The failure of a write whose {@link MAX_WRITE_ATTEMPTS} all lost: 503 `unavailable`, nothing written, to be retried. */
export const keptChanging = (): DomainError =>
  new DomainError("unavailable", "the record kept changing while this write was applied: nothing was written, try again");

/** The stored version moved on between the read and the write: nothing was written. `details.current` is the stored record. */
export class WriteConflict<K extends EntityKind = EntityKind> extends DomainError {
  constructor(readonly current: RecordOf[K] | undefined) {
    super("version_conflict", "the record was changed by another write", { current: current ?? null });
  }
}

/**
 * Creates, updates or soft-deletes one record in `tx` and returns it as stored. Throws
 * `validation_failed` (422, `details.fields`) for bad values or references outside the
 * organization, `already_exists` (409) when a create's id is taken, {@link WriteConflict}
 * when `before.version` is no longer the stored version.
 *
 * The row is stored at once (the compare-and-set answers now); its history row, side rows
 * (`task_tags`) and feed touch are queued and written just before COMMIT in multi-row statements.
 */
export async function writeRecord<K extends EntityKind>(tx: Tx, input: WriteInput<K>): Promise<RecordOf[K]> {
  const w = await prepareWrite(tx, input);
  const repo = new RecordRepo(tx, input.orgId, input.entity);
  if (w.before === null) {
    if (!(await repo.insert(w.after))) throw alreadyExists(`a ${input.entity} with this id already exists`, "id");
  } else if (!(await repo.updateIfVersion(w.after, w.before.version, w.before))) {
    throw new WriteConflict<K>(await repo.find(w.before.id));
  }
  queueEffects(tx, w);
  return w.after;
}

/** A write decided and checked but not stored yet: the record before and after, and its history entry. */
export interface PreparedWrite<K extends EntityKind = EntityKind> {
  entity: K;
  orgId: string;
  before: RecordOf[K] | null;
  after: RecordOf[K];
  history: HistoryEntry<K>;
  originDevice: string | null;
}

/**
 * Everything {@link writeRecord} checks and computes, without storing anything: the values, the
 * references (through `known` first — records the caller already holds in this transaction — and
 * the database for the rest), the new version, clock, timestamps and history entry. Throws the
 * same errors as writeRecord, except the storage ones (`already_exists`, WriteConflict).
 */
export async function prepareWrite<K extends EntityKind>(exec: Executor, input: WriteInput<K>, known?: KnownRecords): Promise<PreparedWrite<K>> {
  const def = entityDef(input.entity);
  const { before, action } = input;
  if ((action === "created") !== (before === null)) throw new Error(`writeRecord: action "${action}" with${before ? "" : "out"} a stored record`);
  // Never before the record's last write: an instance whose clock is behind another's (or set back)
  // would stamp an updated_at before the created_at, and a history that goes back in time.
  const at = notBefore(input.now ?? new Date(), before?.updated_at);

  let fields: Record<string, unknown>;
  if (action === "deleted") {
    fields = pick(before!, def.fields);
  } else {
    const checked = checkFields(input.entity, input.data ?? {});
    if (!checked.ok) throw new DomainError("validation_failed", failureMessage(checked), failureDetails(checked));
    fields = { ...(before ? pick(before, def.fields) : def.defaults), ...checked.data };
    const missing = def.required.filter((f) => fields[f] === undefined);
    if (missing.length) throw invalid(Object.fromEntries(missing.map((f) => [f, REQUIRED_REASON])));
    const refused = before ? def.checkUpdate?.(before, fields, input.reattachTo) : null;
    if (refused) throw invalid(refused);
  }

  const id = before ? before.id : (input.id ?? newId());
  if (!isUuid(id)) throw invalid({ id: "must be a UUID" });
  const owner = before ? (before as unknown as Record<string, unknown>)[def.owner] : input.userId;
  const deletedAt = deletedAtAfter(action, input.deleted, before?.deleted_at ?? null, at);
  const after = inColumnOrder(def.columns, {
    ...fields,
    id,
    [def.owner]: owner ?? null,
    version: (before?.version ?? 0) + 1,
    vector_clock: input.clock ?? serverWrite(before?.vector_clock ?? {}),
    created_at: before?.created_at ?? at,
    updated_at: at,
    deleted_at: deletedAt,
    // A tombstone kept as it was keeps its deleter; a new deletion is the acting user's.
    deleted_by: deletedAt === null ? null : deletedAt === before?.deleted_at ? before.deleted_by : input.userId,
  }) as unknown as RecordOf[K];

  // A tombstone's references are checked too: a resolution (or a push) may write into one, and a later
  // resolution bringing it back checks only the references it changes itself.
  if (action !== "deleted" && (deletedAt === null || before !== null)) {
    const refErrors = await checkReferences(exec, input.orgId, input.entity, before, after, known);
    if (Object.keys(refErrors).length) throw invalid(refErrors);
  }

  return {
    entity: input.entity,
    orgId: input.orgId,
    before,
    after,
    originDevice: input.originDevice ?? null,
    history: {
      id: newId(),
      entity: input.entity,
      entityId: id,
      version: after.version,
      action,
      changes: fieldChanges(def.tracked, before, after),
      snapshot: after,
      userId: input.userId,
      deviceId: input.deviceId,
      vectorClock: after.vector_clock,
      createdAt: at,
    },
  };
}

/** Queues what follows a stored write: its history row, side rows and feed touch (all flushed just before COMMIT). */
function queueEffects(tx: Tx, w: PreparedWrite): void {
  const def = entityDef(w.entity);
  def.afterWrite?.(tx, w.orgId, w.before as never, w.after as never);
  // One serialization of the record and its clock, stored in both rows (the pull sends the feed's texts as they are).
  const record = JSON.stringify(w.after);
  const vectorClock = JSON.stringify(w.after.vector_clock);
  tx.enqueue(flushHistory, { orgId: w.orgId, entry: w.history, snapshot: record, vectorClock });
  tx.enqueue(flushFeed, {
    orgId: w.orgId,
    entity: w.entity,
    entityId: w.after.id,
    op: w.after.deleted_at === null ? "upsert" : "delete",
    version: w.after.version,
    originDevice: w.originDevice,
    record,
    vectorClock,
  });
}

/**
 * Stores many prepared writes of one organization in `tx` with multi-row statements, then queues
 * their effects like {@link writeRecord}. Several writes of one record (in order: each one's
 * `before` is the previous one's `after`) store its last state once, checked against the version
 * the first one started from. Answers false — after which the caller must roll back what this
 * did (run it in a savepoint) — when any row could not be stored: a create's id is taken (in
 * another organization, or by a concurrent transaction), or a record moved on under its
 * compare-and-set. Nothing of the kind is ever reported for a write that is stored.
 */
export async function storeWrites(tx: Tx, orgId: string, writes: readonly PreparedWrite[]): Promise<boolean> {
  const byRecord = new Map<string, { first: PreparedWrite; last: PreparedWrite }>();
  for (const w of writes) {
    const k = `${w.entity}:${w.after.id}`;
    const seen = byRecord.get(k);
    if (seen) seen.last = w;
    else byRecord.set(k, { first: w, last: w });
  }
  for (const kind of ENTITY_KINDS) {
    const inserts: RecordOf[EntityKind][] = [];
    const updates: { record: RecordOf[EntityKind]; expected: number; before: RecordOf[EntityKind] }[] = [];
    for (const { first, last } of byRecord.values()) {
      if (first.entity !== kind) continue;
      if (first.before === null) inserts.push(last.after);
      else updates.push({ record: last.after, expected: first.before.version, before: first.before });
    }
    const repo = new RecordRepo(tx, orgId, kind);
    if (inserts.length && (await repo.insertMany(inserts as RecordOf[typeof kind][])) !== inserts.length) return false;
    if (updates.length && (await repo.updateManyIfVersion(updates as { record: RecordOf[typeof kind]; expected: number; before: RecordOf[typeof kind] }[])) !== updates.length) return false;
  }
  for (const w of writes) queueEffects(tx, w);
  return true;
}

/**
 * The writable fields of `data` whose value differs from `record` (after the same normalization
 * the write applies: use it to skip no-op writes). When `data` fails the field checks (an unknown key, a
 * refused value), every key of it counts as a change: the write then refuses it with its reasons.
 */
export function changedFields<K extends EntityKind>(kind: K, record: RecordOf[K], data: Record<string, unknown>): string[] {
  const checked = checkFields(kind, data);
  return checked.ok ? changedKeys(checked.data, record) : Object.keys(data);
}

/**
 * A written record's `deleted_at`: the write's time for action `deleted`; otherwise as
 * `WriteInput.deleted` asks — `false` live, `true` a tombstone (kept as it was when the record was
 * one already, else deleted now) — or, without it, the stored one (`stored`) unchanged.
 */
function deletedAtAfter(action: HistoryAction, deleted: boolean | undefined, stored: string | null, at: string): string | null {
  if (action === "deleted") return at;
  if (deleted === undefined) return stored;
  return deleted ? (stored ?? at) : null;
}

/** The record's keys in table column order (id first), as reads return them. */
function inColumnOrder(columns: readonly string[], r: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(columns.filter((c) => c in r).map((c) => [c, r[c]]));
}

function pick(r: object, fields: readonly string[]): Record<string, unknown> {
  const src = r as Record<string, unknown>;
  return Object.fromEntries(fields.map((f) => [f, src[f]]));
}
