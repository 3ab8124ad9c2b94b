import { daysBefore } from "../time";
import { RetentionRepo } from "./retention-repo";
import type { Job, JobContext, JobResult } from "./types";

/** The tables this job prunes, in order, each under its key in the job's result. */
const TABLES: { key: string; remove: (repo: RetentionRepo, cutoff: string, limit: number) => Promise<number> }[] = [
  { key: "sync_log_rows", remove: (repo, cutoff, limit) => repo.deleteSyncLogs(cutoff, limit) },
  { key: "metrics_snapshot_rows", remove: (repo, cutoff, limit) => repo.deleteMetricsSnapshots(cutoff, limit) },
  { key: "job_run_rows", remove: (repo, cutoff, limit) => repo.deleteJobRuns(cutoff, limit) },
];

/**
 * `cleanup-sync-logs`: deletes what is older than `SYNC_LOG_RETENTION_DAYS` in `sync_log`,
 * `sync_metrics_snapshots` and `job_runs` (keeping each job's latest run). Each batch deletes up to
 * `batchSize` rows of each table not yet done, one statement per table; `batches` counts them.
 */
export const cleanupSyncLogs: Job = {
  name: "cleanup-sync-logs",
  schedule: "30 3 * * *",
  description: "delete sync log rows, metrics snapshots and job runs older than SYNC_LOG_RETENTION_DAYS (each job's latest run is kept)",
  async run(ctx: JobContext): Promise<JobResult> {
    const cutoff = daysBefore(ctx.now, ctx.config.syncLogRetentionDays);
    const repo = new RetentionRepo(ctx.db);
    const deleted: Record<string, number> = Object.fromEntries(TABLES.map((t) => [t.key, 0]));
    let pending = TABLES;
    let batches = 0;
    while (pending.length > 0 && !ctx.signal.aborted) {
      const next: typeof TABLES = [];
      for (const table of pending) {
        const n = await table.remove(repo, cutoff, ctx.batchSize);
        deleted[table.key]! += n;
        if (n === ctx.batchSize) next.push(table);
      }
      pending = next;
      batches++;
    }
    return { retention_days: ctx.config.syncLogRetentionDays, cutoff, ...deleted, batches, interrupted: ctx.signal.aborted };
  },
};
