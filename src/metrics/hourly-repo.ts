import { type PageRequest, type PageResult, selectPage } from "../db/page";
import type { Executor, SqlValue } from "../db/types";
import type { HourRange } from "./hour-range";
import type { HourlyMetrics } from "./model";
import type { SnapshotRow } from "./repo";

/** The columns of `sync_metrics_snapshots` an hour is answered from. */
type HourRow = Omit<SnapshotRow, "id" | "org_id">;

const COLS = `window_start, window_end, sync_count, error_count, change_count, conflict_count, sync_success_rate, conflict_rate,
  average_sync_duration_ms, active_devices, active_devices_per_user, created_at`;

const orNull = (x: number | null) => (x === null ? null : Number(x));

const toHour = (r: HourRow): HourlyMetrics => ({
  from: r.window_start,
  to: r.window_end,
  syncs: Number(r.sync_count),
  failed_syncs: Number(r.error_count),
  sync_success_rate: orNull(r.sync_success_rate),
  changes_pushed: Number(r.change_count),
  conflicts: Number(r.conflict_count),
  conflict_rate: orNull(r.conflict_rate),
  average_sync_duration_ms: orNull(r.average_sync_duration_ms),
  active_devices: Number(r.active_devices),
  active_devices_per_user: JSON.parse(r.active_devices_per_user) as HourlyMetrics["active_devices_per_user"],
  generated_at: r.created_at,
});

/** The hourly metrics snapshots of one organization (stored by the `sync-metrics` job), as answered. */
export class HourlyMetricsRepo {
  constructor(
    private readonly exec: Executor,
    private readonly orgId: string,
  ) {}

  /** One page of the hours whose end lies in `range`, newest first (index `UNIQUE (org_id, window_end)`). */
  async list(range: HourRange, page: PageRequest): Promise<PageResult<HourlyMetrics>> {
    let where = "WHERE org_id = ?";
    const params: SqlValue[] = [this.orgId];
    if (range.after !== undefined) {
      where += " AND window_end > ?";
      params.push(range.after);
    }
    if (range.upTo !== undefined) {
      where += " AND window_end <= ?";
      params.push(range.upTo);
    }
    return selectPage(this.exec, { columns: COLS, from: "sync_metrics_snapshots", where, params, orderBy: "ORDER BY window_end DESC" }, page, toHour);
  }
}
