/**
 * The decision of one well-formed pushed change (docs/sync-design.md, "The decision"): checked
 * against the record the batch holds, then what to write (fields, clock, origin, deletion) and
 * which Conflict to keep. How and when writes are stored is the caller's: they all go through
 * {@link DecideContext.write}.
 */
import type { Executor } from "../../db/types";
import { DomainError, invalid } from "../../errors";
import { requireCommentAuthor, requireCommentDeleter } from "../../records/authorship";
import { entityDef, fieldsOf } from "../../records/entities";
import { changedKeys, jsonEqual } from "../../records/json";
import type { AnyRecord, Comment, EntityKind, HistoryAction, WritableField } from "../../records/model";
import { isParentOnTask, type KnownRecords } from "../../records/refs";
import { checkFields } from "../../records/validate";
import type { WriteInput } from "../../records/write";
import { compareClocks, findForgedKey, SERVER_KEY, serverWrite, type VectorClock } from "../../records/clock";
import type { ParsedChange } from "../change";
import { mergeRecord } from "../merge";
import type { MergeBudget } from "../text-merge";
import { CHANGE_ERROR_CODES, type ChangeError, type ChangeErrorCode, type ChangeStatus } from "../model";
import type { ConflictSpec, PushContext } from "./context";
import { changeError } from "./results";

