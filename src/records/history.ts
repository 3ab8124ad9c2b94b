import type { VectorClock } from "./clock";
import { columns, inChunks, insertRows } from "../db/bulk";
import type { Executor, Flusher, SqlValue } from "../db/types";
import { type PageRequest, type PageResult, selectPage } from "../db/page";
import { entityDef } from "./entities";
import { jsonEqual } from "./json";
import { ENTITY_KINDS, type EntityKind, type HistoryAction, type RecordOf } from "./model";

/** `{field: {old, new}}` of the fields a write changed. */
export type Changes = Record<string, { old: unknown; new: unknown }>;

/** One history row: what a write changed, and the full record after it. */
export interface HistoryEntry<K extends EntityKind = EntityKind> {
  id: string;
  entity: K;
  entityId: string;
  /** The record's version after the write. */
  version: number;
  action: HistoryAction;
  changes: Changes;
  /** The record as stored after the write (the base of a later three-way merge at this version). */
  snapshot: RecordOf[K];
  userId: string | null;
  /** The pushing device for sync writes; null for REST writes. */
  deviceId: string | null;
  vectorClock: VectorClock;
  createdAt: string;
}

/** A history entry as a page lists it (src/tasks/service.ts): its snapshot left out. */
export type ListedHistoryEntry<K extends EntityKind = EntityKind> = Omit<HistoryEntry<K>, "snapshot">;

interface HistoryRow {
  id: string;
  entity: string;
  entity_id: string;
  version: number;
  action: string;
  changes: string;
  /** Null where a page does not read it ({@link LIST_COLS}). */
  snapshot: string | null;
  user_id: string | null;
  device_id: string | null;
  vector_clock: string;
  created_at: string;
}

/**
 * The `changes` column of a create: JSON `null`, as they are exactly the snapshot's tracked fields
 * (see {@link fieldChanges}) and storing them twice doubled the row — a create's row then no
 * longer shares its 4 KB page with another one on SQLite. Read back, they are derived again.
 */
const DERIVED_CHANGES = "null";

/** A row as a history page lists it: without its snapshot, parsed only for the `changes` derived from it (`snapshot` null otherwise: {@link LIST_COLS}). */
function toListedEntry<K extends EntityKind>(r: HistoryRow): ListedHistoryEntry<K> {
  return {
    id: r.id,
    entity: r.entity as K,
    entityId: r.entity_id,
    version: Number(r.version),
    action: r.action as HistoryAction,
    changes: r.changes === DERIVED_CHANGES ? fieldChanges(entityDef(r.entity as K).tracked, null, JSON.parse(r.snapshot!) as RecordOf[K]) : JSON.parse(r.changes),
    userId: r.user_id,
    deviceId: r.device_id,
    vectorClock: JSON.parse(r.vector_clock),
    createdAt: r.created_at,
  };
}

/** `{field: {old, new}}` over `tracked`: changed fields only; on create every field except unset deletion marks, with old null. */
export function fieldChanges(tracked: readonly string[], before: object | null, after: object): Changes {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  const changes: Changes = {};
  for (const f of tracked) {
    const old = before ? (b[f] ?? null) : null;
    const now = a[f] ?? null;
    if (before ? !jsonEqual(old, now) : !(f.startsWith("deleted_") && now === null)) changes[f] = { old, new: now };
  }
  return changes;
}

/** History rows as the write core queues them (`tx.enqueue(flushHistory, row)`). */
export interface QueuedHistory {
  orgId: string;
  entry: HistoryEntry;
  /** `entry.snapshot` and `entry.vectorClock` as JSON text, serialized once for this row and the feed's. */
  snapshot: string;
  vectorClock: string;
}

/** The columns of a `history` row. */
export const HISTORY_COLUMNS = columns([
  ["org_id", "text"],
  ["id", "text"],
  ["entity", "text"],
  ["entity_id", "text"],
  ["version", "integer"],
  ["action", "text"],
  ["changes", "text"],
  ["snapshot", "text"],
  ["user_id", "text"],
  ["device_id", "text"],
  ["vector_clock", "text"],
  ["created_at", "text"],
]);

/**
 * What a history page selects of a row (a {@link HistoryRow}): its {@link HISTORY_COLUMNS} but the
 * organization, and `snapshot` only where `changes` is derived from it (a create's). A page of a task
 * edited with a large description otherwise read and parsed each version's whole record besides its
 * `changes`, which the answer does not carry (docs/performance.md, "Large REST answers").
 */
const LIST_COLS = HISTORY_COLUMNS.names
  .filter((c) => c !== "org_id")
  .map((c) => (c === "snapshot" ? `CASE WHEN changes = '${DERIVED_CHANGES}' THEN snapshot END AS snapshot` : c))
  .join(", ");

/**
 * Appends the history rows of one transaction, just before COMMIT, as multi-row INSERTs (nothing
 * reads a row back in the transaction that wrote it: a merge base of this transaction's own writes
 * is taken from memory). A rolled-back savepoint drops its rows with it.
 */
