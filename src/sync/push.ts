/**
 * One push batch inside one transaction (docs/sync-design.md, "Push"): batched reads first, then
 * every change decided in memory against the record's clock and checked by the records write core
 * (`prepareWrite`), then everything stored with multi-row statements: the records, the Conflicts,
 * the `sync_changes` rows (exactly once), and — just before COMMIT — history, tags and feed.
 *
 * A change refused by a rule writes nothing (its writes are only ever queued once it has been
 * decided). When a row cannot be stored as decided — a create's id taken by another organization
 * or by a concurrent transaction, a `sync_changes` row written concurrently, a record changed
 * under its compare-and-set — the bulk store is rolled back (it runs in a savepoint) and the batch
 * is processed again the careful way: every change in its own savepoint, stored at once through
 * `writeRecord`, decided again on a lost compare-and-set.
 */
import type { Tx } from "../db/types";
import { DomainError, invalid } from "../errors";
import { newId } from "../ids";
import {
  type AnyRecord,
  checkFields,
  checkReferences,
  type Comment,
  type EntityKind,
  fieldsOf,
  HistoryRepo,
  type HistoryAction,
  isEntityKind,
  jsonEqual,
  type KnownRecords,
  prepareWrite,
  type PreparedWrite,
  recordRepo,
  requireCommentAuthor,
  requireCommentDeleter,
  snapshotKey,
  storeWrites,
  type WriteInput,
  WriteConflict,
  writeRecord,
} from "../records";
import { compareClocks, findForgedKey, serverWrite, type VectorClock } from "../records/clock";
import { type MalformedChange, type ParsedChange, parseChange } from "./change";
import { type Conflict, ConflictRepo } from "./conflicts-repo";
import { mergeRecord, pushMergeBudget } from "./merge";
import type { ChangeError, ChangeResult, ChangeStatus } from "./model";
import { type ChangeRow, orgDeviceIds, orgUserIds, type SeenChange, SyncChangeRepo } from "./repo";

/** Who pushes, and the time every write of the batch carries. */
export interface PushContext {
  orgId: string;
  userId: string;
  /** The pushing device, already checked to be the caller's and not revoked. */
  deviceId: string;
  /** The pusher administers the organization: its devices may delete (moderate) any comment. */
  admin: boolean;
  now: Date;
}

/** A change refused for a sync-specific reason (the write core's refusals are DomainErrors). */
export class ChangeRejected extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The row of a change was written by a concurrent request meanwhile (Postgres): answer from it. */
class AlreadySeen extends Error {}

/** The bulk store could not store a row as decided: roll it back and process the batch change by change. */
class BulkConflict extends Error {}

/** Attempts of one change whose record a concurrent transaction changed under it (Postgres only). */
const MAX_ATTEMPTS = 5;

/** What a change's decision wrote, and the Conflict it recorded, if any. */
interface Outcome {
  status: ChangeStatus;
  record: AnyRecord;
  wrote: boolean;
  conflict?: ConflictSpec;
}

/** The parts of a Conflict that the decision knows (docs/sync-design.md, "Conflicts"). */
interface ConflictSpec {
  fields: string[];
  local: Record<string, unknown>;
  remote: Record<string, unknown>;
  base: AnyRecord | null;
}

const key = (kind: EntityKind, id: string) => `${kind}:${id}`;

/** The order in which a batch locks the records it writes (Postgres): the same for every batch. */
const LOCK_ORDER: readonly EntityKind[] = ["comment", "task", "project"];

/** What the bulk mode collects while deciding, stored at the end of the batch. */
interface Pending {
  writes: PreparedWrite[];
  changes: ChangeRow[];
  conflicts: Conflict[];
}

