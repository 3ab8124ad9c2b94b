import type { Deps } from "../deps";
import { HttpMetrics } from "./http";
import type { MetricsReport } from "./model";
import { family } from "./prometheus";
import { MetricsRepo } from "./repo";
import { rates } from "./summary";
import { parseWindow } from "./window";

/** Sync metrics of an organization (`GET /api/metrics`) and this instance's HTTP metrics. */
export class MetricsService {
  /** Fed by the app's after-response hook (src/app.ts). */
  readonly http = new HttpMetrics();

  constructor(private readonly deps: Deps) {}

  /** The organization's sync metrics over `window` (default 24h; invalid → 422 on `window`). */
  async report(orgId: string, window: string | undefined): Promise<MetricsReport> {
    const w = parseWindow(window);
    const now = this.deps.clock.now();
    const to = now.toISOString();
    const from = new Date(now.getTime() - w.ms).toISOString();
    const repo = new MetricsRepo(this.deps.db, orgId);
    const t = await repo.totals(from, to);
    return {
      window: w.label,
      from,
      to,
      syncs: t.syncs,
      pushes: t.pushes,
      pulls: t.pulls,
      failed_syncs: t.syncs - t.ok,
      changes_pushed: t.changes,
      ...rates(t),
      push_results: {
        applied: t.applied,
        merged: t.merged,
        conflict: t.conflicts,
        duplicate: t.duplicates,
        stale: t.stale,
        rejected: t.rejected,
      },
      open_conflicts: await repo.openConflicts(),
      active_devices_per_user: await repo.activeDevicesPerUser(from, to),
      devices: await repo.devices(),
      generated_at: to,
    };
  }

  /** The same report plus this instance's HTTP metrics, in the Prometheus text format. */
  async prometheus(orgId: string, window: string | undefined): Promise<string> {
    const r = await this.report(orgId, window);
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
        { labels: w, value: r.average_sync_duration_ms === null ? null : r.average_sync_duration_ms / 1000 },
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
        "Devices that synced in the window, per user.",
        r.active_devices_per_user.map((u) => ({ labels: { ...w, user_id: u.user_id }, value: u.active_devices })),
      ),
      family(
        "taskmgr_device_last_sync_timestamp_seconds",
        "gauge",
        "Unix time of each device's latest sync still in the sync log.",
        r.devices.filter((d) => d.last_sync_at !== null).map((d) => ({ labels: { device_id: d.device_id, user_id: d.user_id }, value: seconds(d.last_sync_at) })),
      ),
      this.http.exposition(),
    ].join("");
  }
}
