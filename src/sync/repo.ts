/**
 * SQL of the sync engine: the exactly-once memory of pushed changes (`sync_changes`), the
 * organization's device ids and feed state. Organization-scoped by construction.
 */
import type { Executor, SqlValue } from "../db/types";
import type { ChangeResult } from "./model";

/** Ids per `IN (…)` query. */
const BATCH = 500;

/**
 * A change already processed for a device: its payload hash and the answer it got. The stored
 * answer leaves out `record` (it is the history snapshot at `result.version`, read back for a
 * duplicate), which keeps the row small on the hot path.
 */
export interface SeenChange {
  hash: string;
  result: ChangeResult;
}

/** `sync_changes`: one row per (device, change_id), written in the change's own savepoint. */
export class SyncChangeRepo {
  constructor(
    private readonly exec: Executor,
    private readonly orgId: string,
  ) {}

  /** The changes of `deviceId` among `changeIds` that were already processed (batched lookups). */
  async findMany(deviceId: string, changeIds: readonly string[]): Promise<Map<string, SeenChange>> {
    const out = new Map<string, SeenChange>();
    const unique = [...new Set(changeIds)];
    for (let i = 0; i < unique.length; i += BATCH) {
      const chunk = unique.slice(i, i + BATCH);
      const rows = await this.exec.all<{ change_id: string; payload_hash: string; result: string }>(
        `SELECT change_id, payload_hash, result FROM sync_changes WHERE device_id = ? AND org_id = ? AND change_id IN (${chunk.map(() => "?").join(", ")})`,
        [deviceId, this.orgId, ...chunk],
      );
      for (const r of rows) out.set(r.change_id, { hash: r.payload_hash, result: JSON.parse(r.result) });
    }
    return out;
  }

  async find(deviceId: string, changeId: string): Promise<SeenChange | undefined> {
    return (await this.findMany(deviceId, [changeId])).get(changeId);
  }

  /** Remembers a change's answer; false (nothing written) when the (device, change_id) row exists already. */
  async put(deviceId: string, changeId: string, hash: string, result: ChangeResult, createdAt: string): Promise<boolean> {
    const { changes } = await this.exec.run(
      `INSERT INTO sync_changes (device_id, change_id, org_id, payload_hash, result, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id, change_id) DO NOTHING`,
      [deviceId, changeId, this.orgId, hash, JSON.stringify({ ...result, record: null }), createdAt],
    );
    return changes === 1;
  }
}

/**
 * Postgres: locks the rows of these records (existing ones) until COMMIT, in id order. Every push
 * locks what it will write up front and in the same global order (entity kind, then id), so two
 * batches that touch the same records wait for each other instead of deadlocking. SQLite has one
 * writer at a time: nothing to do.
 */
export async function lockRecords(exec: Executor, orgId: string, table: string, ids: Iterable<string>): Promise<void> {
  if (exec.dialect !== "postgres") return;
  const sorted = [...new Set(ids)].sort();
  for (let i = 0; i < sorted.length; i += BATCH) {
    const chunk = sorted.slice(i, i + BATCH);
    await exec.all(`SELECT id FROM ${table} WHERE org_id = ? AND id IN (${chunk.map(() => "?").join(", ")}) ORDER BY id FOR UPDATE`, [orgId, ...chunk]);
  }
}

/** Every device id of the organization, revoked ones included (their entries stay in clocks). */
export async function orgDeviceIds(exec: Executor, orgId: string): Promise<Set<string>> {
  const rows = await exec.all<{ id: string }>("SELECT id FROM devices WHERE org_id = ?", [orgId]);
  return new Set(rows.map((r) => r.id));
}

/** The organization's feed counter and purge horizon (0 and 0 before its first write). */
export async function feedState(exec: Executor, orgId: string): Promise<{ seq: number; purgedThrough: number }> {
  const r = await exec.get<{ seq: SqlValue; purged_through: SqlValue }>("SELECT seq, purged_through FROM org_feed_state WHERE org_id = ?", [orgId]);
  return { seq: Number(r?.seq ?? 0), purgedThrough: Number(r?.purged_through ?? 0) };
}
