import { columnsOf, insertRow } from "../db/row";
import type { Executor } from "../db/types";
import type { SyncTotals } from "./summary";
import type { ActiveDevices, DeviceLastSync } from "./model";

/**
 * Aggregates over `sync_log s` (COUNT(s.id), so an outer join without rows counts 0). `changes`
 * counts the changes of pushes that were processed: a push refused whole (413, 403, 401, 503) has
 * no result for any of its changes, and counting them would dilute the conflict rate.
 */
const TOTALS = `COUNT(s.id) AS syncs,
  COALESCE(SUM(CASE WHEN s.outcome = 'ok' THEN 1 ELSE 0 END), 0) AS ok,
  COALESCE(SUM(CASE WHEN s.kind = 'push' THEN 1 ELSE 0 END), 0) AS pushes,
  COALESCE(SUM(CASE WHEN s.kind = 'pull' THEN 1 ELSE 0 END), 0) AS pulls,
  COALESCE(SUM(CASE WHEN s.kind = 'push' AND s.outcome = 'ok' THEN s.change_count ELSE 0 END), 0) AS changes,
  COALESCE(SUM(s.applied), 0) AS applied,
  COALESCE(SUM(s.merged), 0) AS merged,
  COALESCE(SUM(s.conflicts), 0) AS conflicts,
  COALESCE(SUM(s.duplicates), 0) AS duplicates,
  COALESCE(SUM(s.stale), 0) AS stale,
  COALESCE(SUM(s.rejected), 0) AS rejected,
  AVG(s.duration_ms) AS avg_duration_ms`;

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

/** A metrics snapshot row as the `sync-metrics` job stores it. */
export interface SnapshotRow {
  id: string;
  org_id: string;
  window_start: string;
  window_end: string;
  sync_count: number;
  error_count: number;
  change_count: number;
  conflict_count: number;
  sync_success_rate: number | null;
  conflict_rate: number | null;
  average_sync_duration_ms: number | null;
  active_devices: number;
  active_devices_per_user: string;
  created_at: string;
}
const SNAPSHOT_COLUMNS = columnsOf<SnapshotRow>({
  id: true,
  org_id: true,
  window_start: true,
  window_end: true,
  sync_count: true,
  error_count: true,
  change_count: true,
  conflict_count: true,
  sync_success_rate: true,
  conflict_rate: true,
  average_sync_duration_ms: true,
  active_devices: true,
  active_devices_per_user: true,
  created_at: true,
});

/**
 * Sync metrics of one organization: aggregate queries over `sync_log` in a window `(from, to]`
 * (index `sync_log_org_time`), never loading the rows themselves. They read `users`, `devices` and
 * `conflicts` in the same statements rather than through those features' repositories: the one
 * exception CONTRIBUTING.md allows, for read-only reports.
 */
export class MetricsRepo {
  constructor(
    private readonly exec: Executor,
    private readonly orgId: string,
  ) {}

  async totals(from: string, to: string): Promise<SyncTotals> {
    const r = await this.exec.get<TotalsRow>(`SELECT ${TOTALS} FROM sync_log s WHERE s.org_id = ? AND s.created_at > ? AND s.created_at <= ?`, [
      this.orgId,
      from,
      to,
    ]);
    return toTotals(r!);
  }

  /** Distinct devices with a successful push or pull in the window, per user (see {@link ACTIVE}). */
  async activeDevicesPerUser(from: string, to: string): Promise<ActiveDevices[]> {
    const rows = await this.exec.all<ActiveDevices>(
      `SELECT s.user_id, u.email, COUNT(DISTINCT s.device_id) AS active_devices
       FROM sync_log s LEFT JOIN users u ON u.id = s.user_id
       WHERE s.org_id = ? AND s.created_at > ? AND s.created_at <= ? AND ${ACTIVE}
       GROUP BY s.user_id, u.email ORDER BY active_devices DESC, s.user_id`,
      [this.orgId, from, to],
    );
    return rows.map((r) => ({ user_id: r.user_id, email: r.email ?? null, active_devices: Number(r.active_devices) }));
  }

  /** Every device not revoked, with its latest push or pull still in the log (index `sync_log_device_time`). */
  async devices(): Promise<DeviceLastSync[]> {
    return this.exec.all<DeviceLastSync>(
      `SELECT d.id AS device_id, d.user_id, d.name,
         (SELECT MAX(s.created_at) FROM sync_log s WHERE s.device_id = d.id) AS last_sync_at
       FROM devices d WHERE d.org_id = ? AND d.revoked_at IS NULL ORDER BY d.user_id, d.created_at, d.id`,
      [this.orgId],
    );
  }

  async openConflicts(): Promise<number> {
    const r = await this.exec.get<{ n: number }>("SELECT COUNT(*) AS n FROM conflicts WHERE org_id = ? AND resolved_at IS NULL", [this.orgId]);
    return Number(r?.n ?? 0);
  }
}

/**
 * Snapshots of every organization at once (the `sync-metrics` job), so not constructed with an
 * `orgId`. It only writes them: an organization's hours are read through `HourlyMetricsRepo`.
 */
export class SnapshotRepo {
  constructor(private readonly exec: Executor) {}

  /** Totals per organization over `(from, to]`; organizations without syncs get zeros. */
  async totalsByOrg(from: string, to: string): Promise<Map<string, SyncTotals>> {
    const rows = await this.exec.all<TotalsRow & { org_id: string }>(
      `SELECT o.id AS org_id, ${TOTALS}
       FROM organizations o LEFT JOIN sync_log s ON s.org_id = o.id AND s.created_at > ? AND s.created_at <= ?
       GROUP BY o.id ORDER BY o.id`,
      [from, to],
    );
    return new Map(rows.map((r) => [r.org_id, toTotals(r)]));
  }

  /** Active devices ({@link ACTIVE}) per user per organization over `(from, to]`. */
  async activeDevicesByOrg(from: string, to: string): Promise<Map<string, { user_id: string; active_devices: number }[]>> {
    const rows = await this.exec.all<{ org_id: string; user_id: string; active_devices: number }>(
      `SELECT s.org_id, s.user_id, COUNT(DISTINCT s.device_id) AS active_devices FROM sync_log s
       WHERE s.created_at > ? AND s.created_at <= ? AND ${ACTIVE}
       GROUP BY s.org_id, s.user_id ORDER BY s.org_id, active_devices DESC, s.user_id`,
      [from, to],
    );
    const out = new Map<string, { user_id: string; active_devices: number }[]>();
    for (const r of rows) {
      const list = out.get(r.org_id) ?? [];
      list.push({ user_id: r.user_id, active_devices: Number(r.active_devices) });
      out.set(r.org_id, list);
    }
    return out;
  }

  /** Inserts a snapshot unless one exists for the same organization and window end; true when inserted. */
  async put(s: SnapshotRow): Promise<boolean> {
    return (await insertRow(this.exec, "sync_metrics_snapshots", SNAPSHOT_COLUMNS, s, "ON CONFLICT (org_id, window_end) DO NOTHING")) === 1;
  }
}