/** Runs one batch in `tx`; see {@link PushBatch.run}. */
export class PushBatch {
  /** Current records of the batch (and of the records they reference), kept up to date as changes apply. */
  private readonly records = new Map<string, AnyRecord>();
  /** Keys the preload asked for: one missing from `records` does not exist in the organization. */
  private readonly loaded = new Set<string>();
  /** Referenced user ids the preload asked for → whether they are users of the organization. */
  private readonly users = new Map<string, boolean>();
  /** History snapshots by `snapshotKey`: preloaded (merge bases, duplicates) and written by this batch; null = known missing. */
  private readonly snapshots = new Map<string, AnyRecord | null>();
  private seen = new Map<string, SeenChange>();
  private devices = new Set<string>();
  private readonly at: string;
  /** Bulk mode: what is decided and not stored yet. Null in the change-by-change mode. */
  private pending: Pending | null;
  /** Records written by the batch (sync_log `record_count`). */
  written = 0;
  /** The diff work the batch's text merges may still spend (one request's share of the event loop). */
  private readonly mergeBudget = pushMergeBudget();

  private readonly known: KnownRecords = {
    record: (kind, id) => this.records.get(key(kind, id)) ?? (this.loaded.has(key(kind, id)) ? null : undefined),
    user: (id) => this.users.get(id),
  };

  constructor(
    private readonly tx: Tx,
    private readonly ctx: PushContext,
    mode: "bulk" | "savepoints" = "bulk",
  ) {
    this.at = ctx.now.toISOString();
    this.pending = mode === "bulk" ? { writes: [], changes: [], conflicts: [] } : null;
  }

  /** Processes `raw` changes in order and answers one result per change, in the same order. */
  async run(raw: readonly unknown[]): Promise<ChangeResult[]> {
    const parsed = raw.map(parseChange);
    const ok = parsed.flatMap((p) => (p.ok ? [p.change] : []));
    const changeIds = parsed.flatMap((p) => (p.ok ? [p.change.changeId] : p.malformed.changeId !== null ? [p.malformed.changeId] : []));
    await this.preload(ok, changeIds);
    if (this.pending === null) return this.process(parsed);
    try {
      const results = await this.process(parsed);
      await this.tx.savepoint((sp) => this.store(sp));
      return results;
    } catch (err) {
      if (!(err instanceof BulkConflict)) throw err;
      const careful = new PushBatch(this.tx, this.ctx, "savepoints");
      const results = await careful.run(raw);
      this.written = careful.written;
      return results;
    }
  }

  private async process(parsed: ReturnType<typeof parseChange>[]): Promise<ChangeResult[]> {
    const results: ChangeResult[] = [];
    for (const p of parsed) results.push(p.ok ? await this.processOne(p.change) : await this.malformed(p.malformed));
    return results;
  }

  /** Bulk mode: stores everything decided (in a savepoint: a {@link BulkConflict} rolls it all back). */
  private async store(sp: Tx): Promise<void> {
    const { writes, changes, conflicts } = this.pending!;
    if (!(await storeWrites(sp, this.ctx.orgId, writes))) throw new BulkConflict();
    const conflictRepo = new ConflictRepo(sp, this.ctx.orgId);
    for (const c of conflicts) await conflictRepo.put(c);
    if ((await new SyncChangeRepo(sp, this.ctx.orgId).putMany(this.ctx.deviceId, changes, this.at)) !== changes.length) throw new BulkConflict();
  }

