/**
 * `sync_log`: one row per push and per pull (the source of the sync metrics), written after the
 * request's transaction — committed or not — and never failing the request itself.
 */
import type { Executor } from "../db/types";
import { DomainError } from "../errors";
import { newId } from "../ids";
import type { Logger } from "../log/logger";
import type { ChangeStatus } from "./model";

export interface SyncLogEntry {
  orgId: string;
  /** The device, once it is known to be the caller's; null otherwise. */
  deviceId: string | null;
  userId: string;
  kind: "push" | "pull";
  /** Changes pushed (0 for a pull). */
  changeCount: number;
  counts: Record<ChangeStatus, number>;
  /** Push: records written (applied, merged, conflict). Pull: changes delivered. */
  recordCount: number;
  durationMs: number;
  /** Null for success; the error otherwise (the request failed). */
  error: unknown;
  createdAt: string;
}

export const noCounts = (): Record<ChangeStatus, number> => ({ applied: 0, merged: 0, conflict: 0, duplicate: 0, stale: 0, rejected: 0 });

/** Appends the row; a failure is logged, not thrown (the sync itself has already been answered or committed). */
export async function writeSyncLog(exec: Executor, log: Logger, e: SyncLogEntry): Promise<void> {
  const c = e.counts;
  try {
    await exec.run(
      `INSERT INTO sync_log (id, org_id, device_id, user_id, kind, change_count, applied, merged, conflicts, duplicates, stale, rejected,
         record_count, duration_ms, outcome, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        newId(),
        e.orgId,
        e.deviceId,
        e.userId,
        e.kind,
        e.changeCount,
        c.applied,
        c.merged,
        c.conflict,
        c.duplicate,
        c.stale,
        c.rejected,
        e.recordCount,
        Math.round(e.durationMs * 1000) / 1000,
        e.error === null ? "ok" : "error",
        e.error === null ? null : describe(e.error),
        e.createdAt,
      ],
    );
  } catch (err) {
    log.error("sync_log_failed", { org_id: e.orgId, kind: e.kind, error: err instanceof Error ? err.message : String(err) });
  }
}

/** The stored error text: the code and message of a domain error; a generic word otherwise (no internals). */
function describe(err: unknown): string {
  return err instanceof DomainError ? `${err.code}: ${err.message}` : "internal";
}
