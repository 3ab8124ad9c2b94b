/** Sums of `sync_log` rows over a window (one organization). */
export interface SyncTotals {
  syncs: number;
  ok: number;
  pushes: number;
  pulls: number;
  changes: number;
  applied: number;
  merged: number;
  conflicts: number;
  duplicates: number;
  stale: number;
  rejected: number;
  /** Average `duration_ms`, null without rows. */
  avgDurationMs: number | null;
}

/** Success rate (ok / syncs), conflict rate (conflicts / changes pushed) and average duration; null when undefined. */
export function rates(t: SyncTotals): { sync_success_rate: number | null; conflict_rate: number | null; average_sync_duration_ms: number | null } {
  return {
    sync_success_rate: t.syncs === 0 ? null : round(t.ok / t.syncs, 6),
    conflict_rate: t.changes === 0 ? null : round(t.conflicts / t.changes, 6),
    average_sync_duration_ms: t.avgDurationMs === null ? null : round(t.avgDurationMs, 3),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