  /**
   * The batched reads. First the records the batch writes, locked (Postgres, until COMMIT; one
   * query per entity kind in a fixed order, ids sorted: every batch takes its row locks in the same
   * global order, so concurrent batches wait for each other instead of deadlocking). Then — so that
   * a concurrent push of the same changes that held those locks is seen — the `sync_changes` rows of
   * every change_id (malformed changes' too), the organization's device ids, the records the changes reference (not
   * locked; a comment's task comes with the tasks), the referenced users, and the history
   * snapshots that merges (concurrent clocks) and duplicates will need.
   */
  private async preload(ok: ParsedChange[], changeIds: string[]): Promise<void> {
    const { orgId } = this.ctx;
    const loadInto = async (kind: EntityKind, ids: Iterable<string>, forUpdate: boolean) => {
      const list = [...ids].filter((id) => !this.loaded.has(key(kind, id)));
      if (list.length === 0) return;
      for (const id of list) this.loaded.add(key(kind, id));
      for (const [id, r] of await recordRepo(this.tx, orgId, kind).findMany(list, { forUpdate })) this.records.set(key(kind, id), r);
    };
    for (const kind of LOCK_ORDER) await loadInto(kind, ok.filter((c) => c.entity === kind).map((c) => c.entityId), true);

    this.seen = await new SyncChangeRepo(this.tx, orgId).findMany(this.ctx.deviceId, changeIds);
    this.devices = await orgDeviceIds(this.tx, orgId);
    const want: Record<EntityKind, Set<string>> = { project: new Set(), task: new Set(), comment: new Set() };
    const assignees = new Set<string>();
    const ref = (kind: EntityKind, v: unknown) => typeof v === "string" && want[kind].add(v);
    for (const c of ok) {
      if (c.entity === "task") {
        ref("project", c.data.project_id);
        if (typeof c.data.assignee_id === "string") assignees.add(c.data.assignee_id);
      }
      if (c.entity === "comment") {
        ref("task", c.data.task_id);
        ref("comment", c.data.parent_id);
      }
    }
    await loadInto("comment", want.comment, false);
    for (const r of this.records.values()) if ("task_id" in r && typeof r.task_id === "string") want.task.add(r.task_id);
    await loadInto("task", want.task, false);
    await loadInto("project", want.project, false);
    if (assignees.size) {
      const found = await orgUserIds(this.tx, orgId, [...assignees]);
      for (const id of assignees) this.users.set(id, found.has(id));
    }

    const snapshots: { entity: EntityKind; entityId: string; version: number }[] = [];
    for (const seen of this.seen.values()) {
      const r = seen.result;
      if (r.record === null && r.entity !== null && isEntityKind(r.entity) && r.entity_id && r.version !== null)
        snapshots.push({ entity: r.entity, entityId: r.entity_id, version: r.version });
    }
    for (const c of ok) {
      const current = this.records.get(key(c.entity, c.entityId));
      if (c.op === "create" || !current || c.baseVersion === null || c.baseVersion >= current.version || this.seen.has(c.changeId)) continue;
      if (compareClocks(c.clock, current.vector_clock) === "CONCURRENT") snapshots.push({ entity: c.entity, entityId: c.entityId, version: c.baseVersion });
    }
    if (snapshots.length) {
      const found = await new HistoryRepo(this.tx, orgId).findSnapshots(snapshots);
      for (const s of snapshots) {
        const k = snapshotKey(s.entity, s.entityId, s.version);
        this.snapshots.set(k, (found.get(k) as AnyRecord | undefined) ?? null);
      }
    }
  }

  /** The record at `version` from history: this batch's own writes and the preloaded ones from memory, others from the database. */
  private async snapshot(kind: EntityKind, id: string, version: number): Promise<AnyRecord | null> {
    const k = snapshotKey(kind, id, version);
    const hit = this.snapshots.get(k);
    if (hit !== undefined) return hit;
    return ((await new HistoryRepo(this.tx, this.ctx.orgId).findSnapshot(kind, id, version)) as AnyRecord | undefined) ?? null;
  }

  private record(kind: EntityKind, id: unknown): AnyRecord | undefined {
    return typeof id === "string" ? this.records.get(key(kind, id)) : undefined;
  }

  /** A change that failed its own checks: remembered when its change_id is usable, so a retry gets the same answer. */
  private async malformed(m: MalformedChange): Promise<ChangeResult> {
    const result: ChangeResult = {
      change_id: m.rawChangeId,
      status: "rejected",
      entity: m.entity,
      entity_id: m.entityId,
      version: null,
      vector_clock: null,
      record: null,
      error: m.error,
    };
    if (m.changeId === null || m.hash === null) return result;
    return this.remember(m.changeId, m.hash, result);
  }

