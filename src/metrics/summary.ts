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
    sync_success_rate: t.syncs === 0 ? null : fraction(t.ok, t.syncs),
    conflict_rate: t.changes === 0 ? null : fraction(t.conflicts, t.changes),
    average_sync_duration_ms: t.avgDurationMs === null ? null : round(t.avgDurationMs, 3),
  };
}

/**
 * `part / whole` to 6 decimals, but 0 or 1 only when it is exactly that: one failure among 3 million
 * syncs rounded to a success rate of 1, as if none had failed (the unrounded fraction then).
 */
function fraction(part: number, whole: number): number {
  const exact = part / whole;
  const rounded = round(exact, 6);
  return (rounded === 0 && part > 0) || (rounded === 1 && part < whole) ? exact : rounded;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
