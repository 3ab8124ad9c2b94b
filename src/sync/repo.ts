/**
 * SQL of the sync engine: the exactly-once memory of pushed changes (`sync_changes`).
 * Organization-scoped by construction. What a push reads of other features (records, history,
 * device ids, users) it asks of their repositories.
 */
import { columns, insertRows, rowsByKey } from "../db/bulk";
import type { Executor } from "../db/types";
import type { ChangeResult } from "./model";

/**
 * A change already processed for a device: its payload hash and the answer it got. The stored
 * answer leaves out `record` (it is the history snapshot at `result.version`, read back for a
 * duplicate), which keeps the row small on the hot path.
 */
export interface SeenChange {
  hash: string;
  result: ChangeResult;
}

/** A `sync_changes` row to write: the change and its answer (stored without `record`). */
export interface ChangeRow {
  changeId: string;
  hash: string;
  result: ChangeResult;
}

const SYNC_CHANGE_COLUMNS = columns([
  ["device_id", "text"],
  ["change_id", "text"],
  ["org_id", "text"],
  ["payload_hash", "text"],
  ["result", "text"],
  ["created_at", "text"],
]);

/** The stored answer: the result without its record (read back from history for a duplicate). */
const storedResult = (result: ChangeResult): string => JSON.stringify({ ...result, record: null });

/** `sync_changes`: one row per (device, change_id), written in the same transaction as the change's effects. */
export class SyncChangeRepo {
  constructor(
    private readonly exec: Executor,
    private readonly orgId: string,
  ) {}

  /** The changes of `deviceId` among `changeIds` that were already processed (batched lookups). */
  async findMany(deviceId: string, changeIds: readonly string[]): Promise<Map<string, SeenChange>> {
    const rows = await rowsByKey<{ change_id: string; payload_hash: string; result: string }>(this.exec, changeIds, {
      columns: "change_id, payload_hash, result",
      table: "sync_changes",
      key: "change_id",
      where: "device_id = ? AND org_id = ?",
      params: [deviceId, this.orgId],
    });
    const out = new Map<string, SeenChange>();
    for (const r of rows) out.set(r.change_id, { hash: r.payload_hash, result: JSON.parse(r.result) });
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
      [deviceId, changeId, this.orgId, hash, storedResult(result), createdAt],
    );
    return changes === 1;
  }

  /**
   * Remembers many answers with multi-row INSERTs (sorted by change_id, so concurrent batches take
   * their index locks in one order); answers how many rows were written — fewer when some
   * (device, change_id) rows exist already (written by a concurrent transaction).
   */
  async putMany(deviceId: string, rows: readonly ChangeRow[], createdAt: string): Promise<number> {
    const sorted = [...rows].sort((a, b) => (a.changeId < b.changeId ? -1 : a.changeId > b.changeId ? 1 : 0));
    return insertRows(
      this.exec,
      "sync_changes",
      SYNC_CHANGE_COLUMNS,
      sorted.map((r) => [deviceId, r.changeId, this.orgId, r.hash, storedResult(r.result), createdAt]),
      "ON CONFLICT (device_id, change_id) DO NOTHING",
    );
  }
}