  private async processOne(c: ParsedChange): Promise<ChangeResult> {
    const seen = this.seen.get(c.changeId);
    if (seen) return this.answerSeen(c.changeId, c.hash, seen, c);
    if (this.pending !== null) return this.decideInMemory(c);
    // A retried decision merges again: each attempt starts from the same budget, so a retry never
    // turns a merge into a conflict.
    const budgetLeft = this.mergeBudget.work;
    for (let attempt = 1; ; attempt++) {
      this.mergeBudget.work = budgetLeft;
      try {
        const outcome = await this.tx.savepoint(async (sp) => {
          const o = await this.decide(sp, c);
          const result = await this.resultOf(sp, c, o);
          if (!(await new SyncChangeRepo(sp, this.ctx.orgId).put(this.ctx.deviceId, c.changeId, c.hash, result, this.at))) throw new AlreadySeen();
          return { o, result };
        });
        this.rememberOutcome(c, outcome.o, outcome.result);
        return outcome.result;
      } catch (err) {
        if (err instanceof AlreadySeen) {
          const row = await new SyncChangeRepo(this.tx, this.ctx.orgId).find(this.ctx.deviceId, c.changeId);
          if (!row) throw err;
          this.seen.set(c.changeId, row);
          return this.answerSeen(c.changeId, c.hash, row, c);
        }
        if (err instanceof WriteConflict) {
          // Another transaction wrote the record since it was read: decide again against its state
          // (never a rejection: the change itself is fine).
          if (attempt >= MAX_ATTEMPTS) throw new Error(`change ${c.changeId}: the record kept changing under it`);
          this.refresh(c.entity, c.entityId, err.current as AnyRecord | undefined);
          continue;
        }
        if (err instanceof DomainError && err.code === "already_exists" && c.op === "create" && attempt < MAX_ATTEMPTS) {
          // Created concurrently (or the id is taken in another organization, which stays a refusal).
          const now = await recordRepo(this.tx, this.ctx.orgId, c.entity).find(c.entityId);
          if (now) {
            this.refresh(c.entity, c.entityId, now);
            continue;
          }
        }
        if (err instanceof ChangeRejected || err instanceof DomainError) return this.reject(c, err);
        throw err;
      }
    }
  }

  /** Bulk mode: decides the change and queues its write, Conflict and `sync_changes` row; a refusal queues only its answer. */
  private async decideInMemory(c: ParsedChange): Promise<ChangeResult> {
    const pending = this.pending!;
    const mark = [pending.writes.length, pending.conflicts.length];
    try {
      const o = await this.decide(this.tx, c);
      const result = await this.resultOf(this.tx, c, o);
      pending.changes.push({ changeId: c.changeId, hash: c.hash, result });
      this.rememberOutcome(c, o, result);
      return result;
    } catch (err) {
      pending.writes.length = mark[0];
      pending.conflicts.length = mark[1];
      if (err instanceof ChangeRejected || err instanceof DomainError) return this.reject(c, err);
      throw err;
    }
  }

  /** Bookkeeping after a change went through: the batch sees its record, its snapshot and its answer. */
  private rememberOutcome(c: ParsedChange, o: Outcome, result: ChangeResult): void {
    this.records.set(key(c.entity, c.entityId), o.record);
    if (o.wrote) {
      this.written++;
      this.snapshots.set(snapshotKey(c.entity, c.entityId, o.record.version), o.record);
    }
    this.seen.set(c.changeId, { hash: c.hash, result });
  }

  private refresh(kind: EntityKind, id: string, r: AnyRecord | undefined): void {
    if (r) this.records.set(key(kind, id), r);
    else this.records.delete(key(kind, id));
  }