/** A change refused for a sync-specific reason (the write core's refusals are DomainErrors). */
class ChangeRejected extends Error {
  constructor(
    readonly code: ChangeErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** What a change's decision wrote, and the Conflict it recorded, if any. */
export interface Outcome {
  status: ChangeStatus;
  record: AnyRecord;
  wrote: boolean;
  conflict?: ConflictSpec;
}

/** The batch's records as a decision reads them. */
export interface BatchView {
  /** The current record (a tombstone included) when the batch holds it. */
  record(kind: EntityKind, id: unknown): AnyRecord | undefined;
  /** The keys of the batch's clocks (but the pushing device's own) that are devices of the organization, revoked ones included. */
  readonly devices: ReadonlySet<string>;
  /** For the write core's reference checks. */
  readonly known: KnownRecords;
  /** The record at `version` from history, null when unknown. */
  snapshot(kind: EntityKind, id: string, version: number): Promise<AnyRecord | null>;
  /**
   * The device's own earlier updates of `c`'s record in this batch (from the same base_version, their
   * clocks before `c`'s): the fields they set, and the record as it was before the first of them.
   * Null when there are none.
   */
  beforeOwnEdits(c: ParsedChange): { fields: ReadonlySet<string>; record: AnyRecord } | null;
}

/** What {@link decide} works with: who pushes, the batch, the merge budget, and where writes go. */
export interface DecideContext {
  push: PushContext;
  /** The transaction (or savepoint) the change is decided in. */
  tx: Executor;
  batch: BatchView;
  mergeBudget: MergeBudget;
  /** Stores or queues a write; answers the record as written. */
  write(input: WriteInput<EntityKind>): Promise<AnyRecord>;
}

/**
 * The error of a change refused by a rule — a {@link ChangeRejected} or a DomainError of the write
 * core — as its answer carries it; undefined for any other error (which fails the whole batch).
 */
export function refusalOf(err: unknown): ChangeError | undefined {
  if (err instanceof ChangeRejected) return changeError(err.code, err.message, err.details);
  if (err instanceof DomainError && isChangeErrorCode(err.code))
    return changeError(err.code, err.message, asChangeDetails(err.details));
  return undefined;
}

/** The write core's details as a change's: the record's `id` is the change's `entity_id`. */
function asChangeDetails(details: Record<string, unknown>): Record<string, unknown> {
  const fields = details.fields as Record<string, unknown> | undefined;
  if (fields === undefined || !Object.hasOwn(fields, "id")) return details;
  const { id, ...rest } = fields;
  return { ...details, fields: { entity_id: id, ...rest } };
}

const isChangeErrorCode = (code: string): code is ChangeErrorCode => (CHANGE_ERROR_CODES as readonly string[]).includes(code);

/** Decides a well-formed change against the record's current state and writes what it must. */
export async function decide(cx: DecideContext, c: ParsedChange): Promise<Outcome> {
  const current = cx.batch.record(c.entity, c.entityId);
  // An update or delete of a record the server does not hold (never created, or its tombstone purged)
  // is not_found whatever its clock: with no stored clock, any other device's counter would read as forged.
  if (!current && c.op !== "create") throw new ChangeRejected("not_found", `${c.entity} not found`);
  const forged = findForgedKey(c.clock, { deviceId: cx.push.deviceId, knownDevices: (k) => cx.batch.devices.has(k), stored: current?.vector_clock ?? null });
  if (forged !== null) {
    const reason = `claims a counter for "${forged}" that this device cannot know`;
    throw new ChangeRejected("forged_clock", `vector_clock ${reason}`, { fields: { vector_clock: reason } });
  }
  // Another user's comment: its author edits it, an admin may delete it, nobody else touches it (403 `forbidden` over REST).
  if (c.entity === "comment" && current && c.op !== "create") {
    if (c.op === "delete") requireCommentDeleter(current as Comment, cx.push.userId, cx.push.admin);
    else requireCommentAuthor(current as Comment, cx.push.userId);
  }

  if (c.op === "create") {
    if (!current) return create(cx, c);
    if (isStale(c.clock, current)) return { status: "stale", record: current, wrote: false };
    throw new ChangeRejected("already_exists", `a ${c.entity} with this id already exists`, { fields: { entity_id: "already taken" } });
  }
  if (!current) throw new ChangeRejected("not_found", `${c.entity} not found`); // (narrows the type: checked above)
  if (isStale(c.clock, current)) return { status: "stale", record: current, wrote: false };
  const after = compareClocks(c.clock, current.vector_clock) === "AFTER";
  if (c.op === "update") refuseForbiddenUpdate(c, current);

  if (current.deleted_at !== null) return onTombstone(cx, c, current, after);
  if (c.op === "delete") return deleteLive(cx, c, current, after);
  if (c.entity === "comment" && cx.batch.record("task", (current as Comment).task_id)?.deleted_at) return orphanUpdate(cx, c, current);
  return after ? update(cx, c, current) : merge(cx, c, current);
}

/** A new record: applied as pushed, unless it points at a tombstone (then a Conflict keeps the proposal). */
async function create(cx: DecideContext, c: ParsedChange): Promise<Outcome> {
  if (c.entity === "comment" && cx.batch.record("task", c.data.task_id)?.deleted_at) {
    // A comment on a task deleted concurrently: stored as a tombstone, so the device converges and nothing is lost.
    // (The write core does not check a tombstone's references: the parent is checked here.)
    const parent = c.data.parent_id;
    if (typeof parent === "string" && !isParentOnTask(cx.batch.record("comment", parent), c.data.task_id))
      throw new ChangeRejected("validation_failed", "invalid parent_id", { fields: { parent_id: "no such comment on this task" } });
    const record = await write(cx, c, { before: null, action: "created", data: c.data, clock: serverWrite(c.clock), deleted: true });
    return conflict(c, record, ["deleted_at"], { ...c.data, deleted_at: null }, record, null);
  }
  const dangling = danglingRefs(cx, c.entity, c.data, null);
  if (dangling.length === 0) return applied(cx, c, null, "created", c.data);
  const record = await write(cx, c, { before: null, action: "created", data: omit(c.data, dangling), clock: serverWrite(c.clock) });
  return conflict(c, record, dangling, c.data, record, null);
}

/** An update whose clock is AFTER the record's: the new state (bar references to tombstones). */
async function update(cx: DecideContext, c: ParsedChange, current: AnyRecord): Promise<Outcome> {
  const dangling = danglingRefs(cx, c.entity, c.data, current);
  if (dangling.length === 0) return applied(cx, c, current, "updated", c.data);
  const record = await write(cx, c, { before: current, action: "merged", data: omit(c.data, dangling), clock: mergedClock(c, current) });
  return conflict(c, record, dangling, c.data, current, await base(cx, c, current));
}

/** A CONCURRENT update: three-way merge against the record at base_version. */
async function merge(cx: DecideContext, c: ParsedChange, current: AnyRecord): Promise<Outcome> {
  const b = await base(cx, c, current);
  const m = mergeInto(cx, c, current, b);
  const dangling = danglingRefs(cx, c.entity, m.data, current);
  const fields = [...m.conflicts, ...dangling].sort();
  const record = await write(cx, c, { before: current, action: "merged", data: omit(m.data, dangling), clock: mergedClock(c, current) });
  if (fields.length === 0) return { status: "merged", record, wrote: true };
  return conflict(c, record, fields, c.data, current, b);
}

/**
 * A delete of a live record: applied when AFTER; against a concurrent update the delete wins and a
 * Conflict keeps the update. When the record is still its base but for the device's own earlier edits
 * of this push (the concurrency is the server's own write of what the device sent: its create stored
 * with a clock of the server's), there is no update to keep: `merged`, no Conflict.
 */
async function deleteLive(cx: DecideContext, c: ParsedChange, current: AnyRecord, after: boolean): Promise<Outcome> {
  if (after) return applied(cx, c, current, "deleted", {});
  const b = await base(cx, c, current);
  const record = await write(cx, c, { before: current, action: "deleted", data: {}, clock: mergedClock(c, current) });
  const othersSince = b === null || (b.version !== current.version && b.version !== cx.batch.beforeOwnEdits(c)?.record.version);
  if (!othersSince) return { status: "merged", record, wrote: true };
  return conflict(c, record, ["deleted_at"], { deleted_at: record.deleted_at }, current, b);
}

/**
 * A change that meets a tombstone (clock AFTER or CONCURRENT): a delete is applied (AFTER) or
 * agrees with it (`merged`); an update is a conflict — the record stays deleted, and the Conflict
 * keeps the update's wish to see it live. Its fields are merged into the tombstone as into a live
 * record, so that the tombstone is the same whichever came first: an update then a concurrent
 * delete (which deletes the updated record) or the delete then the update.
 */
async function onTombstone(cx: DecideContext, c: ParsedChange, current: AnyRecord, after: boolean): Promise<Outcome> {
  if (c.op === "delete") {
    if (after) return applied(cx, c, current, "deleted", {});
    return { status: "merged", record: await write(cx, c, { before: current, action: "merged", data: {}, clock: mergedClock(c, current) }), wrote: true };
  }
  const b = await base(cx, c, current);
  const m = mergeInto(cx, c, current, b);
  // As on a live record: a reference to a deleted record is not applied (a conflicting field), one to
  // a record the organization does not have is refused (by the write core, which checks a tombstone's too).
  const dangling = danglingRefs(cx, c.entity, m.data, current);
  const data = omit(m.data, dangling);
  const record = await write(cx, c, { before: current, action: "merged", data, clock: mergedClock(c, current) });
  const fields = ["deleted_at", ...[...m.conflicts, ...dangling].sort()];
  return conflict(c, record, fields, { ...c.data, deleted_at: null }, current, b);
}

/**
 * The three-way merge of the change into `current` (against `base`): the fields that change, and
 * those that could not be merged (the server's kept). A merged value the field's rules refuse —
 * two text edits that together leave a title only whitespace, or make it longer than allowed — is
 * one of the latter: neither side wrote it, so it is a conflict, never a rejection of the change.
 */
function mergeInto(cx: DecideContext, c: ParsedChange, current: AnyRecord, base: AnyRecord | null): { data: Record<string, unknown>; conflicts: string[] } {
  const remote = fieldsOf(c.entity, current);
  const m = mergeRecord(base && fieldsOf(c.entity, base), c.data, othersSide(cx, c, remote), c.entity, cx.mergeBudget);
  const data: Record<string, unknown> = {};
  const conflicts = [...m.conflicts];
  for (const f of Object.keys(m.merged)) {
    // A conflicting field keeps the server's value (the merge was against `othersSide`, which may differ from it).
    if (m.conflicts.includes(f) || jsonEqual(m.merged[f], remote[f])) continue;
    if (checkFields(c.entity, { [f]: m.merged[f] }).ok) data[f] = m.merged[f];
    else conflicts.push(f);
  }
  return { data, conflicts: conflicts.sort() };
}

/**
 * Refuses an update that the kind's own update rules forbid whatever the merge (a comment never
 * moves: `checkUpdate`, src/records/entities.ts), before any merge: a merge without its base keeps
 * every field both sides hold differently as a conflict, and a Conflict that kept a move would make
 * it when resolved `local`; a change kept whole in a Conflict (an orphan's update) likewise.
 */
function refuseForbiddenUpdate(c: ParsedChange, current: AnyRecord): void {
  const refused = entityDef(c.entity).checkUpdate?.(current as never, { ...fieldsOf(c.entity, current), ...c.data }, undefined);
  if (refused) throw invalid(refused);
}

/**
 * An update of a comment whose task was deleted: not applied, kept in a Conflict (like update vs
 * delete). One that moves the comment was refused before ({@link refuseForbiddenUpdate}).
 */
async function orphanUpdate(cx: DecideContext, c: ParsedChange, current: AnyRecord): Promise<Outcome> {
  const record = await write(cx, c, { before: current, action: "merged", data: {}, clock: mergedClock(c, current) });
  const fields = changedKeys(c.data, current);
  if (fields.length === 0) return { status: "merged", record, wrote: true };
  return conflict(c, record, fields, c.data, current, await base(cx, c, current));
}

/**
 * The device's state becomes the record's: its clock as pushed, left out of the device's own pulls —
 * unless normalizing its data changed a value (a due date stored in UTC, a duplicate tag dropped): the
 * record is then not exactly what the device pushed, and its pulls bring the stored form (contract: only
 * "changes whose latest state is exactly what this device pushed are left out").
 */
async function applied(cx: DecideContext, c: ParsedChange, before: AnyRecord | null, action: HistoryAction, data: Record<string, unknown>): Promise<Outcome> {
  return { status: "applied", record: await write(cx, c, { before, action, data, clock: c.clock, own: c.normalized !== true }), wrote: true };
}

/** A written record whose change is a conflict; `remote` and `base` as records, shown with their deletion. */
function conflict(c: ParsedChange, record: AnyRecord, fields: string[], local: Record<string, unknown>, remote: AnyRecord, base: AnyRecord | null): Outcome {
  return { status: "conflict", record, wrote: true, conflict: { fields, local, remote: withDeletion(c.entity, remote), base: base && withDeletion(c.entity, base) } };
}

/** One write of a decision. */
interface WriteSpec {
  /** The record as the batch holds it, null to create. */
  before: AnyRecord | null;
  action: HistoryAction;
  data: Record<string, unknown>;
  clock: VectorClock;
  /** The record's deletion when the action does not imply it (`WriteInput.deleted`). */
  deleted?: boolean;
  /** The write is exactly the device's state: feed origin the device (left out of its pulls). */
  own?: boolean;
}

function write(cx: DecideContext, c: ParsedChange, w: WriteSpec): Promise<AnyRecord> {
  return cx.write({
    entity: c.entity,
    orgId: cx.push.orgId,
    before: w.before as never,
    data: w.data,
    id: w.before ? undefined : c.entityId,
    action: w.action,
    userId: cx.push.userId,
    deviceId: cx.push.deviceId,
    clock: w.clock,
    originDevice: w.own ? cx.push.deviceId : null,
    now: cx.push.now,
    deleted: w.deleted,
  });
}

/**
 * The record at the change's base_version: the current one, a history snapshot, or null when unknown.
 * Without base_version, the pushing device's own create ({@link ownCreate}).
 */
async function base(cx: DecideContext, c: ParsedChange, current: AnyRecord): Promise<AnyRecord | null> {
  if (c.baseVersion === null) return ownCreate(cx, c, current);
  if (c.baseVersion > current.version) return null;
  if (c.baseVersion === current.version) return current;
  return cx.batch.snapshot(c.entity, c.entityId, c.baseVersion);
}

/**
 * The base of an edit sent without base_version: the record's first version when the pushing device
 * created it and made the edit after (an honest device knows no server version of a record it created
 * until an answer or a pull brings one, and edits what it created). Otherwise null (unknown). Version
 * 1 is the device's create when its clock names the device and no other device (a create naming
 * another is forged; a REST create names none); it may hold what the server made of the create (a
 * reference to a deleted record dropped, with a `server` entry: then the device's edits are concurrent
 * with it, and merged against it rather than conflicting with the device's own create).
 */
async function ownCreate(cx: DecideContext, c: ParsedChange, current: AnyRecord): Promise<AnyRecord | null> {
  const first = current.version === 1 ? current : await cx.batch.snapshot(c.entity, c.entityId, 1);
  if (first === null) return null;
  const device = cx.push.deviceId;
  const created = first.vector_clock[device];
  const byDevice = created !== undefined && Object.keys(first.vector_clock).every((k) => k === device || k === SERVER_KEY);
  return byDevice && (c.clock[device] ?? 0) > created ? first : null;
}

/**
 * The other side of `c`'s merge: the record's fields, but for a field the device's own earlier
 * edits in this batch also set, its value before the first of them — what other devices made of
 * it. Two offline edits of one field, pushed together after another device's edit, then merge as
 * the device's later value against the other device's (as when they came first): against the
 * record as the earlier edit left it, the device's own earlier value would count as another's and
 * could win over its later one (a higher priority, a tag the later edit removed, a text conflict
 * with itself).
 */
function othersSide(cx: DecideContext, c: ParsedChange, remote: Record<string, unknown>): Record<string, unknown> {
  const own = cx.batch.beforeOwnEdits(c);
  if (own === null) return remote;
  const before = fieldsOf(c.entity, own.record);
  const out = { ...remote };
  for (const f of Object.keys(c.data)) if (own.fields.has(f)) out[f] = before[f];
  return out;
}

/**
 * Fields of `data` that set a reference to a record of the organization that is deleted (a
 * task's project, a comment's parent): not applied, but not refused either — an honest device
 * may have referenced it before it was deleted. Missing or foreign records are left to the
 * write core, which refuses them. (Of the references `REFERENCES` declares, src/records/refs.ts:
 * a comment's task is the orphan rules', users are never deleted.)
 */
function danglingRefs(cx: DecideContext, kind: EntityKind, data: Record<string, unknown>, before: AnyRecord | null): string[] {
  const prev = (before ?? {}) as Record<string, unknown>;
  const deletedRef = (refKind: EntityKind, field: string) => {
    const v = data[field];
    const ref = typeof v === "string" && v !== prev[field] ? cx.batch.record(refKind, v) : undefined;
    return ref !== undefined && ref.deleted_at !== null ? ref : undefined;
  };
  return DANGLING[kind]({ deletedRef, data, prev, creating: before === null });
}

/** What {@link DANGLING} reads of one change of a `K`: its record's references to deleted records (by field: a misspelt one does not compile), its data, the record before it. */
interface DanglingInput<K extends EntityKind> {
  deletedRef(refKind: EntityKind, field: WritableField<K>): AnyRecord | undefined;
  data: Record<string, unknown>;
  prev: Record<string, unknown>;
  creating: boolean;
}

/**
 * Per entity kind, the fields of a change that name a deleted record and are kept in a Conflict rather
 * than applied or refused ({@link danglingRefs}). One entry per kind, so that a new kind's references
 * to deleted records are a decision (test/sync/every-kind.test.ts pushes one of each), not a fallthrough to
 * the write core's refusal.
 */
const DANGLING: { readonly [K in EntityKind]: (input: DanglingInput<K>) => WritableField<K>[] } = {
  project: () => [],
  task: ({ deletedRef }) => (deletedRef("project", "project_id") ? ["project_id"] : []),
  // A comment's task: the orphan rules (`create`, `orphanUpdate`). Its parent only on create: an update
  // that names another parent is a move, refused by the write core.
  comment: ({ deletedRef, data, prev, creating }) =>
    creating && isParentOnTask(deletedRef("comment", "parent_id"), data.task_id ?? prev.task_id) ? ["parent_id"] : [],
};

/** Stale: the client's clock is BEFORE or EQUAL to the record's — the server already has this or newer. */
function isStale(clock: VectorClock, r: AnyRecord): boolean {
  const order = compareClocks(clock, r.vector_clock);
  return order === "BEFORE" || order === "EQUAL";
}

/** The clock of a write that is not exactly the device's state: newer than both sides. */
const mergedClock = (c: ParsedChange, current: AnyRecord): VectorClock => serverWrite(c.clock, current.vector_clock);

/** A record's writable fields and its deletion mark (how Conflicts show the sides). */
function withDeletion(kind: EntityKind, r: AnyRecord): Record<string, unknown> {
  return { ...fieldsOf(kind, r), deleted_at: r.deleted_at };
}

function omit(data: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  if (fields.length === 0) return data;
  return Object.fromEntries(Object.entries(data).filter(([f]) => !fields.includes(f)));
}
