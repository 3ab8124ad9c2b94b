/**
 * What one push batch knows (docs/sync-design.md, "One transaction, decided in memory"): read in
 * a few batched queries before deciding, then kept up to date as changes go through, so that two
 * changes of one record in one batch see each other.
 */
import type { Tx } from "../../db/types";
import { DeviceRepo } from "../../devices/repo";
import { HistoryRepo, snapshotKey } from "../../records/history";
import { type AnyRecord, ENTITY_KINDS, type EntityKind, isEntityKind } from "../../records/model";
import { type KnownRecords, REFERENCES } from "../../records/refs";
import { RecordRepo } from "../../records/repo";
import { recordKey } from "./order";
import { compareClocks, SERVER_KEY } from "../../records/clock";
import { isUuid } from "../../ids";
import type { ParsedChange } from "../change";
import type { ChangeResult } from "../model";
import { UserRepo } from "../../users/repo";
import { type SeenChange, SyncChangeRepo } from "../repo";
import type { BatchView, Outcome } from "./decide";
import { type OwnEdit, retriedUpdateVersion, withoutOwnEdit } from "./own-edits";

/**
 * The keys of the changes' clocks that may be devices of the organization other than `deviceId`
 * (the pushing device's own key and `server` need no lookup; a key that is not a UUID is no
 * device): the ids the forged-key check asks about.
 */
function otherDeviceKeys(changes: readonly ParsedChange[], deviceId: string): Set<string> {
  const keys = new Set<string>();
  for (const c of changes) for (const k of Object.keys(c.clock)) if (k !== deviceId && k !== SERVER_KEY && isUuid(k)) keys.add(k);
  return keys;
}

/**
 * The version of the record whose history snapshot deciding `c` against `current` (as the batch first
 * reads it) needs, or null: an update (merged three-way against it) or a delete (whose Conflict shows
 * it) CONCURRENT with the record needs its base_version when older than the record's (the current
 * version is its own base; a later one is unknown), and without base_version the first version (the
 * base when the device created the record: `ownCreate` in ./decide.ts). Earlier changes of the batch
 * may move the record on: a base this misses is read from history when the decision asks for it.
 */
function historyBase(c: ParsedChange, current: AnyRecord): number | null {
  const version = c.baseVersion ?? 1;
  if (c.op === "create" || version >= current.version) return null;
  return compareClocks(c.clock, current.vector_clock) === "CONCURRENT" ? version : null;
}

/**
 * The order in which a batch locks the records it writes (Postgres): the same for every batch, and
 * every kind (a kind left out would never be loaded, and its updates would answer `not_found`):
 * referencing kinds first (comment, task, project).
 */
const LOCK_ORDER: readonly EntityKind[] = [...ENTITY_KINDS].reverse();

/**
 * What a push batch knows while it decides: the records it locked and loaded, the references and
 * merge bases it preloaded, and what its own changes have written so far.
 */
export class BatchState implements BatchView {
  /** Current records of the batch (and of the records they reference), kept up to date as changes apply. */
  private readonly records = new Map<string, AnyRecord>();
  /** Keys the preload asked for: one missing from `records` does not exist in the organization. */
  private readonly loaded = new Set<string>();
  /** Referenced user ids the preload asked for → whether they are users of the organization. */
  private readonly users = new Map<string, boolean>();
  /** History snapshots by `snapshotKey`: preloaded (merge bases, duplicates) and written by this batch; null = known missing. */
  private readonly snapshots = new Map<string, AnyRecord | null>();
  /** The updates this batch has decided (and the retried ones it answered `duplicate`: `noteDuplicate`), by record, in order: their base_version, clock and data, and the record before each (see {@link beforeOwnEdits}). */
  private readonly edits = new Map<string, OwnEdit[]>();
  /** The device's `sync_changes` rows of the batch's change_ids, and the answers given since. */
  seen = new Map<string, SeenChange>();
  devices: ReadonlySet<string> = new Set<string>();

  readonly known: KnownRecords = {
    record: (kind, id) => this.records.get(recordKey(kind, id)) ?? (this.loaded.has(recordKey(kind, id)) ? null : undefined),
    user: (id) => this.users.get(id),
  };

  constructor(
    private readonly tx: Tx,
    private readonly orgId: string,
    private readonly deviceId: string,
  ) {}