  /**
   * A change_id seen before: the same payload is a retry (`duplicate` of the original answer, its
   * record read back from history at the answered version); another payload is refused.
   */
  private async answerSeen(changeId: string, hash: string | null, seen: SeenChange, c?: ParsedChange): Promise<ChangeResult> {
    if (seen.hash === hash) {
      const r = seen.result;
      const kind = r.entity !== null && isEntityKind(r.entity) ? r.entity : null;
      const record = r.record ?? (kind && r.entity_id && r.version !== null ? await this.snapshot(kind, r.entity_id, r.version) : null);
      return { ...r, status: "duplicate", record: (record as Record<string, unknown> | undefined) ?? null };
    }
    return {
      change_id: changeId,
      status: "rejected",
      entity: c?.entity ?? null,
      entity_id: c?.entityId ?? null,
      version: null,
      vector_clock: null,
      record: null,
      error: { code: "change_id_reused", message: "this change_id was already used by this device for another change" },
    };
  }

  /** A refused change: nothing of it was written (its savepoint rolled back); the answer is remembered. */
  private async reject(c: ParsedChange, err: ChangeRejected | DomainError): Promise<ChangeResult> {
    const details = err instanceof DomainError ? (Object.keys(err.details).length ? err.details : undefined) : err.details;
    const error: ChangeError = details ? { code: err.code, message: err.message, details } : { code: err.code, message: err.message };
    const current = this.record(c.entity, c.entityId);
    const result: ChangeResult = {
      change_id: c.changeId,
      status: "rejected",
      entity: c.entity,
      entity_id: c.entityId,
      version: current?.version ?? null,
      vector_clock: current?.vector_clock ?? null,
      record: (current as unknown as Record<string, unknown>) ?? null,
      error,
    };
    return this.remember(c.changeId, c.hash, result);
  }

  private async remember(changeId: string, hash: string, result: ChangeResult): Promise<ChangeResult> {
    const seen = this.seen.get(changeId);
    if (seen) return this.answerSeen(changeId, hash, seen);
    if (this.pending !== null) {
      this.pending.changes.push({ changeId, hash, result });
      this.seen.set(changeId, { hash, result });
      return result;
    }
    const changes = new SyncChangeRepo(this.tx, this.ctx.orgId);
    if (!(await changes.put(this.ctx.deviceId, changeId, hash, result, this.at))) {
      const row = await changes.find(this.ctx.deviceId, changeId);
      if (row) return this.answerSeen(changeId, hash, row);
    }
    this.seen.set(changeId, { hash, result });
    return result;
  }

  /** The answer to an outcome; records the Conflict (in the change's savepoint) when there is one. */
  private async resultOf(tx: Tx, c: ParsedChange, o: Outcome): Promise<ChangeResult> {
    const result: ChangeResult = {
      change_id: c.changeId,
      status: o.status,
      entity: c.entity,
      entity_id: c.entityId,
      version: o.record.version,
      vector_clock: o.record.vector_clock,
      record: o.record as unknown as Record<string, unknown>,
    };
    if (o.conflict) result.conflict_id = await this.recordConflict(tx, c, o.conflict);
    return result;
  }

  private async recordConflict(tx: Tx, c: ParsedChange, spec: ConflictSpec): Promise<string> {
    const id = newId();
    const conflict: Conflict = {
      id,
      orgId: this.ctx.orgId,
      entity: c.entity,
      entityId: c.entityId,
      fields: spec.fields,
      local: spec.local,
      remote: spec.remote,
      base: spec.base && withDeletion(c.entity, spec.base),
      deviceId: this.ctx.deviceId,
      userId: this.ctx.userId,
      createdAt: this.at,
      resolvedAt: null,
      resolution: null,
      resolvedBy: null,
    };
    if (this.pending !== null) this.pending.conflicts.push(conflict);
    else await new ConflictRepo(tx, this.ctx.orgId).put(conflict);
    return id;
  }

  // ---- the decision ------------------------------------------------------------------------

