import type { PageRequest, PageResult } from "../db/page";
import type { Deps } from "../deps";
import { parseHourRange } from "./hour-range";
import { HourlyMetricsRepo } from "./hourly-repo";
import { HttpMetrics } from "./http-histogram";
import type { HourlyMetrics, HourlyMetricsQuery, MetricsReport } from "./model";
import { MetricsRepo } from "./repo";
import { reportExposition } from "./report-exposition";
import { rates } from "./summary";
import { parseWindow } from "./window";

/** Sync metrics of an organization (`GET /api/metrics`, `GET /api/metrics/hourly`) and this instance's HTTP metrics. */
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
    const { totals: t, activeDevices } = await repo.window(from, to);
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
      active_devices_per_user: activeDevices,
      devices: await repo.devices(),
      generated_at: to,
    };
  }

  /** One page of the organization's stored hours whose end lies in `(from, to]`, newest first (422 naming a bad bound). */
  async hourly(orgId: string, q: HourlyMetricsQuery, page: PageRequest): Promise<PageResult<HourlyMetrics>> {
    const range = parseHourRange(q.from, q.to);
    return new HourlyMetricsRepo(this.deps.db, orgId).list(range, page);
  }

  /** The same report plus this instance's HTTP metrics, in the Prometheus text format. */
  async prometheus(orgId: string, window: string | undefined): Promise<string> {
    return reportExposition(await this.report(orgId, window)) + this.http.exposition();
  }
}
