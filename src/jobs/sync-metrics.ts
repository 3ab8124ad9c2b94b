import { newId } from "../ids";
import { SnapshotRepo } from "../metrics/repo";
import { rates } from "../metrics/summary";
import type { Job, JobContext, JobResult } from "./types";

const HOUR_MS = 3_600_000;

/**
 * `sync-metrics`: one row per organization in `sync_metrics_snapshots` for the hour ending at the
 * tick (at the run time for a manual run): syncs, failures, success rate, conflict rate, average
 * duration, active devices per user. It first writes out its process's buffered sync log rows: in
 * `serve`, the hour then lacks none of this instance's. A window already snapshotted is left as it
 * is, except by the tick's own run: a manual run that ended exactly on the hour (`taskmgr jobs run`
 * at hh:00:00.000) stored the scheduled hour without the server's buffered rows, which no later hour
 * counts (they are before its start); the tick's run stores the hour over it.
 */
export const syncMetrics: Job = {
  name: "sync-metrics",
  schedule: "0 * * * *",
  description: "store an hourly sync metrics snapshot per organization",
  async run(ctx: JobContext): Promise<JobResult> {
    const end = ctx.scheduledFor ?? ctx.now;
    const to = end.toISOString();
    const from = new Date(end.getTime() - HOUR_MS).toISOString();
    // The pull rows this process still buffers (up to a second of them) belong in the hour.
    await ctx.flushSyncLog();
    const repo = new SnapshotRepo(ctx.db);
    // Totals and active devices in one statement: one snapshot of the log, the writer not held.
    const figures = await repo.windowByOrg(from, to);
    let stored = 0;
    await ctx.db.transaction(async (tx) => {
      const writer = new SnapshotRepo(tx);
      for (const [orgId, { totals: t, activeDevices }] of figures) {
        const perUser = activeDevices.map(({ user_id, active_devices }) => ({ user_id, active_devices }));
        const row = {
          id: newId(),
          org_id: orgId,
          window_start: from,
          window_end: to,
          sync_count: t.syncs,
          error_count: t.syncs - t.ok,
          change_count: t.changes,
          conflict_count: t.conflicts,
          ...rates(t),
          active_devices: perUser.reduce((n, u) => n + u.active_devices, 0),
          active_devices_per_user: JSON.stringify(perUser),
          created_at: ctx.now.toISOString(),
        };
        if (await writer.put(row, ctx.scheduledFor !== null)) stored++;
      }
    });
    return { window_start: from, window_end: to, organizations: figures.size, snapshots: stored };
  },
};