  /** Decides a well-formed change against the record's current state and writes what it must. */
  private async decide(tx: Tx, c: ParsedChange): Promise<Outcome> {
    const current = this.record(c.entity, c.entityId);
    // An update or delete of a record the server does not hold (never created, or its tombstone purged)
    // is not_found whatever its clock: with no stored clock, any other device's counter would read as forged.
    if (!current && c.op !== "create") throw new ChangeRejected("not_found", `${c.entity} not found`);
    const forged = findForgedKey(c.clock, { deviceId: this.ctx.deviceId, knownDevices: (k) => this.devices.has(k), stored: current?.vector_clock ?? null });
    if (forged !== null) throw new ChangeRejected("forged_clock", `vector_clock claims a counter for "${forged}" that this device cannot know`);
    // Another user's comment: its author edits it, an admin may delete it, nobody else touches it (403 `forbidden` over REST).
    if (c.entity === "comment" && current && c.op !== "create") {
      if (c.op === "delete") requireCommentDeleter(current as Comment, this.ctx.userId, this.ctx.admin);
      else requireCommentAuthor(current as Comment, this.ctx.userId);
    }

    if (c.op === "create") {
      if (!current) return this.create(tx, c);
      if (isStale(c.clock, current)) return { status: "stale", record: current, wrote: false };
      throw new ChangeRejected("already_exists", `a ${c.entity} with this id already exists`);
    }
    if (!current) throw new ChangeRejected("not_found", `${c.entity} not found`); // (narrows the type: checked above)
    if (isStale(c.clock, current)) return { status: "stale", record: current, wrote: false };
    const after = compareClocks(c.clock, current.vector_clock) === "AFTER";

    if (current.deleted_at !== null) return this.onTombstone(tx, c, current, after);
    if (c.op === "delete") {
      if (after) return this.applied(tx, c, current, "deleted", {});
      // Delete vs a concurrent update: the delete wins, the update is kept in a Conflict.
      const record = await this.write(tx, c, current, "deleted", {}, merged(c, current));
      const fields = ["deleted_at"];
      return { status: "conflict", record, wrote: true, conflict: { fields, local: { deleted_at: record.deleted_at }, remote: withDeletion(c.entity, current), base: await this.base(c, current) } };
    }
    if (c.entity === "comment" && this.record("task", (current as { task_id?: string }).task_id)?.deleted_at) return this.orphanUpdate(tx, c, current);
    return after ? this.update(tx, c, current) : this.merge(tx, c, current);
  }

  /** A new record: applied as pushed, unless it points at a tombstone (then a Conflict keeps the proposal). */
  private async create(tx: Tx, c: ParsedChange): Promise<Outcome> {
    if (c.entity === "comment" && this.record("task", c.data.task_id)?.deleted_at) {
      // A comment on a task deleted concurrently: stored as a tombstone, so the device converges and nothing is lost.
      // (The write core does not check a tombstone's references: the parent is checked here.)
      const parent = c.data.parent_id;
      if (typeof parent === "string" && (this.record("comment", parent) as { task_id?: string } | undefined)?.task_id !== c.data.task_id)
        throw new ChangeRejected("validation_failed", "invalid parent_id", { fields: { parent_id: "no such comment on this task" } });
      const record = await this.write(tx, c, null, "created", c.data, serverWrite(c.clock), true);
      return { status: "conflict", record, wrote: true, conflict: { fields: ["deleted_at"], local: { ...c.data, deleted_at: null }, remote: withDeletion(c.entity, record), base: null } };
    }
    const dangling = this.dangling(c.entity, c.data, null);
    if (dangling.length === 0) return this.applied(tx, c, null, "created", c.data);
    const record = await this.write(tx, c, null, "created", omit(c.data, dangling), serverWrite(c.clock));
    return { status: "conflict", record, wrote: true, conflict: { fields: dangling, local: c.data, remote: withDeletion(c.entity, record), base: null } };
  }

  /** An update whose clock is AFTER the record's: the new state (bar references to tombstones). */
  private async update(tx: Tx, c: ParsedChange, current: AnyRecord): Promise<Outcome> {
    const dangling = this.dangling(c.entity, c.data, current);
    if (dangling.length === 0) return this.applied(tx, c, current, "updated", c.data);
    const record = await this.write(tx, c, current, "merged", omit(c.data, dangling), merged(c, current));
    return { status: "conflict", record, wrote: true, conflict: { fields: dangling, local: c.data, remote: withDeletion(c.entity, current), base: await this.base(c, current) } };
  }

