import { columnsOf, insertRow } from "../db/row";
import type { Executor } from "../db/types";
import type { DeviceLastSync } from "./model";
import { readWindowFigures, type WindowFigures } from "./window-figures";

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

/** A snapshot's figures over those of the same organization and window end: all but its key columns. */
const REPLACE_SNAPSHOT = `ON CONFLICT (org_id, window_end) DO UPDATE SET ${SNAPSHOT_COLUMNS.filter((c) => !["id", "org_id", "window_end"].includes(c))
  .map((c) => `${c} = excluded.${c}`)
  .join(", ")}`;

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

  /** The organization's totals and active devices over `(from, to]`, in one statement ({@link readWindowFigures}). */
  async window(from: string, to: string): Promise<WindowFigures> {
    const figures = (await readWindowFigures(this.exec, from, to, this.orgId)).get(this.orgId);
    if (!figures) throw new Error(`organization ${this.orgId} not found`);
    return figures;
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

  /** Every organization's totals and active devices over `(from, to]`, in one statement ({@link readWindowFigures}); zeros without syncs. */
  windowByOrg(from: string, to: string): Promise<Map<string, WindowFigures>> {
    return readWindowFigures(this.exec, from, to, null);
  }

  /**
   * Inserts a snapshot unless one exists for the same organization and window end; with `replace`
   * (a scheduled run's), its figures replace that one's — a manual run's that ended exactly on the
   * hour (a tick's run is claimed once: never another scheduled run's). True when stored.
   */
  async put(s: SnapshotRow, replace = false): Promise<boolean> {
    const onConflict = replace ? REPLACE_SNAPSHOT : "ON CONFLICT (org_id, window_end) DO NOTHING";
    return (await insertRow(this.exec, "sync_metrics_snapshots", SNAPSHOT_COLUMNS, s, onConflict)) === 1;
  }
}