  /**
   * The batched reads. First the records the batch writes, locked; then — so that a concurrent
   * push of the same changes that held those locks is seen — the `sync_changes` rows of every
   * change_id (malformed changes' too) and which of the devices their clocks name are the organization's; then the records and
   * users the changes reference, and the history snapshots that merges and duplicates will need.
   */
  async preload(ok: ParsedChange[], changeIds: string[]): Promise<void> {
    await this.lockTargets(ok);
    this.seen = await new SyncChangeRepo(this.tx, this.orgId).findMany(this.deviceId, changeIds);
    this.devices = await new DeviceRepo(this.tx, this.orgId).findIds(otherDeviceKeys(ok, this.deviceId));
    await this.loadReferences(ok);
    await this.loadSnapshots(ok);
  }

  /**
   * The records the batch writes, locked until COMMIT (Postgres): one query per entity kind in a
   * fixed order, ids sorted, so every batch takes its row locks in the same global order and
   * concurrent batches wait for each other instead of deadlocking.
   */
  private async lockTargets(ok: ParsedChange[]): Promise<void> {
    for (const kind of LOCK_ORDER) await this.load(kind, ok.filter((c) => c.entity === kind).map((c) => c.entityId), true);
  }

  /** The records the changes reference (not locked; comments first, so that their tasks come with the tasks) and the users they name. */
  private async loadReferences(ok: ParsedChange[]): Promise<void> {
    const want: Record<EntityKind, Set<string>> = { project: new Set(), task: new Set(), comment: new Set() };
    const userIds = new Set<string>();
    for (const c of ok) {
      for (const { field, to } of REFERENCES[c.entity]) {
        const v = c.data[field];
        if (typeof v !== "string") continue;
        if (to === "user") userIds.add(v);
        else want[to].add(v);
      }
    }
    await this.load("comment", want.comment, false);
    for (const r of this.records.values()) if ("task_id" in r && typeof r.task_id === "string") want.task.add(r.task_id);
    await this.load("task", want.task, false);
    await this.load("project", want.project, false);
    if (userIds.size) {
      const found = await new UserRepo(this.tx, this.orgId).findIds(userIds);
      for (const id of userIds) this.users.set(id, found.has(id));
    }
  }

  /** The history snapshots that duplicates (their answered version) and merges (a concurrent clock: the base version) will read. */
  private async loadSnapshots(ok: ParsedChange[]): Promise<void> {
    const wanted: { entity: EntityKind; entityId: string; version: number }[] = [];
    for (const seen of this.seen.values()) {
      const r = seen.result;
      if (r.record === null && r.entity !== null && isEntityKind(r.entity) && r.entity_id && r.version !== null)
        wanted.push({ entity: r.entity, entityId: r.entity_id, version: r.version });
    }
    for (const c of ok) {
      const current = this.records.get(recordKey(c.entity, c.entityId));
      const version = current && !this.seen.has(c.changeId) ? historyBase(c, current) : null;
      if (version !== null) wanted.push({ entity: c.entity, entityId: c.entityId, version });
      // A retried update: the record before its earlier push wrote it (`noteDuplicate`).
      const wrote = current ? retriedUpdateVersion(c, this.seen.get(c.changeId)) : null;
      if (wrote !== null && wrote > 1) wanted.push({ entity: c.entity, entityId: c.entityId, version: wrote - 1 });
    }
    if (wanted.length === 0) return;
    const found = await new HistoryRepo(this.tx, this.orgId).findSnapshots(wanted);
    for (const s of wanted) {
      const k = snapshotKey(s.entity, s.entityId, s.version);
      this.snapshots.set(k, (found.get(k) as AnyRecord | undefined) ?? null);
    }
  }

  private async load(kind: EntityKind, ids: Iterable<string>, forUpdate: boolean): Promise<void> {
    const list = [...ids].filter((id) => !this.loaded.has(recordKey(kind, id)));
    if (list.length === 0) return;
    for (const id of list) this.loaded.add(recordKey(kind, id));
    for (const [id, r] of await new RecordRepo(this.tx, this.orgId, kind).findMany(list, { forUpdate })) this.records.set(recordKey(kind, id), r);
  }