  /** A CONCURRENT update: three-way merge against the record at base_version. */
  private async merge(tx: Tx, c: ParsedChange, current: AnyRecord): Promise<Outcome> {
    const base = await this.base(c, current);
    const { data, conflicts } = this.mergeInto(c, current, base);
    const dangling = this.dangling(c.entity, data, current);
    const fields = [...conflicts, ...dangling].sort();
    const record = await this.write(tx, c, current, "merged", omit(data, dangling), merged(c, current));
    if (fields.length === 0) return { status: "merged", record, wrote: true };
    return { status: "conflict", record, wrote: true, conflict: { fields, local: c.data, remote: withDeletion(c.entity, current), base } };
  }

  /**
   * A change that meets a tombstone (clock AFTER or CONCURRENT): a delete is applied (AFTER) or
   * agrees with it (`merged`); an update is a conflict — the record stays deleted, and the Conflict
   * keeps the update's wish to see it live. Its fields are merged into the tombstone as into a live
   * record, so that the tombstone is the same whichever came first: an update then a concurrent
   * delete (which deletes the updated record) or the delete then the update.
   */
  private async onTombstone(tx: Tx, c: ParsedChange, current: AnyRecord, after: boolean): Promise<Outcome> {
    if (c.op === "delete") {
      if (after) return this.applied(tx, c, current, "deleted", {});
      return { status: "merged", record: await this.write(tx, c, current, "merged", {}, merged(c, current)), wrote: true };
    }
    const base = await this.base(c, current);
    const m = this.mergeInto(c, current, base);
    // As on a live record: a reference to a deleted record is not applied (a conflicting field), one to
    // a record the organization does not have is refused — the write core checks no tombstone's references.
    const dangling = this.dangling(c.entity, m.data, current);
    const data = omit(m.data, dangling);
    const refErrors = await checkReferences(tx, this.ctx.orgId, c.entity, current, { ...current, ...data } as AnyRecord, this.known);
    if (Object.keys(refErrors).length > 0) throw invalid(refErrors);
    const record = await this.write(tx, c, current, "merged", data, merged(c, current));
    const fields = ["deleted_at", ...[...m.conflicts, ...dangling].sort()];
    return { status: "conflict", record, wrote: true, conflict: { fields, local: { ...c.data, deleted_at: null }, remote: withDeletion(c.entity, current), base } };
  }

  /**
   * The three-way merge of the change into `current` (against `base`): the fields that change, and
   * those that could not be merged (the server's kept). A merged value the field's rules refuse —
   * two text edits that together leave a title only whitespace, or make it longer than allowed — is
   * one of the latter: neither side wrote it, so it is a conflict, never a rejection of the change.
   */
  private mergeInto(c: ParsedChange, current: AnyRecord, base: AnyRecord | null): { data: Record<string, unknown>; conflicts: string[] } {
    const remote = fieldsOf(c.entity, current);
    const m = mergeRecord(base && fieldsOf(c.entity, base), c.data, remote, c.entity, this.mergeBudget);
    const data: Record<string, unknown> = {};
    const conflicts = [...m.conflicts];
    for (const f of Object.keys(m.merged)) {
      if (jsonEqual(m.merged[f], remote[f])) continue;
      if (checkFields(c.entity, { [f]: m.merged[f] }).ok) data[f] = m.merged[f];
      else conflicts.push(f);
    }
    return { data, conflicts: conflicts.sort() };
  }

  /** An update of a comment whose task was deleted: not applied, kept in a Conflict (like update vs delete). */
  private async orphanUpdate(tx: Tx, c: ParsedChange, current: AnyRecord): Promise<Outcome> {
    const record = await this.write(tx, c, current, "merged", {}, merged(c, current));
    const fields = changedKeys(c.data, current);
    if (fields.length === 0) return { status: "merged", record, wrote: true };
    return { status: "conflict", record, wrote: true, conflict: { fields, local: c.data, remote: withDeletion(c.entity, current), base: await this.base(c, current) } };
  }