export const flushHistory: Flusher<QueuedHistory> = async (exec, items) => {
  await insertRows(exec, "history", HISTORY_COLUMNS, items.map(({ orgId, entry, snapshot, vectorClock }) => historyRow(orgId, entry, snapshot, vectorClock)));
};

/**
 * The `history` row of an entry, in {@link HISTORY_COLUMNS} order (also what the bench's direct
 * inserts store); `snapshot` and `vectorClock` are the entry's as JSON text when already serialized.
 */
export function historyRow(orgId: string, e: HistoryEntry, snapshot = JSON.stringify(e.snapshot), vectorClock = JSON.stringify(e.vectorClock)): SqlValue[] {
  return [
    orgId,
    e.id,
    e.entity,
    e.entityId,
    e.version,
    e.action,
    e.action === "created" ? DERIVED_CHANGES : JSON.stringify(e.changes),
    snapshot,
    e.userId,
    e.deviceId,
    vectorClock,
    e.createdAt,
  ];
}

/** Keys per batched snapshot lookup (3 parameters each). */
const SNAPSHOT_BATCH = 200;

/** History of the synced records of one organization. Appended only by writeRecord (through {@link flushHistory}). */
export class HistoryRepo {
  constructor(
    private readonly exec: Executor,
    readonly orgId: string,
  ) {}

  /** One page of a record's history, oldest first, without the entries' snapshots. */
  async list<K extends EntityKind>(entity: K, entityId: string, page: PageRequest): Promise<PageResult<ListedHistoryEntry<K>>> {
    const where = "WHERE entity = ? AND entity_id = ? AND org_id = ?";
    const params = [entity, entityId, this.orgId];
    return selectPage(this.exec, { columns: LIST_COLS, from: "history", where, params, orderBy: "ORDER BY version" }, page, (r: HistoryRow) => toListedEntry<K>(r));
  }

  /** The record exactly as it was at `version` (the base of a three-way merge), or undefined when unknown. */
  async findSnapshot<K extends EntityKind>(entity: K, entityId: string, version: number): Promise<RecordOf[K] | undefined> {
    const r = await this.exec.get<{ snapshot: string }>(
      "SELECT snapshot FROM history WHERE entity = ? AND entity_id = ? AND version = ? AND org_id = ?",
      [entity, entityId, version, this.orgId],
    );
    return r ? parseSnapshot(entity, r.snapshot) : undefined;
  }

  /**
   * Several snapshots at once (merge bases and duplicates of a push batch): one query per 200 keys.
   * The answer maps `entity:entityId:version` to the record; unknown versions are left out.
   */
  async findSnapshots(keys: readonly { entity: EntityKind; entityId: string; version: number }[]): Promise<Map<string, RecordOf[EntityKind]>> {
    const rows = await inChunks(
      keys,
      SNAPSHOT_BATCH,
      (chunk) => {
        const params: SqlValue[] = [this.orgId];
        for (const k of chunk) params.push(k.entityId, k.entity, k.version);
        return this.exec.all<{ entity: string; entity_id: string; version: number; snapshot: string }>(
          `SELECT entity, entity_id, version, snapshot FROM history WHERE org_id = ? AND (${chunk.map(() => "(entity_id = ? AND entity = ? AND version = ?)").join(" OR ")})`,
          params,
        );
      },
      (k) => snapshotKey(k.entity, k.entityId, k.version),
    );
    const out = new Map<string, RecordOf[EntityKind]>();
    for (const r of rows) out.set(snapshotKey(r.entity as EntityKind, r.entity_id, Number(r.version)), parseSnapshot(r.entity as EntityKind, r.snapshot));
    return out;
  }
}

/**
 * A stored snapshot as the record it was. A version written before one of the record's writable fields
 * existed (a field a later migration added: stored snapshots are not rewritten) gets that field as the
 * migration gave the stored rows, the value a create without it takes (`defaults`: null for a nullable
 * field) — missing, a merge against it would see a change nobody made (test/sync/merge-base-without-field.test.ts).
 * Filled in place: a complete snapshot costs no allocation.
 */
function parseSnapshot<K extends EntityKind>(entity: K, text: string): RecordOf[K] {
  const record = JSON.parse(text) as Record<string, unknown>;
  for (const entry of DEFAULTS[entity]) {
    if (Object.prototype.hasOwnProperty.call(record, entry[0])) continue;
    const value = entry[1];
    record[entry[0]] = typeof value === "object" && value !== null ? structuredClone(value) : value;
  }
  return record as unknown as RecordOf[K];
}

/** Each kind's create defaults as entries, made once ({@link parseSnapshot}). */
const DEFAULTS = Object.fromEntries(ENTITY_KINDS.map((kind) => [kind, Object.entries(entityDef(kind).defaults)])) as Record<EntityKind, [string, unknown][]>;

/** The key of {@link HistoryRepo.findSnapshots}' answer. */
export const snapshotKey = (entity: EntityKind, entityId: string, version: number): string => `${entity}:${entityId}:${version}`;