  /** The record at `version` from history: this batch's own writes and the preloaded ones from memory, others from the database. */
  async snapshot(kind: EntityKind, id: string, version: number): Promise<AnyRecord | null> {
    const hit = this.snapshots.get(snapshotKey(kind, id, version));
    if (hit !== undefined) return hit;
    return ((await new HistoryRepo(this.tx, this.orgId).findSnapshot(kind, id, version)) as AnyRecord | undefined) ?? null;
  }

  record(kind: EntityKind, id: unknown): AnyRecord | undefined {
    return typeof id === "string" ? this.records.get(recordKey(kind, id)) : undefined;
  }

  /** The record as a concurrent transaction left it (undefined: gone). */
  refresh(kind: EntityKind, id: string, r: AnyRecord | undefined): void {
    if (r) this.records.set(recordKey(kind, id), r);
    else this.records.delete(recordKey(kind, id));
  }

  beforeOwnEdits(c: ParsedChange): { fields: ReadonlySet<string>; record: AnyRecord } | null {
    const own = (this.edits.get(recordKey(c.entity, c.entityId)) ?? []).filter((e) => e.baseVersion === c.baseVersion && compareClocks(e.clock, c.clock) === "BEFORE");
    const first = own[0]?.before;
    if (first === undefined) return null;
    const record = { ...first } as Record<string, unknown>;
    const fields = new Set<string>();
    for (const e of own) {
      for (const f of Object.keys(e.data)) {
        // A field a later retried edit set first: its value before that edit's earlier push.
        if (!fields.has(f) && e.duplicate && e !== own[0] && e.before) record[f] = (e.before as unknown as Record<string, unknown>)[f];
        fields.add(f);
      }
    }
    return { fields, record: record as unknown as AnyRecord };
  }

  /**
   * A retried update answered `duplicate` of an earlier push that wrote it (a lost answer, re-sent
   * with the device's later edits of the record queued behind it): one of the device's own earlier
   * edits, as if it were decided in this batch, so that a later edit from the same base merges as the
   * device's later value over it ({@link beforeOwnEdits}), not against it as another device's. For
   * each field it set, the value before that push (history at the version before) — unless the
   * record changed the field since (another device's later write, concurrent with the later edit:
   * its value stays the other side).
   */
  async noteDuplicate(c: ParsedChange, seen: SeenChange): Promise<void> {
    const wrote = retriedUpdateVersion(c, seen);
    const k = recordKey(c.entity, c.entityId);
    const current = this.records.get(k);
    const list = this.edits.get(k) ?? [];
    if (wrote === null || wrote < 2 || !current || list.some((e) => e.changeId === c.changeId)) return;
    const [after, prior] = await Promise.all([this.snapshot(c.entity, c.entityId, wrote), this.snapshot(c.entity, c.entityId, wrote - 1)]);
    if (!after || !prior) return;
    const now = current as unknown as Record<string, unknown>;
    // Nobody wrote since: the record before it is the version before; else others did (a delete's `othersSince`).
    const before: Record<string, unknown> = { ...now, version: current.version === wrote ? wrote - 1 : current.version };
    for (const f of Object.keys(c.data)) before[f] = withoutOwnEdit(now[f], (after as unknown as Record<string, unknown>)[f], (prior as unknown as Record<string, unknown>)[f]);
    list.push({ changeId: c.changeId, baseVersion: c.baseVersion, clock: c.clock, data: c.data, before: before as unknown as AnyRecord, duplicate: true });
    this.edits.set(k, list);
  }

  /** After a change went through: the batch sees its record, its snapshot, its answer (and an update's data, with the record before it). */
  noteOutcome(c: ParsedChange, o: Outcome, result: ChangeResult): void {
    const k = recordKey(c.entity, c.entityId);
    if (c.op === "update") {
      const edit = { changeId: c.changeId, baseVersion: c.baseVersion, clock: c.clock, data: c.data, before: this.records.get(k), duplicate: false };
      const list = this.edits.get(k);
      if (list) list.push(edit);
      else this.edits.set(k, [edit]);
    }
    this.records.set(k, o.record);
    if (o.wrote) this.snapshots.set(snapshotKey(c.entity, c.entityId, o.record.version), o.record);
    this.seen.set(c.changeId, { hash: c.hash, result });
  }
}