  /** The device's state becomes the record's: its clock as pushed, left out of the device's own pulls. */
  private async applied(tx: Tx, c: ParsedChange, before: AnyRecord | null, action: HistoryAction, data: Record<string, unknown>): Promise<Outcome> {
    return { status: "applied", record: await this.write(tx, c, before, action, data, c.clock, undefined, true), wrote: true };
  }

  private async write(
    tx: Tx,
    c: ParsedChange,
    before: AnyRecord | null,
    action: HistoryAction,
    data: Record<string, unknown>,
    clock: VectorClock,
    deleted?: boolean,
    own = false,
  ): Promise<AnyRecord> {
    const input: WriteInput<EntityKind> = {
      entity: c.entity,
      orgId: this.ctx.orgId,
      before: before as never,
      data,
      id: before ? undefined : c.entityId,
      action,
      userId: this.ctx.userId,
      deviceId: this.ctx.deviceId,
      clock,
      originDevice: own ? this.ctx.deviceId : null,
      now: this.ctx.now,
      deleted,
    };
    if (this.pending === null) return writeRecord(tx, input);
    const w = await prepareWrite(tx, input, this.known);
    this.pending.writes.push(w);
    return w.after;
  }

  /** The record at the change's base_version: the current one, a history snapshot, or null when unknown. */
  private async base(c: ParsedChange, current: AnyRecord): Promise<AnyRecord | null> {
    if (c.baseVersion === null || c.baseVersion > current.version) return null;
    if (c.baseVersion === current.version) return current;
    return this.snapshot(c.entity, c.entityId, c.baseVersion);
  }

  /**
   * Fields of `data` that set a reference to a record of the organization that is deleted (a
   * task's project, a comment's parent): not applied, but not refused either — an honest device
   * may have referenced it before it was deleted. Missing or foreign records are left to the
   * write core, which refuses them.
   */
  private dangling(kind: EntityKind, data: Record<string, unknown>, before: AnyRecord | null): string[] {
    const prev = (before ?? {}) as Record<string, unknown>;
    const deletedRef = (refKind: EntityKind, field: string) => {
      const v = data[field];
      const ref = typeof v === "string" && v !== prev[field] ? this.record(refKind, v) : undefined;
      return ref !== undefined && ref.deleted_at !== null ? ref : undefined;
    };
    if (kind === "task") return deletedRef("project", "project_id") ? ["project_id"] : [];
    if (kind === "comment") {
      const parent = deletedRef("comment", "parent_id") as { task_id?: unknown } | undefined;
      return parent && parent.task_id === (data.task_id ?? prev.task_id) ? ["parent_id"] : [];
    }
    return [];
  }
}

/** Stale: the client's clock is BEFORE or EQUAL to the record's — the server already has this or newer. */
function isStale(clock: VectorClock, r: AnyRecord): boolean {
  const order = compareClocks(clock, r.vector_clock);
  return order === "BEFORE" || order === "EQUAL";
}

/** The clock of a write that is not exactly the device's state: newer than both sides. */
const merged = (c: ParsedChange, current: AnyRecord): VectorClock => serverWrite(c.clock, current.vector_clock);

/** A record's writable fields and its deletion mark (how Conflicts show the sides). */
function withDeletion(kind: EntityKind, r: AnyRecord): Record<string, unknown> {
  return { ...fieldsOf(kind, r), deleted_at: r.deleted_at };
}

function changedKeys(data: Record<string, unknown>, r: AnyRecord): string[] {
  const rec = r as unknown as Record<string, unknown>;
  return Object.keys(data)
    .filter((f) => !jsonEqual(data[f], rec[f]))
    .sort();
}

function omit(data: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  if (fields.length === 0) return data;
  return Object.fromEntries(Object.entries(data).filter(([f]) => !fields.includes(f)));
}
