import type { Executor, SqlValue } from "../db/types";
import type { ActiveDevices } from "./model";
import type { SyncTotals } from "./summary";

/**
 * Aggregates over `sync_log s` (COUNT(s.id), so an outer join without rows counts 0). `changes`
 * counts the changes of pushes that were processed: a push refused whole (413, 403, 401, 503) has
 * no result for any of its changes, and counting them would dilute the conflict rate.
 */
const TOTALS: readonly (readonly [name: string, expr: string])[] = [
  ["syncs", "COUNT(s.id)"],
  ["ok", "COALESCE(SUM(CASE WHEN s.outcome = 'ok' THEN 1 ELSE 0 END), 0)"],
  ["pushes", "COALESCE(SUM(CASE WHEN s.kind = 'push' THEN 1 ELSE 0 END), 0)"],
  ["pulls", "COALESCE(SUM(CASE WHEN s.kind = 'pull' THEN 1 ELSE 0 END), 0)"],
  ["changes", "COALESCE(SUM(CASE WHEN s.kind = 'push' AND s.outcome = 'ok' THEN s.change_count ELSE 0 END), 0)"],
  ["applied", "COALESCE(SUM(s.applied), 0)"],
  ["merged", "COALESCE(SUM(s.merged), 0)"],
  ["conflicts", "COALESCE(SUM(s.conflicts), 0)"],
  ["duplicates", "COALESCE(SUM(s.duplicates), 0)"],
  ["stale", "COALESCE(SUM(s.stale), 0)"],
  ["rejected", "COALESCE(SUM(s.rejected), 0)"],
  ["avg_duration_ms", "AVG(s.duration_ms)"],
];

/**
 * The `sync_log s` rows that make their device active: successful pushes and pulls. A device whose
 * requests all failed in the window (400 `invalid_cursor`, 410 `reset_required`, a push refused
 * after its device was checked) did not sync: those count as syncs and failures, not as activity.
 */
const ACTIVE = "s.outcome = 'ok' AND s.user_id IS NOT NULL AND s.device_id IS NOT NULL";

type TotalsRow = Record<Exclude<keyof SyncTotals, "avgDurationMs">, number | string> & { avg_duration_ms: number | string | null };

const toTotals = (r: TotalsRow): SyncTotals => ({
  syncs: Number(r.syncs),
  ok: Number(r.ok),
  pushes: Number(r.pushes),
  pulls: Number(r.pulls),
  changes: Number(r.changes),
  applied: Number(r.applied),
  merged: Number(r.merged),
  conflicts: Number(r.conflicts),
  duplicates: Number(r.duplicates),
  stale: Number(r.stale),
  rejected: Number(r.rejected),
  avgDurationMs: r.avg_duration_ms === null ? null : Number(r.avg_duration_ms),
});

/** An organization's figures over a window: its totals and its active devices per user (most first). */
export interface WindowFigures {
  totals: SyncTotals;
  activeDevices: ActiveDevices[];
}

type FiguresRow = Partial<TotalsRow> & { part: number | string; org_id: string; user_id: string | null; email: string | null; active_devices: number | string | null };

/**
 * The figures of `(from, to]` for the organization `orgId` (every organization when null; those
 * without syncs get zeros), read in ONE statement: its totals and its active devices are counted
 * over the same rows. Two statements could each see other rows — a buffered flush of pull rows
 * committing between them — and an hour's active devices disagree with its syncs. One statement
 * reads one snapshot on both dialects (Postgres: the statement's; SQLite: its implicit read
 * transaction, on the read connection: the writer is not held). Each organization's totals come
 * as one row (`part` 0), then a row per user with an active device (`part` 1).
 */
export async function readWindowFigures(exec: Executor, from: string, to: string, orgId: string | null): Promise<Map<string, WindowFigures>> {
  const org = orgId === null ? "" : " AND s.org_id = ?";
  const params = (): SqlValue[] => (orgId === null ? [from, to] : [from, to, orgId]);
  const rows = await exec.all<FiguresRow>(
    `SELECT 0 AS part, o.id AS org_id, NULL AS user_id, NULL AS email, NULL AS active_devices, ${TOTALS.map(([n, e]) => `${e} AS ${n}`).join(", ")}
     FROM organizations o LEFT JOIN sync_log s ON s.org_id = o.id AND s.created_at > ? AND s.created_at <= ?
     ${orgId === null ? "" : "WHERE o.id = ?"}
     GROUP BY o.id
     UNION ALL
     SELECT 1, s.org_id, s.user_id, u.email, COUNT(DISTINCT s.device_id), ${TOTALS.map(() => "NULL").join(", ")}
     FROM sync_log s LEFT JOIN users u ON u.id = s.user_id
     WHERE s.created_at > ? AND s.created_at <= ?${org} AND ${ACTIVE}
     GROUP BY s.org_id, s.user_id, u.email
     ORDER BY org_id, part, active_devices DESC, user_id`,
    [...params(), ...params()],
  );
  const out = new Map<string, WindowFigures>();
  for (const r of rows) {
    if (Number(r.part) === 0) out.set(r.org_id, { totals: toTotals(r as FiguresRow & TotalsRow), activeDevices: [] });
    else out.get(r.org_id)?.activeDevices.push({ user_id: r.user_id!, email: r.email ?? null, active_devices: Number(r.active_devices) });
  }
  return out;
}
