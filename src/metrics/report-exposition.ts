/** The sync metrics report (`GET /api/metrics`) in the Prometheus text format. */
import type { MetricsReport } from "./model";
import { family } from "./prometheus";

/** The families of `r`, each labelled with its window where it depends on one. */
export function reportExposition(r: MetricsReport): string {
  const w = { window: r.window };
  const seconds = (iso: string | null) => (iso === null ? null : Date.parse(iso) / 1000);
  return [
    family("taskmgr_sync_requests", "gauge", "Push and pull requests in the window.", [
      { labels: { ...w, kind: "push" }, value: r.pushes },
      { labels: { ...w, kind: "pull" }, value: r.pulls },
    ]),
    family("taskmgr_sync_failed_requests", "gauge", "Push and pull requests that failed in the window.", [{ labels: w, value: r.failed_syncs }]),
    family("taskmgr_sync_success_rate", "gauge", "Successful syncs / syncs in the window (NaN without syncs).", [
      { labels: w, value: r.sync_success_rate },
    ]),
    family("taskmgr_sync_conflict_rate", "gauge", "Conflicts / changes pushed in the window (NaN without changes).", [
      { labels: w, value: r.conflict_rate },
    ]),
    family("taskmgr_sync_duration_average_seconds", "gauge", "Average push or pull duration in the window.", [
      { labels: w, value: r.average_sync_duration_ms === null ? null : Math.round(r.average_sync_duration_ms * 1000) / 1e6 },
    ]),
    family(
      "taskmgr_sync_push_results",
      "gauge",
      "Pushed changes by result status in the window.",
      Object.entries(r.push_results).map(([status, value]) => ({ labels: { ...w, status }, value })),
    ),
    family("taskmgr_sync_open_conflicts", "gauge", "Unresolved conflicts.", [{ value: r.open_conflicts }]),
    family(
      "taskmgr_sync_active_devices",
      "gauge",
      "Devices with a successful push or pull in the window, per user.",
      r.active_devices_per_user.map((u) => ({ labels: { ...w, user_id: u.user_id }, value: u.active_devices })),
    ),
    family(
      "taskmgr_device_last_sync_timestamp_seconds",
      "gauge",
      "Unix time of each device's latest sync still in the sync log.",
      r.devices.filter((d) => d.last_sync_at !== null).map((d) => ({ labels: { device_id: d.device_id, user_id: d.user_id }, value: seconds(d.last_sync_at) })),
    ),
  ].join("");
}
